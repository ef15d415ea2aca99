import { describe, expect, it } from 'vitest';
import { ObservationStore, type AnyObservation } from '../../../core/observation.js';
import type { AnalyzerContext } from '../../../core/plugin.js';
import { analyzeStaleLogicalSwitches, graceSeconds, lswitchOfUri, staleLogicalSwitchSchema } from '../../../analyzers/stale-logical-switch/analyze.js';
import { staleLogicalSwitch } from '../../../analyzers/stale-logical-switch/index.js';
import { FOREIGN_LSWITCH, LEAKED_LSWITCH_OLD, LEAKED_LSWITCH_TRUNCATED_TAG, lswitches, networks, nvpDevices, TRANSPORT_ZONE_UUID } from '../../../lab/inventory.js';

const NOW = Date.parse('2026-11-22T21:00:00Z');
const cfg = staleLogicalSwitchSchema.parse({});
const diag = (now = NOW): AnalyzerContext => ({ now, mode: 'diagnose', state: new Map() });

/** The lab inventory as the collectors would emit it; `omit` drops pieces to test the guards. */
function store(opts: { csNetworks?: 'ok' | 'failed' | 'partial' | 'missing'; devices?: boolean; createdOffsetMs?: number; extraNetworks?: { id: string; state: string; broadcasturi?: string }[] } = {}) {
  const s = new ObservationStore();
  const add = (o: AnyObservation) => s.add(o);
  for (const l of lswitches) {
    add({
      kind: 'nvp.lswitch',
      at: NOW,
      source: 'http://nvp/ws.v1',
      data: {
        uuid: l.uuid,
        displayName: l.display_name,
        tags: l.tags,
        transportZones: [TRANSPORT_ZONE_UUID],
        created: opts.createdOffsetMs !== undefined ? NOW - opts.createdOffsetMs : Date.parse(l.created),
        ports: l.ports.map((p) => ({ uuid: p.uuid, displayName: p.display_name, attachmentType: p.vif_uuid ? 'VifAttachment' : undefined, vifUuid: p.vif_uuid })),
        controller: 'http://nvp',
      },
    });
  }
  const cs = opts.csNetworks ?? 'ok';
  if (cs !== 'missing') {
    const nets = cs === 'partial' ? networks.slice(0, 2) : cs === 'failed' ? [] : networks;
    for (const n of [...nets, ...(opts.extraNetworks ?? [])]) add({ kind: 'cloudstack.network', at: NOW, source: 'cs', data: { ...n } });
    add({ kind: 'orchestrator.listing', at: NOW, source: 'cs', data: { source: 'cloudstack', what: 'networks', complete: cs === 'ok', count: nets.length, ...(cs === 'failed' ? { error: 'HTTP 503' } : {}) } });
  }
  if (opts.devices !== false) {
    for (const d of nvpDevices) add({ kind: 'cloudstack.nvpdevice', at: NOW, source: 'cs', data: d });
    add({ kind: 'orchestrator.listing', at: NOW, source: 'cs', data: { source: 'cloudstack', what: 'nvpdevices', complete: true, count: nvpDevices.length } });
  }
  return s;
}

describe('stale_logical_switch', () => {
  it('reports exactly the leaked switches of the lab inventory, with tag, ports and VIFs', () => {
    const f = analyzeStaleLogicalSwitches(store(), cfg, diag());
    expect(f.map((x) => x.subject.lswitch).sort()).toEqual([LEAKED_LSWITCH_OLD, LEAKED_LSWITCH_TRUNCATED_TAG].sort());
    const old = f.find((x) => x.subject.lswitch === LEAKED_LSWITCH_OLD)!;
    expect(old.kind).toBe('stale_logical_switch');
    expect(old.severity).toBe('warning');
    expect(old.subject).toEqual({ lswitch: LEAKED_LSWITCH_OLD, displayName: 'lswitch-old-project', account: 'ROOT-admin' });
    expect(old.metrics).toMatchObject({ ports: 1, vifAttachments: 1, graceSeconds: 2400 });
    expect(old.evidence.map((e) => e.excerpt).join('\n')).toContain('vif_uuid=d1c10003-0000-4000-8000-0000000000c1');
    expect(old.evidence.at(-1)!.excerpt).toMatch(/re|list CloudStack and NVP again after the grace period/);
    const trunc = f.find((x) => x.subject.lswitch === LEAKED_LSWITCH_TRUNCATED_TAG)!;
    expect((trunc.subject.account as string).length).toBe(40);
  });

  it('never calls a switch without CloudStack\'s tag leaked', () => {
    const f = analyzeStaleLogicalSwitches(store(), cfg, diag());
    expect(f.map((x) => x.subject.lswitch)).not.toContain(FOREIGN_LSWITCH);
  });

  it('counts a reference from a network in any state that still holds the URI', () => {
    const f = analyzeStaleLogicalSwitches(store({ extraNetworks: [{ id: 'x', state: 'Shutdown', broadcasturi: `lswitch:${LEAKED_LSWITCH_OLD}` }] }), cfg, diag());
    expect(f.map((x) => x.subject.lswitch)).toEqual([LEAKED_LSWITCH_TRUNCATED_TAG]);
  });

  it.each(['failed', 'partial', 'missing'] as const)('calls nothing stale when the CloudStack network listing is %s', (state) => {
    expect(analyzeStaleLogicalSwitches(store({ csNetworks: state }), cfg, diag())).toEqual([]);
  });

  it('calls nothing stale when the NVP device is unknown to CloudStack', () => {
    expect(analyzeStaleLogicalSwitches(store({ devices: false }), cfg, diag())).toEqual([]);
  });

  it('does not call a switch younger than the grace period stale in diagnose', () => {
    expect(analyzeStaleLogicalSwitches(store({ createdOffsetMs: 2399_000 }), cfg, diag())).toEqual([]);
    expect(analyzeStaleLogicalSwitches(store({ createdOffsetMs: 2401_000 }), cfg, diag())).toHaveLength(2);
  });

  it('takes the grace period from network.gc.wait/interval, or the configuration', () => {
    const s = store();
    s.add({ kind: 'cloudstack.config', at: NOW, source: 'cs', data: { name: 'network.gc.wait', value: '300' } });
    s.add({ kind: 'cloudstack.config', at: NOW, source: 'cs', data: { name: 'network.gc.interval', value: '60' } });
    expect(graceSeconds(s, cfg).seconds).toBe(720);
    expect(graceSeconds(s, staleLogicalSwitchSchema.parse({ graceSeconds: 99 })).seconds).toBe(99);
  });

  it('in serve, raises a switch only after it stayed unreferenced for the grace period', () => {
    const s = store();
    const state = new Map<string, unknown>();
    const serve = (now: number): AnalyzerContext => ({ now, mode: 'serve', state });
    expect(analyzeStaleLogicalSwitches(s, cfg, serve(NOW))).toEqual([]);
    expect(analyzeStaleLogicalSwitches(s, cfg, serve(NOW + 2000_000))).toEqual([]);
    const f = analyzeStaleLogicalSwitches(s, cfg, serve(NOW + 2400_000));
    expect(f).toHaveLength(2);
    expect(f[0]!.metrics.unreferencedSeconds).toBe(2400);
    // referenced again (CloudStack stored the URI late): the clock restarts
    s.add({ kind: 'cloudstack.network', at: NOW, source: 'cs', data: { id: 'late', state: 'Implemented', broadcasturi: `lswitch:${LEAKED_LSWITCH_OLD}` } });
    expect(analyzeStaleLogicalSwitches(s, cfg, serve(NOW + 2500_000)).map((x) => x.subject.lswitch)).toEqual([LEAKED_LSWITCH_TRUNCATED_TAG]);
  });

  it('keeps finding ids stable across runs', () => {
    const a = analyzeStaleLogicalSwitches(store(), cfg, diag()).map((f) => f.id);
    const b = analyzeStaleLogicalSwitches(store(), cfg, diag(NOW + 60_000)).map((f) => f.id);
    expect(a).toEqual(b);
  });

  it('parses broadcast URIs as CloudStack writes them', () => {
    expect(lswitchOfUri(`lswitch:${LEAKED_LSWITCH_OLD}`)).toBe(LEAKED_LSWITCH_OLD);
    expect(lswitchOfUri('vswitch://2046')).toBeUndefined();
    expect(lswitchOfUri(undefined)).toBeUndefined();
  });

  it('publishes the count as a gauge', () => {
    const set: [string, number][] = [];
    staleLogicalSwitch.publish!(store({ createdOffsetMs: 10 ** 10 }), cfg, { inc() {}, reset() {}, set: (n, _l, v) => set.push([n, v]) });
    expect(set).toEqual([['netdiag_stale_logical_switches', 2]]);
  });
});
