import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ObservationStore, type AnyObservation } from '../../../core/observation.js';
import { readInputs } from '../../../engine/pipeline.js';
import { analyzeStaleOvsBridges, greKeyOfUri, staleOvsBridgeSchema } from '../../../analyzers/stale-ovs-bridge/analyze.js';
import { expectedLeaks, hosts, networks } from '../../../lab/inventory.js';

const NOW = Date.parse('2026-11-22T21:00:00Z');
const cfg = staleOvsBridgeSchema.parse({});
const ctx = { now: NOW, mode: 'diagnose' as const, state: new Map() };
const BUNDLE = join(__dirname, '..', '..', 'fixtures', 'orchestrator', 'bundle');

function addCloudStack(s: ObservationStore, opts: { networks?: 'ok' | 'failed'; hosts?: boolean; nets?: typeof networks } = {}) {
  const add = (o: AnyObservation) => s.add(o);
  const ok = (opts.networks ?? 'ok') === 'ok';
  if (ok) for (const n of opts.nets ?? networks) add({ kind: 'cloudstack.network', at: NOW, source: 'cs', data: { ...n } });
  add({ kind: 'orchestrator.listing', at: NOW, source: 'cs', data: { source: 'cloudstack', what: 'networks', complete: ok, count: ok ? networks.length : 0, ...(ok ? {} : { error: 'HTTP 503 on page 2' }) } });
  if (opts.hosts !== false) {
    for (const h of hosts) add({ kind: 'cloudstack.host', at: NOW, source: 'cs', data: { id: h.id, name: h.name, type: h.type, state: h.state, ipaddress: h.ipaddress } });
    add({ kind: 'orchestrator.listing', at: NOW, source: 'cs', data: { source: 'cloudstack', what: 'hosts', complete: true, count: hosts.length } });
  }
  return s;
}

/** One hypervisor's OVS as constructed observations. */
function hv(s: ObservationStore, host: string, self: number, bridges: { key: number; vms: string[]; tunnels: [number, string][] }[]) {
  for (const b of bridges) {
    const name = `OVSTunnel${b.key}`;
    const tports = b.tunnels.map(([to]) => `t${b.key}-${self}-${to}`);
    s.add({ kind: 'ovs.bridge', host, at: NOW, source: `${host}/list-bridge`, data: { name, otherConfig: { gre_key: String(b.key), 'ovs-host-setup': `${self},"-1"` }, externalIds: {}, ports: [name, ...b.vms, ...tports] } });
    for (const [to, ip] of b.tunnels)
      s.add({ kind: 'ovs.interface', host, at: NOW, source: `${host}/list-interface`, data: { name: `t${b.key}-${self}-${to}`, bridge: name, type: 'gre', options: { key: String(b.key), remote_ip: ip }, externalIds: {} } });
  }
}

function labHosts(s: ObservationStore) {
  hv(s, 'hv-01', 3, [
    { key: 2046, vms: ['vnet0'], tunnels: [[4, '192.0.2.12'], [5, '192.0.2.13']] },
    { key: 2047, vms: ['vnet1'], tunnels: [[4, '192.0.2.12']] },
    { key: 2048, vms: [], tunnels: [[4, '192.0.2.12']] },
  ]);
  hv(s, 'hv-02', 4, [
    { key: 2046, vms: ['vnet0'], tunnels: [[3, '192.0.2.11']] },
    { key: 2047, vms: ['vnet1'], tunnels: [[3, '192.0.2.11']] },
    { key: 2048, vms: [], tunnels: [[3, '192.0.2.11']] },
  ]);
  return s;
}

const summary = (f: ReturnType<typeof analyzeStaleOvsBridges>) => f.map((x) => `${x.host} ${x.subject.bridge}${x.subject.port ? ` ${x.subject.port}` : ''}`).sort();

describe('stale_ovs_bridge', () => {
  it('finds the leftover bridge on both hosts and the tunnel port to the removed host', () => {
    const f = analyzeStaleOvsBridges(addCloudStack(labHosts(new ObservationStore())), cfg, ctx);
    expect(summary(f)).toEqual(['hv-01 OVSTunnel2046 t2046-3-5', 'hv-01 OVSTunnel2048', 'hv-02 OVSTunnel2048']);
    const br = f.find((x) => x.host === 'hv-01' && !x.subject.port)!;
    expect(br.subject).toEqual({ bridge: 'OVSTunnel2048', key: 2048 });
    expect(br.metrics.tunnelPorts).toBe(1);
    const port = f.find((x) => x.subject.port)!;
    expect(port.metrics.peerHostId).toBe(5);
    expect(port.evidence.map((e) => e.excerpt).join('\n')).toMatch(/192\.0\.2\.13 is the address of none of 3 CloudStack hosts/);
  });

  it('calls nothing stale without a complete CloudStack network listing', () => {
    expect(analyzeStaleOvsBridges(addCloudStack(labHosts(new ObservationStore()), { networks: 'failed' }), cfg, ctx)).toEqual([]);
    expect(analyzeStaleOvsBridges(labHosts(new ObservationStore()), cfg, ctx)).toEqual([]);
  });

  it('judges no peer host without the host listing', () => {
    const f = analyzeStaleOvsBridges(addCloudStack(labHosts(new ObservationStore()), { hosts: false }), cfg, ctx);
    expect(summary(f)).toEqual(['hv-01 OVSTunnel2048', 'hv-02 OVSTunnel2048']);
  });

  it('does not call a peer gone when tunnel endpoints are not the hosts\' addresses at all', () => {
    const s = new ObservationStore();
    hv(s, 'hv-01', 3, [{ key: 2046, vms: ['vnet0'], tunnels: [[4, '10.99.0.12'], [5, '10.99.0.13']] }]);
    expect(analyzeStaleOvsBridges(addCloudStack(s), cfg, ctx)).toEqual([]);
  });

  it('flags a live network\'s bridge with no VM port on the host, unless told not to', () => {
    const s = new ObservationStore();
    hv(s, 'hv-02', 4, [{ key: 2047, vms: [], tunnels: [[3, '192.0.2.11']] }]);
    addCloudStack(s);
    const f = analyzeStaleOvsBridges(s, cfg, ctx);
    expect(summary(f)).toEqual(['hv-02 OVSTunnel2047']);
    expect(f[0]!.summary).toMatch(/no VM port/);
    expect(analyzeStaleOvsBridges(s, staleOvsBridgeSchema.parse({ checkVmPlacement: false }), ctx)).toEqual([]);
  });

  it('reads GRE keys as OvsTunnelManager does', () => {
    expect(greKeyOfUri('vswitch://2046')).toBe(2046);
    expect(greKeyOfUri('vswitch://vlan.2046')).toBe(2046);
    expect(greKeyOfUri('lswitch:abc')).toBeUndefined();
  });

  it('finds exactly the expected leaks in real ovs-vsctl captures of hv-01 and hv-02', async () => {
    const { store, inputs } = await readInputs({ bundles: [BUNDLE] });
    expect(inputs.filter((i) => i.error)).toEqual([]);
    expect(inputs.every((i) => i.type === 'ovs-vsctl-json')).toBe(true);
    const f = analyzeStaleOvsBridges(addCloudStack(store), cfg, ctx);
    expect([...new Set(f.filter((x) => !x.subject.port).map((x) => x.subject.bridge))]).toEqual(expectedLeaks.ovsBridges);
    expect(summary(f)).toEqual(['hv-01 OVSTunnel2046 t2046-3-5', 'hv-01 OVSTunnel2048', 'hv-02 OVSTunnel2048']);
  });
});
