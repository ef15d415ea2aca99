import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeFlowDrop, flowDropSchema, publishFlowDrop } from '../../../analyzers/flow_drop/analyze.js';
import { DEFAULT_INTENTIONAL, intentionalDrop } from '../../../analyzers/flow_drop/intentional.js';
import { analyzeFlowInvalidOutput, flowInvalidOutputSchema } from '../../../analyzers/flow_invalid_output/analyze.js';
import { analyzeOvsTunnel, ovsTunnelSchema } from '../../../analyzers/ovs_tunnel/analyze.js';
import { dumpFlowsFile, ofctlShowFile, vsctlJsonFile } from '../../../collectors/ovs/index.js';
import '../../../collectors/ovs/model.js';
import { parseDumpFlows, parseFlowLine } from '../../../collectors/ovs/parse.js';
import { memoryInput } from '../../../core/input.js';
import { ObservationStore } from '../../../core/observation.js';
import { nullLogger, nullMetrics } from '../../../core/plugin.js';

const flow = (s: string) => parseFlowLine(` cookie=0x0, duration=9.0s, table=0, n_packets=10, n_bytes=980, ${s}`)!;
const cases: [string, string, string | undefined][] = [
  ['OVSTunnel2046', 'priority=1000,in_port=5,dl_dst=ff:ff:ff:ff:ff:ff actions=drop', 'tunnel-ingress-broadcast'],
  ['OVSTunnel2046', 'priority=1000,ip,in_port=5,nw_dst=224.0.0.0/24 actions=drop', 'tunnel-ingress-multicast'],
  ['OVSTunnel2046', 'priority=1000,ip,in_port=5,nw_dst=10.0.0.0/24 actions=drop', undefined],
  ['OVSTunnel2046', 'priority=100,ip actions=drop', undefined],
  ['OVSTunnel2046', 'priority=65000,dl_type=0x86dd actions=drop', 'ipv6-block'],
  ['OVSTunnel2046', 'priority=65000,ipv6 actions=drop', 'ipv6-block'],
  ['OVS-DR-VPC-Bridge7', 'table=2, priority=0 actions=drop', 'dr-vpc-l2-flood-default'],
  ['OVS-DR-VPC-Bridge7', 'table=5, priority=0 actions=drop', 'dr-vpc-ingress-acl-default'],
  ['OVS-DR-VPC-Bridge7', 'table=3, priority=1004,ip,nw_src=10.1.1.0/24 actions=drop', 'dr-vpc-acl-deny'],
  ['OVSTunnel2046', 'table=5, priority=0 actions=drop', undefined],
  ['cloudbr1', 'table=1, priority=0 actions=drop', 'pvlan-default-deny'],
  ['cloudbr1', 'priority=0 actions=drop', undefined],
];

describe('the intentional-drop list (reference/cloudstack.md §5.4)', () => {
  it.each(cases)('%s %s → %s', (bridge, text, id) => {
    expect(intentionalDrop(bridge, flow(text), DEFAULT_INTENTIONAL)?.id).toBe(id);
  });
});

function store(dumps: { at: number; text: string }[], extra: (s: ObservationStore) => void = () => {}): ObservationStore {
  const s = new ObservationStore();
  for (const d of dumps) s.add({ kind: 'ovs.flows', host: 'hv-01', at: d.at, source: 'dump', data: { bridge: 'OVSTunnel2046', flows: parseDumpFlows(d.text).flows, names: false } });
  extra(s);
  return s;
}

describe('flow_drop severity, VM callout, config and metrics', () => {
  const line = (pk: number, dur: number) => ` cookie=0x0, duration=${dur}s, table=0, n_packets=${pk}, n_bytes=0, priority=200,dl_src=02:00:00:00:00:09 actions=drop\n cookie=0x0, duration=${dur}s, table=0, n_packets=${pk}, n_bytes=0, priority=10,ip actions=drop\n`;
  it('rises with the rate and names the VM', () => {
    const s = store([{ at: 0, text: line(100, 100) }, { at: 10_000, text: line(2100, 110) }], (st) =>
      st.add({ kind: 'ovs.interface', host: 'hv-01', source: 'db', data: { name: 'vnet3', type: '', options: {}, externalIds: { 'attached-mac': '02:00:00:00:00:09', 'vm-id': 'i-2-9-VM' } } }),
    );
    const f = analyzeFlowDrop(s, flowDropSchema.parse({}));
    expect(f).toHaveLength(2);
    expect(f.every((x) => x.severity === 'critical' && x.metrics.packetsPerSecond === 200)).toBe(true);
    expect(f.find((x) => x.subject.priority === 200)!.summary).toMatch(/vm i-2-9-VM.*controller has not pushed a valid flow/);
    expect(analyzeFlowDrop(s, flowDropSchema.parse({ criticalPacketsPerSecond: 1000 }))[0]!.severity).toBe('warning');
    expect(analyzeFlowDrop(store([{ at: 0, text: line(100, 100) }, { at: 10_000, text: line(100, 110) }]), flowDropSchema.parse({}))[0]!.severity).toBe('info');
    expect(flowDropSchema.safeParse({ extraIntentional: [{ id: 'bad', bridge: '(' }] }).success).toBe(false);
    const extra = flowDropSchema.parse({ extraIntentional: [{ id: 'site', match: ['ip'], priority: 10 }] });
    expect(analyzeFlowDrop(s, extra)).toHaveLength(1);
    const set: [string, Record<string, string>, number][] = [];
    publishFlowDrop(s, flowDropSchema.parse({}), { inc() {}, reset() {}, set: (n, l, v) => set.push([n, l, v]) });
    expect(set).toContainEqual(['netdiag_ovs_drop_packets_per_second', { host: 'hv-01', bridge: 'OVSTunnel2046', reason: 'unexpected' }, 400]);
    expect(set).toContainEqual(['netdiag_ovs_flows', { host: 'hv-01', bridge: 'OVSTunnel2046', verdict: 'drop_unexpected' }, 2]);
  });
});

describe('flow_invalid_output and ovs_tunnel on OVSDB data', () => {
  it('judges outputs against OVSDB ofports and interface errors', () => {
    const text = ' cookie=0x0, table=0, n_packets=3, n_bytes=0, priority=5,ip actions=output:2,output:4,output:9,LOCAL,output:NXM_NX_REG0[],group:1\n';
    const s = store([{ at: 0, text }], (st) => {
      st.add({ kind: 'ovs.bridge', host: 'hv-01', source: 'db', data: { name: 'OVSTunnel2046', otherConfig: { gre_key: '2046', 'ovs-host-setup': '3,4' }, externalIds: {}, ports: ['t2046-3-4', 't2046-3-5', 'vnet0'] } });
      st.add({ kind: 'ovs.interface', host: 'hv-01', source: 'db', data: { name: 't2046-3-4', type: 'gre', ofport: 2, options: { key: '2046', remote_ip: '192.0.2.12' }, externalIds: {} } });
      st.add({ kind: 'ovs.interface', host: 'hv-01', source: 'db', data: { name: 't2046-3-5', type: 'gre', ofport: 4, options: { key: '2047', remote_ip: '192.0.2.13' }, externalIds: {}, error: 'boom' } });
      st.add({ kind: 'ovs.interface', host: 'hv-01', source: 'db', data: { name: 'vnet0', type: '', ofport: 3, options: {}, externalIds: {} } });
    });
    const outs = analyzeFlowInvalidOutput(s, flowInvalidOutputSchema.parse({}));
    expect(outs.map((f) => [f.subject.port, f.subject.reason, f.severity])).toEqual([['4', 'interface_error', 'critical'], ['9', 'absent_port', 'critical']]);
    const tun = analyzeOvsTunnel(s, ovsTunnelSchema.parse({ hostIps: { '4': '192.0.2.99' } }));
    expect(tun.map((f) => `${f.subject.port}:${f.subject.reason}`).sort()).toEqual(['t2046-3-4:remote_ip_mismatch', 't2046-3-5:interface_error', 't2046-3-5:key_mismatch']);
  });
});

describe('intentional drops need the right bridge and the right in_port (checked against the CloudStack sources)', () => {
  const iface = (name: string, type: string, ofport: number) => ({ kind: 'ovs.interface' as const, host: 'hv-01', source: 'db', data: { name, bridge: name.startsWith('t') || name.startsWith('vif') || name.startsWith('vnet') ? BR_OF[name] : undefined, type, ofport, options: {}, externalIds: {} } });
  const BR_OF: Record<string, string> = { 't2046-3-4': 'xapi7', 'vif5.0': 'xapi7', 't7-3-4': 'OVS-DR-VPC-Bridge9', vnet0: 'OVSTunnel2046' };
  function run(bridge: string, otherConfig: Record<string, string>, text: string, ports: ReturnType<typeof iface>[]) {
    const s = new ObservationStore();
    s.add({ kind: 'ovs.bridge', host: 'hv-01', source: 'db', data: { name: bridge, otherConfig, externalIds: {}, ports: ports.map((p) => p.data.name) } });
    for (const p of ports) s.add({ ...p, data: { ...p.data, bridge } });
    s.add({ kind: 'ovs.flows', host: 'hv-01', at: 1, source: 'dump', data: { bridge, flows: parseDumpFlows(text).flows, names: false } });
    return analyzeFlowDrop(s, flowDropSchema.parse({}));
  }
  const bcast = (inPort: number) => ` cookie=0x0, table=0, n_packets=40, n_bytes=2400, priority=1000,in_port=${inPort},dl_dst=ff:ff:ff:ff:ff:ff actions=drop\n`;

  it('XenServer names the OVS bridge xapiN: other_config:gre_key (set by setup_ovs_bridge) marks it as CloudStack\'s', () => {
    expect(run('xapi7', { gre_key: '2046' }, bcast(1), [iface('t2046-3-4', 'gre', 1)])).toEqual([]);
    expect(run('xapi7', {}, bcast(1), [iface('t2046-3-4', 'gre', 1)])).toHaveLength(1);
  });

  it('a broadcast drop on a VM port is not the tunnel-ingress rule, even on an OVSTunnel bridge', () => {
    const f = run('OVSTunnel2046', { gre_key: '2046' }, bcast(3), [iface('vnet0', '', 3)]);
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ kind: 'flow_drop', subject: { priority: 1000, match: 'in_port=3,dl_dst=ff:ff:ff:ff:ff:ff' } });
    // Port unknown (no OVSDB, no ofctl show): the CloudStack pattern is given the benefit of the doubt.
    expect(run('OVSTunnel2046', {}, bcast(3), [])).toEqual([]);
  });

  it('distributed routing: flood rule of a tier with no local VIF left (cookie 111, table 2, 1100) and the DR bridge known by other_config', () => {
    const flood = ' cookie=0x6f, table=2, n_packets=12, n_bytes=720, priority=1100,in_port=1 actions=drop\n';
    expect(run('OVS-DR-VPC-Bridge9', {}, flood, [iface('t7-3-4', 'gre', 1)])).toEqual([]);
    const acl = ' cookie=0x0, table=5, n_packets=12, n_bytes=720, priority=1003,ip,nw_src=10.1.2.0/24,nw_dst=10.1.1.0/24,nw_proto=6 actions=drop\n';
    expect(run('xapi9', { 'topology-update-sequence-number': '4', 'route-policy-update-sequence-number': '2' }, acl, [])).toEqual([]);
    expect(run('xapi9', {}, acl, [])).toHaveLength(1);
    expect(run('cloudbr0', {}, flood, [])).toHaveLength(1);
  });
});

describe('flow_invalid_output on real captures: ofport_request of an interface OVS refused, nested outputs', () => {
  const FIX = join(__dirname, '..', '..', 'fixtures', 'ovs');
  it('output:5 requested by t2046-3-7 ("File exists", ofport -1) is ofport_invalid; clone/output(port=) to port 1 are fine', async () => {
    const s = new ObservationStore();
    const ctx = { emit: (o: never) => s.add(o), metrics: nullMetrics, log: nullLogger } as never;
    for (const [f, c] of [
      ['dump-flows-forms-of10.txt', dumpFlowsFile],
      ['show-forms-of10.txt', ofctlShowFile],
      ['list-interface-ofport-request.json', vsctlJsonFile],
      ['list-bridge-ofport-request.json', vsctlJsonFile],
      ['list-port-ofport-request.json', vsctlJsonFile],
    ] as const) await c.read(memoryInput(f, readFileSync(join(FIX, f)), { host: 'hv-01' }), ctx);
    const outs = analyzeFlowInvalidOutput(s, flowInvalidOutputSchema.parse({}));
    expect(outs.map((f) => [f.subject.priority, f.subject.port, f.subject.reason, f.severity])).toEqual([[400, '5', 'ofport_invalid', 'warning']]);
    expect(outs[0]!.summary).toMatch(/t2046-3-7 \(ofport_request=5\).*File exists/);
    const tun = analyzeOvsTunnel(s, ovsTunnelSchema.parse({}));
    expect(tun.map((f) => `${f.subject.port}:${f.subject.reason}`)).toEqual(['t2046-3-7:interface_error']);
  });

  it('outputs nested in clone(...) and write_actions(...) are judged; a learn(...) template is not', () => {
    const text = ' cookie=0x0, table=0, n_packets=3, n_bytes=0, priority=5,ip actions=clone(output:9),learn(table=1,output:NXM_OF_IN_PORT[]),write_actions(output:0)\n';
    const s = store([{ at: 0, text }], (st) => st.add({ kind: 'ovs.portmap', host: 'hv-01', source: 'show', data: { bridge: 'OVSTunnel2046', ports: [{ ofport: 1, name: 't2046-3-4', config: [], state: [] }] } }));
    expect(analyzeFlowInvalidOutput(s, flowInvalidOutputSchema.parse({})).map((f) => [f.subject.port, f.subject.reason])).toEqual([['9', 'absent_port'], ['0', 'port_zero']]);
  });
});

describe('flow_invalid_output: bundle(...) members (members: since OVS 2.14, slaves: before)', () => {
  const portmap = (st: ObservationStore) => st.add({ kind: 'ovs.portmap', host: 'hv-01', source: 'show', data: { bridge: 'OVSTunnel2046', ports: [{ ofport: 1, name: 't2046-3-4', config: [], state: [] }] } });
  it('a bundle with no member left loses traffic; with a live member it is a warning; bundle_load is no output', () => {
    const text = [
      ' cookie=0x0, table=0, n_packets=3, n_bytes=0, priority=5,ip actions=bundle(eth_src,0,hrw,ofport,slaves:7,8)',
      ' cookie=0x0, table=0, n_packets=3, n_bytes=0, priority=6,ip actions=bundle(eth_src,0,active_backup,ofport,members:1,"t2046-9-9")',
      ' cookie=0x0, table=0, n_packets=3, n_bytes=0, priority=7,ip actions=bundle_load(eth_src,0,hrw,ofport,NXM_NX_REG0[],members:7,8),output:NXM_NX_REG0[]',
    ].join('\n');
    const outs = analyzeFlowInvalidOutput(store([{ at: 0, text }], portmap), flowInvalidOutputSchema.parse({}));
    expect(outs.map((f) => [f.subject.priority, f.subject.port, f.severity])).toEqual([[5, '7', 'critical'], [5, '8', 'critical'], [6, 't2046-9-9', 'warning']]);
    expect(outs[2]!.summary).toMatch(/bundle member port t2046-9-9 is not on the bridge.*1 of its 2 members remain/);
  });
});

describe('ovs_tunnel: tunnel ports of one host disagree on remote_ip; partial dumps', () => {
  const tun = (name: string, ip: string, bridge: string) => ({ kind: 'ovs.interface' as const, host: 'hv-01', source: 'db', data: { name, bridge, type: 'gre', ofport: 1, options: { key: bridge.replace('OVSTunnel', ''), remote_ip: ip }, externalIds: {} } });
  it('the odd one out towards a host, and one IP used for two hosts', () => {
    const s = new ObservationStore();
    for (const o of [tun('t2046-3-4', '192.0.2.12', 'OVSTunnel2046'), tun('t2047-3-4', '192.0.2.12', 'OVSTunnel2047'), tun('t2048-3-4', '192.0.2.99', 'OVSTunnel2048'), tun('t2046-3-5', '192.0.2.13', 'OVSTunnel2046'), tun('t2047-3-6', '192.0.2.13', 'OVSTunnel2047')]) s.add(o);
    const f = analyzeOvsTunnel(s, ovsTunnelSchema.parse({})).filter((x) => x.subject.reason === 'remote_ip_inconsistent');
    expect(f.map((x) => [x.subject.port, x.severity])).toEqual([['t2048-3-4', 'critical'], ['t2046-3-5', 'warning'], ['t2047-3-6', 'warning']]);
    expect(f[0]!.summary).toMatch(/points host 4 at 192\.0\.2\.99, but the other tunnels to host 4 use 192\.0\.2\.12/);
    expect(f[1]!.summary).toMatch(/remote_ip 192\.0\.2\.13/);
  });
  it('a partial dump is reported as such until a later complete dump of the bridge', () => {
    const s = store([{ at: 1000, text: ' cookie=0x0, table=0, n_packets=1, n_bytes=1, priority=0 actions=NORMAL\n' }]);
    s.add({ kind: 'ovs.poll_failure', host: 'hv-01', at: 1000, source: 'dump', data: { bridge: 'OVSTunnel2046', command: 'dump-flows', error: 'decode error OFPBAC_UNSUPPORTED_ORDER: ...', partial: true } });
    const f = analyzeOvsTunnel(s, ovsTunnelSchema.parse({})).find((x) => x.kind === 'ovs_poll_failure')!;
    expect(f).toMatchObject({ severity: 'warning', subject: { bridge: 'OVSTunnel2046', command: 'dump-flows' }, metrics: { failures: 1, partial: true } });
    expect(f.summary).toMatch(/read only part of dump-flows of bridge OVSTunnel2046/);
    s.add({ kind: 'ovs.flows', host: 'hv-01', at: 2000, source: 'dump2', data: { bridge: 'OVSTunnel2046', flows: [], names: false } });
    expect(analyzeOvsTunnel(s, ovsTunnelSchema.parse({})).some((x) => x.kind === 'ovs_poll_failure')).toBe(false);
  });
});
