/**
 * Against a real Open vSwitch: CloudStack-like bridges, intentional and faulty flows, real packets
 * through veths so counters move; findings from the live poll and from the captured text.
 */
import { mkdir, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flowDrop } from '../../../analyzers/flow_drop/index.js';
import { analyzers } from '../../../analyzers/index.js';
import { ovsConfigSchema, pollOvs } from '../../../collectors/ovs/index.js';
import { parseOvsdbList, parseOvsdbListText } from '../../../collectors/ovs/parse.js';
import { NetdiagError } from '../../../core/errors.js';
import { type Exec, runCommand } from '../../../core/exec.js';
import type { Finding } from '../../../core/finding.js';
import { ObservationStore, type AnyObservation } from '../../../core/observation.js';
import { nullLogger, type LiveContext } from '../../../core/plugin.js';
import { diagnose } from '../../../engine/pipeline.js';
import { startOvs, type OvsLab } from '../../helpers/ovs.js';

const BR = 'OVSTunnel2046';
let ovs: OvsLab;
const vmNs = [`nd-h3vm0-${process.pid}`, `nd-h3vm1-${process.pid}`];
/** A peer hypervisor: a kernel VXLAN endpoint (this kernel has no GRE) sending into the tunnel mesh. */
const peerNs = `nd-h3peer-${process.pid}`;
let bundle: string;
/** The same bridge captured with `ovs-appctl bridge/dump-flows` (no header: recognised by content). */
let appctlBundle: string;

async function vmNsSetup(i: number, mac: string, ip: string): Promise<void> {
  const ns = vmNs[i]!;
  await runCommand('ip', ['netns', 'add', ns]);
  await ovs.inNs('ip', 'link', 'add', `vnet${i}`, 'type', 'veth', 'peer', 'name', `vnet${i}p`);
  await ovs.inNs('ip', 'link', 'set', `vnet${i}p`, 'netns', ns);
  await ovs.inNs('ip', 'link', 'set', `vnet${i}`, 'up');
  const sh = (...a: string[]) => runCommand('ip', ['netns', 'exec', ns, ...a]);
  await sh('ip', 'link', 'set', `vnet${i}p`, 'address', mac);
  await sh('ip', 'addr', 'add', `${ip}/24`, 'dev', `vnet${i}p`);
  await sh('ip', 'link', 'set', `vnet${i}p`, 'up');
  await sh('ethtool', '-K', `vnet${i}p`, 'tx', 'off');
  for (const [dst, lladdr] of [['10.1.1.5', '02:00:00:00:00:05'], ['10.1.1.6', '02:00:00:00:00:06'], ['10.1.1.7', '02:00:00:00:00:07'], ['10.1.1.8', '02:00:00:00:00:08'], ['10.1.1.3', '02:00:00:00:00:03'], ['10.1.1.4', '02:00:00:00:00:04']]) {
    await sh('ip', 'neigh', 'replace', dst!, 'lladdr', lladdr!, 'dev', `vnet${i}p`);
  }
}

/**
 * The underlay: bridge br-phy (192.0.2.11) in the switch's namespace, a veth to the peer namespace
 * (192.0.2.18) whose kernel VXLAN device (VNI 2046) reaches OVSTunnel2046's port t2046-3-8. OVS's
 * userspace datapath decapsulates, so broadcast and multicast from the peer arrive with in_port=6
 * and hit CloudStack's own tunnel-ingress drops.
 */
async function peerSetup(): Promise<void> {
  const sh = (...a: string[]) => runCommand('ip', ['netns', 'exec', peerNs, ...a]);
  await runCommand('ip', ['netns', 'add', peerNs]);
  await ovs.inNs('ip', 'link', 'add', 'ul0', 'type', 'veth', 'peer', 'name', 'ul0p');
  await ovs.inNs('ip', 'link', 'set', 'ul0p', 'netns', peerNs);
  await ovs.inNs('ip', 'link', 'set', 'ul0', 'up');
  await ovs.inNs('ethtool', '-K', 'ul0', 'tx', 'off');
  await ovs.vsctl('add-br', 'br-phy', '--', 'set', 'Bridge', 'br-phy', 'datapath_type=netdev', '--', 'add-port', 'br-phy', 'ul0');
  await ovs.inNs('ip', 'addr', 'add', '192.0.2.11/24', 'dev', 'br-phy');
  await ovs.inNs('ip', 'link', 'set', 'br-phy', 'up');
  await sh('ip', 'link', 'set', 'lo', 'up');
  await sh('ip', 'addr', 'add', '192.0.2.18/24', 'dev', 'ul0p');
  await sh('ip', 'link', 'set', 'ul0p', 'up');
  await sh('ethtool', '-K', 'ul0p', 'tx', 'off');
  await sh('ip', 'link', 'add', 'vx0', 'type', 'vxlan', 'id', '2046', 'remote', '192.0.2.11', 'dstport', '4789', 'dev', 'ul0p');
  await sh('ip', 'addr', 'add', '10.1.1.50/24', 'dev', 'vx0');
  await sh('ip', 'link', 'set', 'vx0', 'up');
}

/** Bounded traffic: a few pings from the VM namespaces (replies never come: the flows drop them). */
async function sendTraffic(count: number): Promise<void> {
  const ping = (ns: string, dst: string) => runCommand('ip', ['netns', 'exec', ns, 'ping', '-c', String(count), '-i', '0.05', '-W', '1', '-q', dst], { allowFailure: true, timeoutMs: 20_000 });
  // IPv6 to all-nodes: what CloudStack's 65000 IPv6 block (an intentional drop) counts.
  const ping6 = runCommand('ip', ['netns', 'exec', vmNs[1]!, 'ping', '-6', '-c', '3', '-i', '0.05', '-W', '1', '-q', 'ff02::1%vnet1p'], { allowFailure: true, timeoutMs: 20_000 });
  await Promise.all([ping(vmNs[0]!, '10.1.1.7'), ping(vmNs[0]!, '10.1.1.5'), ping(vmNs[0]!, '10.1.1.8'), ping(vmNs[0]!, '10.1.1.3'), ping(vmNs[0]!, '10.1.1.4'), ping(vmNs[1]!, '10.1.1.7'), ping6, peerTraffic()]);
}

/**
 * From the peer through the tunnel: ARP broadcasts (an unresolvable address) and link-local
 * multicast, until both tunnel-ingress drops have counted some (OVS pushes datapath statistics to
 * the flows every ~0.5 s; the first VXLAN packets can wait on the underlay's ARP). At most 4 rounds.
 */
async function peerTraffic(): Promise<void> {
  for (let round = 0; round < 4; round++) {
    await Promise.all([
      runCommand('ip', ['netns', 'exec', peerNs, 'ping', '-c', '3', '-i', '0.05', '-w', '1', '-q', '10.1.1.99'], { allowFailure: true, timeoutMs: 20_000 }),
      runCommand('ip', ['netns', 'exec', peerNs, 'ping', '-c', '5', '-i', '0.05', '-W', '1', '-q', '-I', 'vx0', '224.0.0.18'], { allowFailure: true, timeoutMs: 20_000 }),
    ]);
    await new Promise((r) => setTimeout(r, 600));
    const counts = [...(await ovs.ofctl('dump-flows', BR, 'in_port=6')).matchAll(/n_packets=(\d+)/g)].map((m) => Number(m[1]));
    if (counts.length === 2 && counts.every((n) => n > 0)) return;
  }
}

function liveCtx(store: ObservationStore, now = Date.now): LiveContext {
  return {
    emit: (o: AnyObservation) => store.add(o),
    metrics: { inc() {}, set() {}, reset() {} },
    log: nullLogger,
    exec: runCommand,
    host: 'hv-01',
    roots: { sys: '/sys', proc: '/proc' },
    now,
  };
}

function analyze(store: ObservationStore): Finding[] {
  const out: Finding[] = [];
  for (const a of analyzers.filter((x) => ['flow_drop', 'flow_invalid_output', 'ovs_tunnel'].includes(x.name))) out.push(...a.analyze(store, a.schema.parse({}), { now: Date.now(), mode: 'serve', state: new Map() }));
  return out;
}

async function capture(dir: string, name: string, args: string[]): Promise<void> {
  // Like `ovs-ofctl ... 2>&1 > file`: a refused dump keeps OVS's own error lines.
  const r = await runCommand('ovs-ofctl', args, { env: ovs.env, allowFailure: true });
  const out = r.stdout + r.stderr;
  await writeFile(join(dir, name), `# command: ovs-ofctl ${args.join(' ')}\n# collected-at: ${new Date().toISOString()}\n${out}`);
}

beforeAll(async () => {
  ovs = await startOvs('h3');
  await ovs.vsctl('add-br', BR, '--', 'set', 'Bridge', BR, 'datapath_type=netdev', 'other_config:gre_key=2046', 'other_config:is-ovs-tun-network=True', 'other_config:ovs-host-setup=3', 'stp_enable=true');
  await ovs.vsctl('add-port', BR, 't2046-3-4', '--', 'set', 'Interface', 't2046-3-4', 'type=gre', 'options:key=2046', 'options:remote_ip=192.0.2.12', 'ofport_request=1');
  await ovs.vsctl('add-port', BR, 't2046-3-6', '--', 'set', 'Interface', 't2046-3-6', 'type=vxlan', 'options:key=2050', 'options:remote_ip=192.0.2.14', 'ofport_request=2');
  // Same key and remote as t2046-3-4: OVS refuses it ("File exists") and sets error/ofport -1.
  // It asked for ofport 5, which a flow outputs to: OVSDB keeps ofport_request=5 with ofport -1.
  await ovs.vsctl('add-port', BR, 't2046-3-7', '--', 'set', 'Interface', 't2046-3-7', 'type=gre', 'options:key=2046', 'options:remote_ip=192.0.2.12', 'ofport_request=5').catch(() => '');
  await peerSetup();
  await ovs.vsctl('add-port', BR, 't2046-3-8', '--', 'set', 'Interface', 't2046-3-8', 'type=vxlan', 'options:key=2046', 'options:remote_ip=192.0.2.18', 'ofport_request=6');
  await vmNsSetup(0, '02:00:00:00:00:01', '10.1.1.10');
  await vmNsSetup(1, '02:00:00:00:00:09', '10.1.1.19');
  await ovs.vsctl('add-port', BR, 'vnet0', '--', 'set', 'Interface', 'vnet0', 'ofport_request=3', 'external_ids:iface-id=iface-1', 'external_ids:attached-mac=02:00:00:00:00:01', 'external_ids:vm-id=vm-1');
  await ovs.vsctl('add-port', BR, 'vnet1', '--', 'set', 'Interface', 'vnet1', 'ofport_request=4', 'external_ids:iface-id=iface-9', 'external_ids:attached-mac=02:00:00:00:00:09', 'external_ids:vm-id=vm-9');
  await ovs.vsctl('add-br', 'br-int', '--', 'set', 'Bridge', 'br-int', 'datapath_type=netdev', 'protocols=OpenFlow13');
  await ovs.vsctl('add-br', 'cloudbr0', '--', 'set', 'Bridge', 'cloudbr0', 'datapath_type=netdev');
  await ovs.vsctl('add-br', 'OVSTunnel2048', '--', 'set', 'Bridge', 'OVSTunnel2048', 'datapath_type=netdev', 'other_config:gre_key=2048', 'other_config:ovs-host-setup=3');
  const flows = [
    // CloudStack's own (intentional) drops, §5.4 A and C.
    'hard_timeout=0,idle_timeout=0,priority=1000,in_port=1,dl_dst=ff:ff:ff:ff:ff:ff,actions=drop',
    'hard_timeout=0,idle_timeout=0,priority=1000,in_port=1,ip,nw_dst=224.0.0.0/24,actions=drop',
    'hard_timeout=0,idle_timeout=0,priority=1000,in_port=6,dl_dst=ff:ff:ff:ff:ff:ff,actions=drop',
    'hard_timeout=0,idle_timeout=0,priority=1000,in_port=6,ip,nw_dst=224.0.0.0/24,actions=drop',
    'priority=65000,ipv6,actions=drop',
    // Faults: a drop of IP traffic, a drop keyed on one VM's MAC, outputs to a missing port and port 0.
    'priority=100,ip,nw_dst=10.1.1.7,actions=drop',
    'priority=200,dl_src=02:00:00:00:00:09,actions=drop',
    'priority=300,ip,nw_dst=10.1.1.5,actions=output:99',
    'priority=301,ip,nw_dst=10.1.1.6,actions=output:0',
    'priority=400,ip,nw_dst=10.1.1.8,actions=output:5',
    // A bundle whose members are all absent loses the traffic; one with a live member (3) still delivers.
    'priority=302,ip,nw_dst=10.1.1.4,actions=bundle(eth_src,0,active_backup,ofport,members:97,98)',
    'priority=303,ip,nw_dst=10.1.1.3,actions=bundle(eth_src,0,hrw,ofport,members:4,96)',
    'cookie=0x6f,table=2,priority=1100,dl_dst=ff:ff:ff:ff:ff:ff,actions=output:1,output:2',
  ];
  await writeFile(join(ovs.dir, 'flows.txt'), flows.join('\n') + '\n');
  await ovs.ofctl('add-flows', BR, join(ovs.dir, 'flows.txt'));
  await ovs.ofctl('-O', 'OpenFlow13', 'add-flow', 'br-int', 'table=0,priority=10,ip,nw_dst=10.9.9.9,actions=drop');
  await ovs.vsctl('set', 'Bridge', 'br-int', 'protocols=OpenFlow13');
  // An OpenFlow 1.3 instruction list (meter, write_metadata) that OpenFlow 1.0 cannot print: a plain
  // dump-flows of OVSTunnel2048 exits 0 but stops at a decode error, hiding the table-3 flow after it.
  await ovs.ofctl('-O', 'OpenFlow13', 'add-meter', 'OVSTunnel2048', 'meter=1,pktps,band=type=drop,rate=10');
  await ovs.ofctl('-O', 'OpenFlow13', 'add-flow', 'OVSTunnel2048', 'table=1,priority=20,ip,nw_ttl=1,actions=meter:1,write_metadata:0x1/0xff,goto_table:3');
  await ovs.ofctl('add-flow', 'OVSTunnel2048', 'table=3,priority=10,ip,nw_dst=10.2.2.2,actions=drop');
  bundle = await mkdtemp(join(tmpdir(), `nd-h3-bundle-${process.pid}-`));
  await mkdir(join(bundle, 'hv-01'));
});

afterAll(async () => {
  for (const ns of [...vmNs, peerNs]) await runCommand('ip', ['netns', 'del', ns], { allowFailure: true });
  await ovs?.stop();
  if (bundle) await rm(bundle, { recursive: true, force: true });
  if (appctlBundle) await rm(appctlBundle, { recursive: true, force: true });
});

describe('OVS collector and analyzers against a real Open vSwitch', () => {
  it('polls every bridge live, retries OpenFlow 1.3, reports a failing bridge and goes on, and finds the faults from packet counters', async () => {
    const cfg = ovsConfigSchema.parse({ rundir: ovs.dir, db: `unix:${ovs.dir}/db.sock` });
    const store = new ObservationStore();
    // Some traffic before the first poll, so the priority-100 drop has counted when it is re-added.
    await runCommand('ip', ['netns', 'exec', vmNs[0]!, 'ping', '-c', '10', '-i', '0.05', '-w', '1', '-q', '10.1.1.7'], { allowFailure: true, timeoutMs: 20_000 });
    await new Promise((r) => setTimeout(r, 700));
    // Before the first poll: capture the text form too (first snapshot for the bundle).
    await capture(join(bundle, 'hv-01'), 'dump-flows-1.txt', ['dump-flows', BR]);
    const first = await pollOvs(liveCtx(store), cfg);
    expect(first.records).toBeGreaterThan(10);
    const before = store.get('ovs.flows').find((s) => s.data.bridge === BR)!.data.flows.find((f) => f.priority === 100)!;
    expect(before.packets).toBeGreaterThanOrEqual(5);
    // A controller re-adds the flow between the polls: its counter restarts from zero.
    await ovs.ofctl('--strict', 'del-flows', BR, 'priority=100,ip,nw_dst=10.1.1.7');
    await ovs.ofctl('add-flow', BR, 'priority=100,ip,nw_dst=10.1.1.7,actions=drop');
    await sendTraffic(15);
    await new Promise((r) => setTimeout(r, 1200));
    // Break one bridge's management socket: its poll fails, the others go on.
    await unlink(join(ovs.dir, 'cloudbr0.mgmt'));
    const second = await pollOvs(liveCtx(store), cfg);
    expect(second.warnings?.some((w) => w.startsWith('cloudbr0: dump-flows'))).toBe(true);
    await capture(join(bundle, 'hv-01'), 'dump-flows-2.txt', ['dump-flows', BR]);
    await writeFile(join(bundle, 'hv-01', 'ofctl-show.txt'), `# command: ovs-ofctl show ${BR}\n${await ovs.ofctl('show', BR)}`);
    await writeFile(join(bundle, 'hv-01', 'interfaces.json'), `# command: ovs-vsctl --format=json list Interface\n${await ovs.vsctl('--format=json', 'list', 'Interface')}`);
    await writeFile(join(bundle, 'hv-01', 'bridges.json'), `# command: ovs-vsctl --format=json list Bridge\n${await ovs.vsctl('--format=json', 'list', 'Bridge')}`);
    await writeFile(join(bundle, 'hv-01', 'ports.json'), `# command: ovs-vsctl --format=json list Port\n${await ovs.vsctl('--format=json', 'list', 'Port')}`);
    appctlBundle = `${bundle}-appctl`;
    await mkdir(join(appctlBundle, 'hv-01'), { recursive: true });
    await writeFile(join(appctlBundle, 'hv-01', 'ofctl-show.txt'), await readFile(join(bundle, 'hv-01', 'ofctl-show.txt')));
    // The OVSDB tables in ovs-vsctl's default list format, as sosreport saves them (no header).
    for (const t of ['Interface', 'Bridge', 'Port']) await writeFile(join(appctlBundle, 'hv-01', `ovs-vsctl_list_${t}`), await ovs.vsctl('list', t));
    await writeFile(join(appctlBundle, 'hv-01', `ovs-appctl_bridge.dump-flows_${BR}.txt`), (await runCommand('ovs-appctl', ['bridge/dump-flows', BR], { env: ovs.env })).stdout);
    await capture(join(bundle, 'hv-01'), 'dump-flows-br-int.txt', ['dump-flows', 'br-int']);
    await capture(join(bundle, 'hv-01'), 'dump-flows-OVSTunnel2048.txt', ['dump-flows', 'OVSTunnel2048']);

    const snaps = store.get('ovs.flows');
    expect(new Set(snaps.map((s) => s.data.bridge))).toEqual(new Set([BR, 'br-int', 'cloudbr0', 'OVSTunnel2048', 'br-phy']));
    expect(snaps.find((s) => s.data.bridge === 'br-int')!.data.protocol).toBe('OF1.3');
    // The decode error of the plain dump made the poll ask again in OpenFlow 1.3: the table-3 drop is there.
    const t2048 = snaps.filter((s) => s.data.bridge === 'OVSTunnel2048').pop()!;
    expect(t2048.data.protocol).toBe('OF1.3');
    expect(t2048.data.flows.find((f) => f.table === 3 && f.priority === 10)).toMatchObject({ drop: true, match: 'ip,nw_dst=10.2.2.2' });
    expect(store.get('ovs.poll_failure').some((f) => f.data.bridge === 'OVSTunnel2048')).toBe(false);
    expect(store.get('ovs.poll_failure').map((f) => `${f.data.bridge} ${f.data.command}`)).toContain('cloudbr0 dump-flows');

    const findings = analyze(store);
    const drops = findings.filter((f) => f.kind === 'flow_drop');
    const byPrio = (p: number) => drops.find((f) => f.subject.priority === p && f.subject.bridge === BR);
    const ipDrop = byPrio(100)!;
    expect(ipDrop).toBeDefined();
    expect(ipDrop.metrics.packets).toBeGreaterThanOrEqual(15);
    // Re-added: counted from zero, not as "no increase" (which would read as idle).
    expect(ipDrop.metrics).toMatchObject({ flowReAdded: true, packetsIncrease: ipDrop.metrics.packets });
    expect(ipDrop.metrics.packetsPerSecond).toBeGreaterThan(0);
    expect(ipDrop.severity).toBe('warning');
    const vmDrop = byPrio(200)!;
    expect(vmDrop.summary).toMatch(/controller has not pushed a valid flow/);
    expect(vmDrop.subject.vm).toMatchObject({ mac: '02:00:00:00:00:09', vmId: 'vm-9' });
    // The intentional IPv6 drop counted router solicitations, yet is not a finding.
    const v6 = store.get('ovs.flows').filter((s) => s.data.bridge === BR).pop()!.data.flows.find((f) => f.priority === 65000)!;
    expect(v6.packets).toBeGreaterThan(0);
    expect(byPrio(65000)).toBeUndefined();
    expect(byPrio(1000)).toBeUndefined();
    // CloudStack's tunnel-ingress drops counted real broadcast and multicast from the peer's tunnel,
    // and are still no finding; the metrics show them as intentional drops with a rate.
    const ingress = store.get('ovs.flows').filter((s) => s.data.bridge === BR).pop()!.data.flows.filter((f) => f.priority === 1000 && f.match.includes('in_port=6'));
    expect(ingress.map((f) => f.packets! > 0)).toEqual([true, true]);
    const gauges: [string, Record<string, string>, number][] = [];
    flowDrop.publish!(store, flowDrop.schema.parse({}), { inc() {}, reset() {}, set: (n, l, v) => gauges.push([n, l, v]) });
    const rate = (reason: string) => gauges.find(([n, l]) => n === 'netdiag_ovs_drop_packets_per_second' && l.bridge === BR && l.reason === reason)![2];
    expect(rate('intentional')).toBeGreaterThan(0);
    expect(rate('unexpected')).toBeGreaterThan(0);

    const outs = findings.filter((f) => f.kind === 'flow_invalid_output');
    const o99 = outs.find((f) => f.subject.port === '99')!;
    expect(o99).toMatchObject({ severity: 'critical', subject: { reason: 'absent_port', priority: 300 } });
    expect(o99.metrics.packets).toBeGreaterThanOrEqual(15);
    expect(outs.find((f) => f.subject.port === '0')).toMatchObject({ severity: 'warning', subject: { reason: 'port_zero' } });
    expect(outs.find((f) => f.subject.priority === 1100)).toBeUndefined();
    const o5 = outs.find((f) => f.subject.port === '5')!;
    expect(o5).toMatchObject({ severity: 'critical', subject: { reason: 'ofport_invalid', priority: 400 } });
    expect(o5.metrics.packets).toBeGreaterThanOrEqual(15);
    expect(o5.summary).toMatch(/t2046-3-7 \(ofport_request=5\).*File exists/);
    // bundle(...) members as the real OVS prints them: all absent is critical, one absent of two a warning.
    const dead = outs.filter((f) => f.subject.priority === 302);
    expect(dead.map((f) => [f.subject.port, f.subject.reason, f.severity])).toEqual([['97', 'absent_port', 'critical'], ['98', 'absent_port', 'critical']]);
    expect(dead[0]!.summary).toMatch(/no member of the bundle can deliver.*are being lost/);
    const half = outs.filter((f) => f.subject.priority === 303);
    expect(half.map((f) => [f.subject.port, f.subject.reason, f.severity])).toEqual([['96', 'absent_port', 'warning']]);
    expect(half[0]!.summary).toMatch(/1 of its 2 members remain/);
    expect(half[0]!.metrics.packets).toBeGreaterThanOrEqual(5);

    const tun = findings.filter((f) => f.kind === 'ovs_tunnel_error');
    expect(tun.find((f) => f.subject.port === 't2046-3-6')).toMatchObject({ subject: { reason: 'key_mismatch' }, metrics: { key: 2050, expectedKey: 2046 } });
    expect(tun.find((f) => f.subject.port === 't2046-3-7')).toMatchObject({ severity: 'critical', subject: { reason: 'interface_error' } });
    expect(tun.find((f) => f.subject.port === 't2046-3-7')!.summary).toMatch(/File exists/);
    expect(tun.find((f) => f.subject.bridge === 'OVSTunnel2048')).toMatchObject({ severity: 'info', subject: { reason: 'no_tunnel_port' } });
    expect(tun.some((f) => f.subject.port === 't2046-3-4')).toBe(false);
    expect(findings.find((f) => f.kind === 'ovs_poll_failure')).toMatchObject({ subject: { bridge: 'cloudbr0', command: 'dump-flows' } });
  });

  it('finds the same faults from the captured text (two dumps give the rate)', async () => {
    const report = await diagnose({ bundles: [bundle] });
    const types = report.inputs.map((i) => i.type).sort();
    expect(types).toEqual(['ovs-dump-flows', 'ovs-dump-flows', 'ovs-dump-flows', 'ovs-dump-flows', 'ovs-ofctl-show', 'ovs-vsctl-json', 'ovs-vsctl-json', 'ovs-vsctl-json']);
    const brInt = report.inputs.find((i) => i.path.endsWith('dump-flows-br-int.txt'))!;
    expect(brInt.warnings?.join(' ')).toMatch(/version negotiation failed/);
    const f = report.findings;
    const ipDrop = f.find((x) => x.kind === 'flow_drop' && x.subject.priority === 100)!;
    expect(ipDrop.host).toBe('hv-01');
    expect(ipDrop.metrics.packetsPerSecond).toBeGreaterThan(0);
    expect(ipDrop.metrics.flowReAdded).toBe(true);
    expect(f.find((x) => x.kind === 'flow_drop' && x.subject.priority === 200)!.summary).toMatch(/vm vm-9/);
    expect(f.find((x) => x.kind === 'flow_invalid_output' && x.subject.port === '99')).toMatchObject({ severity: 'critical', subject: { reason: 'absent_port' } });
    expect(f.find((x) => x.kind === 'ovs_tunnel_error' && x.subject.port === 't2046-3-7')).toBeDefined();
    expect(f.find((x) => x.kind === 'ovs_tunnel_error' && x.subject.port === 't2046-3-6')).toMatchObject({ subject: { reason: 'key_mismatch' } });
    expect(f.some((x) => x.kind === 'flow_drop' && (x.subject.priority === 65000 || x.subject.priority === 1000))).toBe(false);
    expect(f.find((x) => x.kind === 'flow_invalid_output' && x.subject.port === '5')).toMatchObject({ severity: 'critical', subject: { reason: 'ofport_invalid' } });
    const failures = f.filter((x) => x.kind === 'ovs_poll_failure');
    expect(failures.find((x) => x.subject.bridge === 'br-int')).toMatchObject({ subject: { command: 'dump-flows' } });
    // The OpenFlow 1.0 capture of OVSTunnel2048 stops at the decode error: flows read, the rest reported.
    expect(failures.find((x) => x.subject.bridge === 'OVSTunnel2048')).toMatchObject({ metrics: { partial: true } });
    expect(failures.find((x) => x.subject.bridge === 'OVSTunnel2048')!.summary).toMatch(/read only part of dump-flows.*OFPBAC_UNSUPPORTED_ORDER/);
    expect(report.inputs.find((i) => i.path.endsWith('dump-flows-OVSTunnel2048.txt'))!.warnings?.join(' ')).toMatch(/incomplete dump/);
  });

  it('ovs-vsctl list in the default list format gives the same rows as --format=json', async () => {
    for (const t of ['Interface', 'Bridge', 'Port']) {
      const text = parseOvsdbListText(await ovs.vsctl('list', t));
      const json = parseOvsdbList(await ovs.vsctl('--format=json', 'list', t));
      expect(text.table).toBe(t);
      const byUuid = (rows: Record<string, unknown>[]) => Object.fromEntries(rows.map((r) => [r._uuid, r]));
      expect(byUuid(text.rows)).toEqual(byUuid(json.rows));
    }
  });

  it('reads ovs-appctl bridge/dump-flows (hidden table-254 flows left out) and plain ovs-vsctl lists to the same findings', async () => {
    const key = (x: Finding) => `${x.kind} ${x.subject.table} ${x.subject.priority} ${x.subject.port ?? ''} ${x.severity}`;
    const flowKinds = (fs: Finding[]) => fs.filter((x) => x.kind === 'flow_drop' || x.kind === 'flow_invalid_output');
    const text = await readFile(join(appctlBundle, 'hv-01', `ovs-appctl_bridge.dump-flows_${BR}.txt`), 'utf8');
    expect(text).toMatch(/^table_id=254, /m);
    const viaAppctl = await diagnose({ bundles: [appctlBundle] });
    const flows = viaAppctl.inputs.find((i) => i.path.includes('ovs-appctl_bridge'))!;
    expect(flows).toMatchObject({ type: 'ovs-dump-flows' });
    expect(flows.error).toBeUndefined();
    const got = flowKinds(viaAppctl.findings);
    expect(got.every((x) => x.subject.bridge === BR && x.host === 'hv-01')).toBe(true);
    expect(got.some((x) => x.subject.table === 254)).toBe(false);
    // One dump gives no rate, so severities come from n_packets alone; the same flows are found.
    const viaOfctl = flowKinds((await diagnose({ bundles: [bundle] })).findings).filter((x) => x.subject.bridge === BR);
    expect(new Set(got.map((x) => key(x).replace(/ \w+$/, '')))).toEqual(new Set(viaOfctl.map((x) => key(x).replace(/ \w+$/, ''))));
    expect(got.find((x) => x.kind === 'flow_invalid_output' && x.subject.port === '99')).toMatchObject({ severity: 'critical', subject: { priority: 300, reason: 'absent_port' } });
    expect(got.find((x) => x.kind === 'flow_invalid_output' && x.subject.port === '5')).toMatchObject({ subject: { reason: 'ofport_invalid' } });
    expect(viaAppctl.inputs.filter((i) => i.type === 'ovs-vsctl-list').map((i) => i.error)).toEqual([undefined, undefined, undefined]);
    const tunnels = (fs: Finding[]) => fs.filter((x) => x.kind === 'ovs_tunnel_error').map((x) => `${x.subject.bridge} ${x.subject.port ?? ''} ${x.subject.reason}`).sort();
    expect(tunnels(viaAppctl.findings)).toEqual(tunnels((await diagnose({ bundles: [bundle] })).findings));
  });

  it('without the Bridge table (and its protocols column) it still reads an OpenFlow13-only bridge by retrying, and reports the failed table', async () => {
    const cfg = ovsConfigSchema.parse({ rundir: ovs.dir, db: `unix:${ovs.dir}/db.sock`, bridges: ['br-int', 'OVSTunnel2048'] });
    const store = new ObservationStore();
    const calls: string[] = [];
    // The real runner, except that `list Bridge` fails as an unreadable OVSDB table would.
    const exec: Exec = async (file, args, opts) => {
      calls.push([file, ...args].join(' '));
      if (args.includes('list') && args.includes('Bridge')) throw new NetdiagError('E_EXEC', `${file} ${args.join(' ')} failed: simulated`);
      return runCommand(file, args, opts);
    };
    const st = await pollOvs({ ...liveCtx(store), exec }, cfg);
    expect(calls.filter((c) => / dump-flows br-int$/.test(c))).toEqual(['ovs-ofctl dump-flows br-int', 'ovs-ofctl -O OpenFlow13 dump-flows br-int']);
    expect(calls.filter((c) => / dump-flows OVSTunnel2048$/.test(c))).toEqual(['ovs-ofctl dump-flows OVSTunnel2048', 'ovs-ofctl -O OpenFlow13 dump-flows OVSTunnel2048']);
    expect(store.get('ovs.flows').map((s) => [s.data.bridge, s.data.protocol]).sort()).toEqual([['OVSTunnel2048', 'OF1.3'], ['br-int', 'OF1.3']]);
    expect(store.get('ovs.portmap').map((s) => s.data.bridge).sort()).toEqual(['OVSTunnel2048', 'br-int']);
    expect(store.get('ovs.poll_failure').map((f) => f.data.command)).toEqual(['list Bridge']);
    expect(st.warnings).toEqual([expect.stringMatching(/^list Bridge: E_EXEC: .*simulated/)]);
    expect(store.get('ovs.interface').length).toBeGreaterThan(5);
  });
});
