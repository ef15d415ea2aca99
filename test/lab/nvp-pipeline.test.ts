/**
 * The NVP half through the engine: the NVP simulator (paged, 2 per page) and real OVS captures are
 * read by `readInputs`; the CloudStack side is the lab inventory as CloudStack's listings would
 * emit it; the analyzers find exactly `expectedLeaks`. (The full CLI run against both simulators
 * is orchestrator-e2e.test.ts.)
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readInputs, runAnalyzers } from '../../engine/pipeline.js';
import type { AnyObservation } from '../../core/observation.js';
import { startNvpSimulator, type NvpSimulator } from '../../lab/nvp/server.js';
import { expectedLeaks, hosts, networks, nvpDevices } from '../../lab/inventory.js';

const BUNDLE = join(__dirname, '..', 'fixtures', 'orchestrator', 'bundle');
let nvp: NvpSimulator;
beforeAll(async () => {
  nvp = await startNvpSimulator({ maxPageLength: 2 });
});
afterAll(async () => {
  await nvp.close();
});

function cloudstack(ok: boolean): AnyObservation[] {
  const at = Date.now();
  return [
    ...(ok ? networks.map((n): AnyObservation => ({ kind: 'cloudstack.network', at, source: 'cs', data: { ...n } })) : []),
    { kind: 'orchestrator.listing', at, source: 'cs', data: { source: 'cloudstack', what: 'networks', complete: ok, count: ok ? networks.length : 0 } },
    ...hosts.map((h): AnyObservation => ({ kind: 'cloudstack.host', at, source: 'cs', data: { id: h.id, name: h.name, ipaddress: h.ipaddress, type: h.type } })),
    { kind: 'orchestrator.listing', at, source: 'cs', data: { source: 'cloudstack', what: 'hosts', complete: true, count: hosts.length } },
    ...nvpDevices.map((d): AnyObservation => ({ kind: 'cloudstack.nvpdevice', at, source: 'cs', data: d })),
    { kind: 'orchestrator.listing', at, source: 'cs', data: { source: 'cloudstack', what: 'nvpdevices', complete: true, count: 1 } },
  ];
}

async function run(csOk: boolean) {
  const { store, inputs } = await readInputs({ bundles: [BUNDLE], orchestrator: { nvpUrl: nvp.url, nvpUser: nvp.user, nvpPassword: nvp.password } });
  for (const o of cloudstack(csOk)) store.add(o);
  const { findings, errors } = runAnalyzers(store, undefined, { now: Date.now(), mode: 'diagnose', state: new Map() });
  expect(errors).toEqual([]);
  return { inputs, findings };
}

describe('NVP half through the engine', () => {
  it('finds exactly the seeded leaks', async () => {
    const { inputs, findings } = await run(true);
    expect(inputs.find((i) => i.type === 'nvp-api')).toMatchObject({ path: `${nvp.url}/ws.v1`, records: 7 });
    expect(findings.filter((f) => f.kind === 'stale_logical_switch').map((f) => f.subject.lswitch).sort()).toEqual([...expectedLeaks.lswitches].sort());
    const ovs = findings.filter((f) => f.kind === 'stale_ovs_bridge');
    expect([...new Set(ovs.filter((f) => !f.subject.port).map((f) => f.subject.bridge))]).toEqual(expectedLeaks.ovsBridges);
    expect(ovs.filter((f) => f.subject.port).map((f) => f.subject.port)).toEqual(expectedLeaks.ovsTunnelPorts);
  });

  it('calls nothing stale when the CloudStack network listing failed', async () => {
    const { findings } = await run(false);
    expect(findings.filter((f) => f.kind.startsWith('stale_'))).toEqual([]);
    expect(findings.find((f) => f.kind === 'orchestrator_listing_incomplete')?.subject).toEqual({ source: 'cloudstack', what: 'networks' });
  });

  it('shows an NVP failure in inputs and still judges nothing from a missing switch list', async () => {
    nvp.inject({ match: 'GET /ws.v1/lswitch', status: 503, times: Infinity });
    try {
      const { inputs, findings } = await run(true);
      expect(inputs.find((i) => i.type === 'nvp-api')!.error).toMatch(/HTTP 503/);
      expect(findings.filter((f) => f.kind === 'stale_logical_switch')).toEqual([]);
    } finally {
      nvp.clearFaults();
    }
  });
});
