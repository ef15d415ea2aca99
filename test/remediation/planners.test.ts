/**
 * Planners turn findings into plans without I/O: every finding kind the contract names gets the
 * plan an admin would expect, read-only checks come before changes, only the NVP delete is
 * destructive, and the same finding always gives the same plan id.
 */
import { describe, expect, it } from 'vitest';
import { makeFinding, type Finding } from '../../core/finding.js';
import type { Plan } from '../../core/plan.js';
import { attachPlans } from '../../engine/plans.js';
import { planFindings } from '../../remediation/planners/index.js';

const NOW = Date.parse('2026-11-23T10:00:00Z');
const f = (kind: string, subject: Record<string, unknown>, metrics: Record<string, unknown> = {}, extra: Partial<Finding> = {}): Finding =>
  makeFinding({ kind, severity: 'warning', subject, summary: `${kind} summary`, metrics, evidence: [], ...extra });

const staleSwitch = f('stale_logical_switch', { lswitch: '9c4d2e11-5b6a-4f70-8e21-3f4a5b6c0101', displayName: 'lswitch-old', account: 'ROOT-admin' }, { ports: 1, vifAttachments: 1, graceSeconds: 2400 });
const staleBridge = f('stale_ovs_bridge', { bridge: 'OVSTunnel2048', key: '2048' }, { tunnelPorts: 2 }, { host: 'hv-01' });
const stalePort = f('stale_ovs_bridge', { bridge: 'OVSTunnel2046', key: '2046', port: 't2046-3-5' }, { tunnelPorts: 1 }, { host: 'hv-01' });
const frag = (src: string, mtu: number) => f('mtu_fragmentation', { tunnel: { type: 'gre', key: 2046, src, dst: '10.0.0.9' } }, { fragments: 10, recommendedMtu: mtu, requiredUnderlayMtu: 1542 }, { severity: 'critical' });
const stt = f('mtu_fragmentation', { tunnel: { type: 'stt', key: 7, src: '10.0.0.1', dst: '10.0.0.2' } }, { recommendedMtu: 1424, requiredUnderlayMtu: 1576 });
const mismatch = f('mtu_mismatch', { interface: 'eth1', encapsulation: 'vxlan' }, { mtu: 1500, requiredMtu: 1550 }, { host: 'hv-02' });
const drop = f('flow_drop', { bridge: 'OVSTunnel2046', table: 0, priority: 100, match: 'ip,nw_dst=10.1.1.20', actions: 'drop' }, { packets: 60 }, { host: 'hv-01', severity: 'critical' });
const invalid = f('flow_invalid_output', { bridge: 'OVSTunnel2046', table: 0, priority: 200, match: 'ip,nw_dst=10.1.1.30', actions: 'output:7', port: '7' }, { packets: 20 }, { host: 'hv-01' });
const nvpDrop = f('flow_drop', { bridge: 'br-int', table: 0, priority: 1, match: '', actions: 'drop' }, { packets: 5 }, { host: 'hv-03' });
const crc = f('nic_crc_errors', { interface: 'eno1' }, { crcErrors: 500 }, { host: 'hv-02', severity: 'critical' });
const crcBond = f('nic_crc_errors', { interface: 'eno2', bond: 'bond0' }, { crcErrors: 500 }, { host: 'hv-02' });
const crcOld = f('nic_crc_errors', { interface: 'eno3' }, { crcErrors: 0 }, { host: 'hv-02', severity: 'info' });
const burst = f('nvp_api_exception_burst', { managementServer: 'mgmt-01', commands: ['CreateLogicalSwitchCommand'] }, { count: 40, byCause: { auth: 30, transport: 2 } }, { host: 'mgmt-01' });

const brokenPort = f('ovs_tunnel_error', { bridge: 'OVSTunnel2046', port: 't2046-3-8', reason: 'remote_ip_invalid' }, {}, { host: 'hv-01' });
const missing = f('ovs_tunnel_error', { bridge: 'OVSTunnel2046', reason: 'no_tunnel_port', hostId: 4 }, {}, { host: 'hv-01' });
const all = [brokenPort, missing, staleSwitch, staleBridge, stalePort, frag('10.0.0.1', 1458), frag('10.0.0.2', 1450), stt, mismatch, drop, invalid, nvpDrop, crc, crcBond, crcOld, burst];
const plans = planFindings(all, { now: NOW });
const planFor = (x: Finding): Plan => {
  const p = plans.find((q) => q.findingIds.includes(x.id));
  if (!p) throw new Error(`no plan for ${x.kind}`);
  return p;
};
const actions = (p: Plan) => p.steps.map((s) => `${s.target}:${s.action}`);

describe('planners', () => {
  it('a leaked switch: re-list CloudStack, re-read the switch with the grace period, then the one destructive call', () => {
    const p = planFor(staleSwitch);
    expect(actions(p)).toEqual(['cloudstack:confirmNetworkAbsent', 'nvp:confirmLogicalSwitch', 'nvp:deleteLogicalSwitch']);
    expect(p.steps[0]!.params).toEqual({ broadcastUri: 'lswitch:9c4d2e11-5b6a-4f70-8e21-3f4a5b6c0101' });
    expect(p.steps[1]!.params).toMatchObject({ uuid: '9c4d2e11-5b6a-4f70-8e21-3f4a5b6c0101', tagScope: 'cs_account', tag: 'ROOT-admin', graceSeconds: 2400, unreferencedSince: new Date(NOW).toISOString() });
    expect(p.steps.map((s) => s.destructive)).toEqual([false, false, true]);
    expect(p.notes!.join(' ')).toMatch(/VIF attachments/);
  });

  it('a leftover bridge or tunnel port: the exact ovs-vsctl command for its host, after CloudStack confirms the key is free', () => {
    expect(actions(planFor(staleBridge))).toEqual(['cloudstack:confirmNetworkAbsent', 'manual:instruction']);
    expect(planFor(staleBridge).steps[1]).toMatchObject({ host: 'hv-01', command: ['ovs-vsctl', '--if-exists', 'del-br', 'OVSTunnel2048'] });
    expect(planFor(stalePort).steps).toEqual([expect.objectContaining({ target: 'manual', command: ['ovs-vsctl', '--if-exists', 'del-port', 'OVSTunnel2046', 't2046-3-5'] })]);
  });

  it('fragmentation on a GRE key: one plan per network, the smallest recommended MTU through updateNetwork', () => {
    const p = planFor(frag('10.0.0.1', 1458));
    expect(p.findingIds).toHaveLength(2);
    expect(actions(p)).toEqual(['cloudstack:findNetwork', 'cloudstack:updateNetwork', 'manual:instruction']);
    expect(p.steps[0]!.params).toEqual({ broadcastUris: ['vswitch://2046'] });
    expect(p.steps[1]!.params).toEqual({ id: '${network.id}', privatemtu: 1450 });
    expect(p.severity).toBe('critical');
    // STT keys are the controller's: nothing CloudStack can change
    expect(actions(planFor(stt))).toEqual(['manual:instruction']);
  });

  it('an interface too small for its encapsulation: ip link on that host', () => {
    expect(planFor(mismatch).steps[0]).toMatchObject({ host: 'hv-02', command: ['ip', 'link', 'set', 'dev', 'eth1', 'mtu', '1550'] });
  });

  it('bad flows on an OVS-plugin bridge: one restart of the network for the bridge; on br-int: the controller is checked', () => {
    const p = planFor(drop);
    expect(planFor(invalid).id).toBe(p.id);
    expect(actions(p)).toEqual(['cloudstack:findNetwork', 'cloudstack:restartNetwork', 'manual:instruction', 'manual:instruction']);
    expect(p.steps[1]).toMatchObject({ idempotent: false, params: { id: '${network.id}', cleanup: false } });
    expect(p.steps[2]!.command).toEqual(['ovs-ofctl', '-O', 'OpenFlow13', 'dump-flows', 'OVSTunnel2046', 'table=0,priority=100,ip,nw_dst=10.1.1.20']);
    expect(actions(planFor(nvpDrop))[0]).toBe('nvp:controlClusterStatus');
  });

  it('CRC errors: maintenance through CloudStack first, or the bond member out; an old total gets no plan', () => {
    expect(actions(planFor(crc))).toEqual(['cloudstack:findHost', 'cloudstack:prepareHostForMaintenance', 'manual:instruction', 'manual:instruction', 'manual:instruction']);
    expect(planFor(crcBond).steps[0]!.command).toEqual(['ip', 'link', 'set', 'dev', 'eno2', 'nomaster']);
    expect(plans.some((p) => p.findingIds.includes(crcOld.id))).toBe(false);
  });

  it('an NVP burst: only reads, with advice for the dominant cause', () => {
    const p = planFor(burst);
    expect(p.steps.filter((s) => s.target !== 'manual').every((s) => s.readOnly)).toBe(true);
    expect(p.steps.at(-1)!.description).toMatch(/credentials/);
  });

  it('tunnel errors: a broken port is removed by hand; a missing tunnel is CloudStack\'s to create', () => {
    expect(planFor(brokenPort).steps[0]).toMatchObject({ target: 'manual', host: 'hv-01', command: ['ovs-vsctl', '--if-exists', 'del-port', 'OVSTunnel2046', 't2046-3-8'] });
    expect(actions(planFor(missing))).toEqual(['cloudstack:findNetwork', 'cloudstack:restartNetwork', 'manual:instruction']);
  });

  it('read-only steps come first, ids are stable, and every finding learns its plan', () => {
    for (const p of plans) {
      const firstChange = p.steps.findIndex((s) => !s.readOnly);
      expect(p.steps.slice(firstChange < 0 ? p.steps.length : firstChange).some((s) => s.readOnly)).toBe(false);
      expect(p.steps.map((s) => s.id)).toEqual(p.steps.map((_, i) => `s${i + 1}`));
    }
    expect(planFindings(all, { now: NOW + 5000 }).map((p) => p.id)).toEqual(plans.map((p) => p.id));
    const copy = all.map((x) => ({ ...x }));
    attachPlans(copy, plans);
    expect(copy.find((x) => x.id === staleSwitch.id)!.plan).toMatchObject({ id: planFor(staleSwitch).id, changes: true });
    expect(copy.find((x) => x.id === burst.id)!.plan).toMatchObject({ changes: false });
  });
});
