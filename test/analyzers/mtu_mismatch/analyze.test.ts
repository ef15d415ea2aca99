import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeMtuMismatch, mtuMismatchSchema } from '../../../analyzers/mtu_mismatch/analyze.js';
import { ipLinkStatsFile } from '../../../collectors/nic/index.js';
import { runCommand } from '../../../core/exec.js';
import { memoryInput } from '../../../core/input.js';
import type { LinkInfo, OvsInterfaceInfo } from '../../../core/kinds.js';
import { ObservationStore } from '../../../core/observation.js';
import { nullLogger, nullMetrics } from '../../../core/plugin.js';

const cfg = mtuMismatchSchema.parse({});
const link = (l: Partial<LinkInfo> & { interface: string }): LinkInfo => ({ class: 'physical', ...l });
const ovsIf = (i: Partial<OvsInterfaceInfo> & { name: string }): OvsInterfaceInfo => ({ type: '', options: {}, externalIds: {}, ...i });

describe('mtu_mismatch from constructed observations', () => {
  it('a VXLAN device at 1500 on a 1500 parent needs 1550', () => {
    const s = new ObservationStore();
    s.add({ kind: 'net.link', host: 'hv-01', source: 'ip-link.json', data: link({ interface: 'bond0', class: 'bond', mtu: 1500 }) });
    s.add({ kind: 'net.link', host: 'hv-01', source: 'ip-link.json', data: link({ interface: 'vxlan5001', class: 'tunnel', mtu: 1500, parent: 'bond0', tunnel: { type: 'vxlan', id: 5001 } }) });
    s.add({ kind: 'net.link', host: 'hv-01', source: 'ip-link.json', data: link({ interface: 'vxlan5002', class: 'tunnel', mtu: 1450, parent: 'bond0', tunnel: { type: 'vxlan', id: 5002 } }) });
    const f = analyzeMtuMismatch(s, cfg);
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ kind: 'mtu_mismatch', severity: 'warning', host: 'hv-01', subject: { interface: 'bond0', encapsulation: 'vxlan' }, metrics: { mtu: 1500, requiredMtu: 1550, overlayInterface: 'vxlan5001' } });
    expect(f[0]!.summary).toContain('set vxlan5001 to 1450 or raise bond0 to 1550');
  });

  it('OVS GRE tunnel ports with key: guest ports at 1500 need 1542 on the uplink; 9000 jumbo uplink is fine', () => {
    for (const [uplinkMtu, expected] of [[1500, 1], [9000, 0]] as const) {
      const s = new ObservationStore();
      s.add({ kind: 'net.link', host: 'hv-02', source: 'ip', data: link({ interface: 'eth1', mtu: uplinkMtu }) });
      s.add({ kind: 'ovs.interface', host: 'hv-02', source: 'vsctl', data: ovsIf({ name: 't5678-1-2', bridge: 'OVSTunnel5678', type: 'gre', options: { key: '5678', remote_ip: '192.168.10.12' } }) });
      s.add({ kind: 'ovs.interface', host: 'hv-02', source: 'vsctl', data: ovsIf({ name: 'vnet0', bridge: 'OVSTunnel5678', mtu: 1500 }) });
      const f = analyzeMtuMismatch(s, cfg);
      expect(f).toHaveLength(expected);
      if (expected) expect(f[0]).toMatchObject({ subject: { interface: 'eth1', encapsulation: 'gre' }, metrics: { mtu: 1500, requiredMtu: 1542, bridge: 'OVSTunnel5678' } });
    }
  });

  it('an OVS mtu_request the device refused', () => {
    const s = new ObservationStore();
    s.add({ kind: 'ovs.interface', host: 'hv-02', source: 'vsctl', data: ovsIf({ name: 'cloudbr1', bridge: 'cloudbr1', type: 'internal', mtu: 1500, mtuRequest: 9000 }) });
    expect(analyzeMtuMismatch(s, cfg)[0]).toMatchObject({ subject: { interface: 'cloudbr1', encapsulation: 'none' }, metrics: { mtu: 1500, requiredMtu: 9000 } });
  });

  it('CloudStack: a tier privatemtu above the zone maximum (#10001), and a VXLAN network above the hosts\' uplinks', () => {
    const s = new ObservationStore();
    s.add({ kind: 'cloudstack.config', source: 'listConfigurations', data: { name: 'vr.private.interface.max.mtu', value: '1450', scope: 'zone', zoneid: 'z1' } });
    s.add({ kind: 'cloudstack.network', source: 'listNetworks', data: { id: 'n1', name: 'tier1', zoneid: 'z1', broadcastdomaintype: 'Vxlan', privatemtu: 1500, publicmtu: 1500 } });
    s.add({ kind: 'net.link', host: 'hv-01', source: 'ip', data: link({ interface: 'eth1', mtu: 1500 }) });
    const f = analyzeMtuMismatch(s, cfg);
    expect(f.map((x) => x.subject)).toEqual([
      { interface: 'network tier1 (private)', encapsulation: 'vxlan' },
      { interface: 'network tier1 (private)', encapsulation: 'vxlan' },
    ]);
    expect(f[0]!.metrics).toMatchObject({ mtu: 1450, requiredMtu: 1500 });
    expect(f[1]!.metrics).toMatchObject({ mtu: 1500, requiredMtu: 1550 });
    // Two findings for one subject would collide on the id: they differ in the summary only, so ids must differ.
    expect(new Set(f.map((x) => x.id)).size).toBe(2);
  });
});

describe('mtu_mismatch from real `ip -j -d -s -s link` output', () => {
  const nsName = `ndmtu${process.pid}`;
  let json = '';
  beforeAll(async () => {
    const ns = (...a: string[]) => runCommand('ip', ['netns', 'exec', nsName, ...a]);
    await runCommand('ip', ['netns', 'add', nsName]);
    await ns('ip', 'link', 'add', 'u0', 'type', 'veth', 'peer', 'name', 'u1');
    await ns('ip', 'addr', 'add', '10.0.0.1/24', 'dev', 'u0');
    await ns('ip', 'link', 'set', 'u0', 'up');
    // With `dev`, the kernel makes the VXLAN 50 bytes smaller than its parent (1450)...
    await ns('ip', 'link', 'add', 'vxlan77', 'type', 'vxlan', 'id', '77', 'dev', 'u0', 'remote', '10.0.0.2', 'local', '10.0.0.1', 'dstport', '4789');
    await ns('ip', 'link', 'set', 'vxlan77', 'up');
    // ...but lowering the parent later leaves the VXLAN where it was.
    await ns('ip', 'link', 'set', 'u0', 'mtu', '1400');
    json = (await ns('ip', '-j', '-d', '-s', '-s', 'link', 'show')).stdout;
  });
  afterAll(async () => {
    await runCommand('ip', ['netns', 'del', nsName], { allowFailure: true });
  });

  it('the NIC collector\'s net.link observations give the mismatch on the configured underlay', async () => {
    const s = new ObservationStore();
    const input = memoryInput('hv-01/ip-j-d-s-s-link.json', `# command: ip -j -d -s -s link show\n${json}`, { host: 'hv-01' });
    expect(ipLinkStatsFile.sniff(input)).toBeGreaterThan(0);
    await ipLinkStatsFile.read(input, { emit: (o) => s.add({ ...o, host: 'hv-01' }), metrics: nullMetrics, log: nullLogger });
    // u0 is a veth (not an uplink class) and the NIC parser does not (yet) take a VXLAN's parent
    // from linkinfo.info_data.link: name the underlay in the config.
    const f = analyzeMtuMismatch(s, mtuMismatchSchema.parse({ underlayInterfaces: '^u0$' }));
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ host: 'hv-01', subject: { interface: 'u0', encapsulation: 'vxlan' }, metrics: { mtu: 1400, requiredMtu: 1500, overlayMtu: 1450 } });
  });
});
