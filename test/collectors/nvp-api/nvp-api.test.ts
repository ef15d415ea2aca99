import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeNvpApiCollector, nvpApiResponseCollector } from '../../../collectors/nvp-api/index.js';
import { openInput } from '../../../core/input.js';
import type { AnyObservation } from '../../../core/observation.js';
import { nullLogger, nullMetrics } from '../../../core/plugin.js';
import { recognise } from '../../../engine/pipeline.js';
import { startNvpSimulator, type NvpSimulator } from '../../../lab/nvp/server.js';
import { FOREIGN_LSWITCH, LEAKED_LSWITCH_OLD, lswitches, nvpCredentials } from '../../../lab/inventory.js';

const EXAMPLES = join(__dirname, '..', '..', '..', 'examples', 'bundle', 'mgmt-01');
let sim: NvpSimulator;
beforeAll(async () => {
  sim = await startNvpSimulator();
});
afterAll(async () => {
  await sim.close();
});

function ctx() {
  const obs: AnyObservation[] = [];
  return { obs, c: { emit: (o: AnyObservation) => obs.push(o), metrics: nullMetrics, log: nullLogger, now: () => Date.parse('2026-11-22T21:00:00Z') } };
}
const collector = makeNvpApiCollector({ client: { pageLength: 2, backoffMs: 5 } });
const opts = () => ({ nvpUrl: sim.url, nvpUser: sim.user, nvpPassword: sim.password });

describe('nvp-api online collector', () => {
  it('emits every switch with ports and VIFs for CloudStack\'s, the cluster status and complete listings', async () => {
    const { obs, c } = ctx();
    const stats = await collector.collect(opts(), c);
    expect(stats.source).toBe(`${sim.url}/ws.v1`);
    expect(stats.source).not.toContain(nvpCredentials.password);
    const sw = obs.filter((o) => o.kind === 'nvp.lswitch').map((o) => o.data as { uuid: string; ports?: { vifUuid?: string }[]; created?: number });
    expect(sw.map((s) => s.uuid).sort()).toEqual(lswitches.map((l) => l.uuid).sort());
    expect(sw.find((s) => s.uuid === LEAKED_LSWITCH_OLD)!.ports).toEqual([
      { uuid: 'aa000003-0000-4000-8000-000000000001', displayName: 'old-vm-1', attachmentType: 'VifAttachment', vifUuid: 'd1c10003-0000-4000-8000-0000000000c1' },
    ]);
    expect(sw.find((s) => s.uuid === FOREIGN_LSWITCH)!.ports).toBeUndefined(); // not CloudStack's: ports not fetched
    expect(sw.find((s) => s.uuid === LEAKED_LSWITCH_OLD)!.created).toBe(Date.parse('2025-06-15T10:30:00Z'));
    expect(obs.find((o) => o.kind === 'nvp.cluster')!.data).toMatchObject({ clusterStatus: 'stable', apiVersion: '3.2.1' });
    const listings = obs.filter((o) => o.kind === 'orchestrator.listing').map((o) => o.data);
    expect(listings).toEqual([
      { source: 'nvp', what: 'control-cluster', complete: true, count: 1 },
      { source: 'nvp', what: 'lswitch', complete: true, count: lswitches.length },
    ]);
  });

  it('reports a failed switch listing as incomplete and throws so the report shows it', async () => {
    sim.inject({ match: 'GET /ws.v1/lswitch', status: 503, times: Infinity, after: 1 });
    const { obs, c } = ctx();
    try {
      await expect(collector.collect(opts(), c)).rejects.toThrow(/503/);
    } finally {
      sim.clearFaults();
    }
    expect(obs.filter((o) => o.kind === 'nvp.lswitch')).toEqual([]);
    expect(obs.find((o) => o.kind === 'orchestrator.listing' && o.data.what === 'lswitch')!.data).toMatchObject({ complete: false });
  });

  it('needs the user and password', async () => {
    await expect(collector.collect({ nvpUrl: sim.url }, ctx().c)).rejects.toThrow(/needs --nvp-user and --nvp-password/);
  });
});

describe('nvp-api-response file collector', () => {
  async function read(path: string) {
    const input = await openInput(path, 'mgmt-01');
    const { obs, c } = ctx();
    const stats = await nvpApiResponseCollector.read(input, c);
    return { input, obs, stats };
  }

  it('is recognised and reads the example lswitch listing as complete', async () => {
    const { input, obs, stats } = await read(join(EXAMPLES, 'nvp-lswitch.json'));
    expect(recognise(input)?.type).toBe('nvp-api-response');
    expect(stats.records).toBe(lswitches.length);
    expect(obs.find((o) => o.kind === 'orchestrator.listing')!.data).toEqual({ source: 'nvp', what: 'lswitch', complete: true, count: lswitches.length });
    const sw = obs.find((o) => o.kind === 'nvp.lswitch' && (o.data as { uuid: string }).uuid === LEAKED_LSWITCH_OLD)!;
    expect(sw.at).toBe(Date.parse('2026-11-22T21:00:00Z'));
  });

  it('reads the control-cluster status', async () => {
    const { input, obs } = await read(join(EXAMPLES, 'nvp-control-cluster-status.json'));
    expect(recognise(input)?.type).toBe('nvp-api-response');
    expect(obs[0]!.data).toMatchObject({ clusterStatus: 'stable' });
  });

  it('marks a saved listing partial when result_count is larger or a page_cursor is left', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nd-nvp-'));
    const one = { _href: `/ws.v1/lswitch/${LEAKED_LSWITCH_OLD}`, uuid: LEAKED_LSWITCH_OLD, tags: [{ scope: 'cs_account', tag: 'ROOT-admin' }] };
    await writeFile(join(dir, 'a.json'), JSON.stringify({ results: [one], result_count: 6 }));
    await writeFile(join(dir, 'b.json'), JSON.stringify({ results: [one], result_count: 1, page_cursor: '0004ab' }));
    for (const f of ['a.json', 'b.json']) {
      const { obs, stats } = await read(join(dir, f));
      expect(obs.find((o) => o.kind === 'orchestrator.listing')!.data).toMatchObject({ complete: false });
      expect(stats.warnings!.join()).toMatch(/partial|page_cursor/);
    }
  });

  it('names the file and the problem for broken JSON, and leaves CloudStack responses alone', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nd-nvp-'));
    await writeFile(join(dir, 'bad.json'), '{"results": [{"uuid": "x"}], "result_count": 1, "_href": "/ws.v1/lswitch');
    await expect(read(join(dir, 'bad.json'))).rejects.toThrow(/bad\.json is not valid JSON/);
    await writeFile(join(dir, 'cs.json'), JSON.stringify({ listnetworksresponse: { count: 1, network: [{ id: 'x' }] } }));
    expect(nvpApiResponseCollector.sniff(await openInput(join(dir, 'cs.json')))).toBe(0);
  });
});
