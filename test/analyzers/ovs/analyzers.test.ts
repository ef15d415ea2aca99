import { describe, expect, it } from 'vitest';
import { analyzeFlowDrop, flowDropSchema, publishFlowDrop } from '../../../analyzers/flow_drop/analyze.js';
import { DEFAULT_INTENTIONAL, intentionalDrop } from '../../../analyzers/flow_drop/intentional.js';
import { analyzeFlowInvalidOutput, flowInvalidOutputSchema } from '../../../analyzers/flow_invalid_output/analyze.js';
import { analyzeOvsTunnel, ovsTunnelSchema } from '../../../analyzers/ovs_tunnel/analyze.js';
import '../../../collectors/ovs/model.js';
import { parseDumpFlows, parseFlowLine } from '../../../collectors/ovs/parse.js';
import { ObservationStore } from '../../../core/observation.js';

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
