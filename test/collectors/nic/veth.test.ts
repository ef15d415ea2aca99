/**
 * Real interfaces: a veth pair whose one end stays in the root namespace (so /sys/class/net shows
 * it to this process) and whose peer lives in a namespace this test creates. Bounded ICMP traffic
 * flows between them while the live collector reads the real sysfs counters and ethtool -S.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../../core/exec.js';
import { ObservationStore } from '../../../core/observation.js';
import { nullLogger, nullMetrics, type LiveContext } from '../../../core/plugin.js';
import { analyzeNicCrc, nicCrcConfigSchema } from '../../../analyzers/nic-crc-errors/analyze.js';
import { createNicCollector, nicConfigSchema } from '../../../collectors/nic/index.js';
import { readSysfsTree } from '../../../collectors/nic/sysfs.js';
import { parseIpLinkJson, sysfsSnapshots } from '../../../collectors/nic/parse.js';
import { netdiag } from '../../helpers/cli.js';

const run = promisify(execFile);
const pid = process.pid;
const NS = `ndnic${pid}`;
const A = `vnic${pid}a`.slice(0, 15); // root side
const B = `vnic${pid}b`.slice(0, 15); // namespace side
// A /30 in the shared address space (RFC 6598), derived from the pid so parallel runs do not clash.
const net = `100.${64 + ((pid >> 8) % 64)}.${pid % 256}`;
const IP_A = `${net}.1`;
const IP_B = `${net}.2`;

async function sh(cmd: string, ...args: string[]) {
  return run(cmd, args, { timeout: 20_000 });
}

describe('NIC counters on real veth interfaces', () => {
  beforeAll(async () => {
    await sh('ip', 'netns', 'add', NS);
    await sh('ip', 'link', 'add', A, 'type', 'veth', 'peer', 'name', B);
    await sh('ip', 'link', 'set', B, 'netns', NS);
    await sh('ip', 'addr', 'add', `${IP_A}/30`, 'dev', A);
    await sh('ip', 'link', 'set', A, 'up');
    await sh('ip', '-n', NS, 'addr', 'add', `${IP_B}/30`, 'dev', B);
    await sh('ip', '-n', NS, 'link', 'set', B, 'up');
    await sh('ip', '-n', NS, 'link', 'set', 'lo', 'up');
  });

  afterAll(async () => {
    await sh('ip', 'link', 'del', A).catch(() => undefined);
    await sh('ip', 'netns', 'del', NS).catch(() => undefined);
  });

  it('reads rising rx/tx packets from /sys while pings flow, classifies the veth and finds no CRC problem', async () => {
    const store = new ObservationStore();
    const ctx: LiveContext = {
      emit: (o) => store.add(o),
      metrics: nullMetrics,
      log: nullLogger,
      exec: runCommand,
      host: 'test-host',
      roots: { sys: '/sys', proc: '/proc' },
      now: Date.now,
    };
    // Only our interface, and with ip -j -s -s link as well: the collector's real commands run.
    const cfg = nicConfigSchema.parse({ include: `^${A}$`, exclude: '^$', ipLink: true, counterClasses: ['physical', 'bond_member', 'veth'] });
    const nic = createNicCollector();

    const before = await nic.poll!(ctx, cfg, new AbortController().signal);
    expect(before.warnings ?? []).toEqual([]);
    await sh('ping', '-c', '30', '-i', '0.01', '-W', '2', '-I', A, IP_B);
    const after = await nic.poll!(ctx, cfg, new AbortController().signal);
    expect(after.warnings ?? []).toEqual([]);

    const links = store.get('net.link').filter((o) => o.data.interface === A);
    expect(links).toHaveLength(2);
    expect(links.every((l) => l.data.class === 'veth')).toBe(true);
    expect(links[0]!.data.mtu).toBe(1500);
    // The live collector's sysfs snapshots rose by at least the 30 echo requests and 30 replies.
    const sys = store.get('nic.counters').filter((o) => o.data.interface === A && o.data.source === 'sysfs');
    expect(sys).toHaveLength(2);
    expect(sys[0]!.data.class).toBe('veth');
    const [s0, s1] = sys.map((s) => s.data.counters);
    expect(s1!.tx_packets! - s0!.tx_packets!).toBeGreaterThanOrEqual(30);
    expect(s1!.rx_packets! - s0!.rx_packets!).toBeGreaterThanOrEqual(30);
    expect(s1!.crc_errors).toBe(0);
    expect(s1!.carrier_changes).toBeTypeOf('number');
    // ip -j -s -s link (netlink) agrees: same interface, rising too.
    const ipl = store.get('nic.counters').filter((o) => o.data.interface === A && o.data.source === 'ip-link');
    expect(ipl).toHaveLength(2);
    expect(ipl[1]!.data.counters.rx_packets! - ipl[0]!.data.counters.rx_packets!).toBeGreaterThanOrEqual(30);

    // The raw sysfs statistics read directly agree with ip's netlink view.
    const tree = await readSysfsTree('/sys', (n) => n === A);
    const direct = sysfsSnapshots(tree.interfaces)[0]!.snapshot;
    expect(direct.class).toBe('veth');
    expect(direct.counters.tx_packets!).toBeGreaterThanOrEqual(s1!.tx_packets!);
    expect(direct.counters.crc_errors).toBe(0);

    // A real ethtool -S on the veth: its driver is recognised and it has no CRC counter.
    const eth = await runCommand('ethtool', ['-S', A]);
    expect(eth.stdout).toMatch(/peer_ifindex: \d+/);

    expect(analyzeNicCrc(store, nicCrcConfigSchema.parse({}))).toEqual([]);
  });

  it('runs inside the namespace too (ip netns exec sees the namespace sysfs)', async () => {
    // Same reader, other mount: sysfs inside `ip netns exec` lists the namespace's interfaces.
    const r = await sh('ip', 'netns', 'exec', NS, 'cat', `/sys/class/net/${B}/statistics/rx_packets`);
    expect(Number(r.stdout.trim())).toBeGreaterThanOrEqual(30);
  });

  it('a VXLAN device made with `dev` names its underlay: ip -j -d link read back by diagnose gives an mtu_mismatch on that parent when it was lowered under the tunnel', async () => {
    const VX = `vx${pid}`.slice(0, 15);
    // The kernel refuses a VXLAN MTU above its parent's minus 50, but keeps it when the parent is
    // lowered later — the real way this mismatch happens (an underlay changed under the overlay).
    await sh('ip', '-n', NS, 'link', 'set', B, 'mtu', '1600');
    await sh('ip', '-n', NS, 'link', 'add', VX, 'type', 'vxlan', 'id', '1001', 'remote', '192.0.2.9', 'dstport', '4789', 'dev', B);
    await sh('ip', '-n', NS, 'link', 'set', B, 'mtu', '1500');
    const out = (await sh('ip', '-n', NS, '-j', '-d', '-s', '-s', 'link', 'show')).stdout;
    const vx = parseIpLinkJson(out).links.find((l) => l.interface === VX)!;
    expect(vx).toMatchObject({ class: 'tunnel', parent: B, mtu: 1550, tunnel: { type: 'vxlan', id: 1001, remote: '192.0.2.9', dstPort: 4789 } });

    const dir = mkdtempSync(join(tmpdir(), 'nd-vxparent-'));
    try {
      writeFileSync(join(dir, 'ip-link.json'), `# command: ip -j -d -s -s link show\n${out}`);
      const { stdout } = await netdiag(['diagnose', join(dir, 'ip-link.json'), '--format', 'json']);
      const f = (JSON.parse(stdout) as { findings: { kind: string; subject: { interface?: string }; evidence: { excerpt: string }[] }[] }).findings.find((x) => x.kind === 'mtu_mismatch' && x.subject.interface === B);
      expect(f).toBeDefined();
      expect((f as unknown as { summary: string }).summary).toContain(`${VX} (VXLAN 1001) with MTU 1550 needs 1600`);
      expect(JSON.stringify(f!.evidence)).toContain(`${B}: mtu=1500 (the tunnel's parent device)`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
