/**
 * `netdiag collect` on a real Open vSwitch (in a namespace the harness made), a fixture sysfs tree,
 * a log directory with a rotated set, and a real tcpdump on loopback while the test sends a few
 * VXLAN-port datagrams to 127.0.0.1; then `netdiag diagnose` reads the bundle back.
 */
import { createSocket } from 'node:dgram';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { netdiag } from '../helpers/cli.js';
import { type OvsLab, startOvs } from '../helpers/ovs.js';

const FIX = join(__dirname, '..', 'fixtures');
let ovs: OvsLab;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), `nd-collect-${process.pid}-`));
  ovs = await startOvs('collect');
  await ovs.vsctl('add-br', 'OVSTunnel2046', '--', 'set', 'Bridge', 'OVSTunnel2046', 'datapath_type=netdev', 'other_config:gre_key=2046');
  await ovs.vsctl('add-port', 'OVSTunnel2046', 't2046-3-4', '--', 'set', 'Interface', 't2046-3-4', 'type=gre', 'options:key=2046', 'options:remote_ip=192.0.2.12', 'ofport_request=1');
  await ovs.ofctl('add-flow', 'OVSTunnel2046', 'priority=300,ip,nw_dst=10.1.1.5,actions=output:99');
  // An OpenFlow 1.3-only bridge: collect must ask it in 1.3.
  await ovs.vsctl('add-br', 'br-int', '--', 'set', 'Bridge', 'br-int', 'datapath_type=netdev', 'protocols=OpenFlow13');
  await ovs.ofctl('-O', 'OpenFlow13', 'add-flow', 'br-int', 'table=0,priority=10,ip,nw_dst=10.9.9.9,actions=drop');
}, 60_000);

afterAll(async () => {
  await ovs?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('netdiag collect', () => {
  it('captures OVS, NIC counters twice, the logs and a short capture in the layout diagnose reads', async () => {
    const logs = join(dir, 'var-log');
    await mkdir(logs);
    const current = join(logs, 'management-server.log');
    await copyFile(join(FIX, 'cloudstack-log', 'cases', 'log4j1-conflict-burst', 'input', 'mgmt-01', 'management-server.log'), current);
    await writeFile(join(logs, 'management-server.log.2026-11-22.gz'), gzipSync('2026-11-22 01:00:00,000 INFO  [c.c.s.ManagementServerImpl] (main:null) (logid:) started\n'));
    const old = join(logs, 'management-server.log.2026-10-01.gz');
    await writeFile(old, gzipSync('old\n'));
    await utimes(old, new Date('2026-10-02T00:00:00Z'), new Date('2026-10-02T00:00:00Z'));

    const out = join(dir, 'bundle');
    const sender = createSocket('udp4');
    const sending = setInterval(() => sender.send(Buffer.alloc(64), 4789, '127.0.0.1'), 100);
    let r;
    try {
      r = await netdiag([
        'collect', '--out', out, '--host', 'hv-01', '--interval', '2',
        '--ovs-rundir', ovs.dir, '--ovs-db', `unix:${ovs.dir}/db.sock`,
        '--sys-root', join(FIX, 'nic', 'sysfs'),
        '--log', current,
        '--capture', 'lo', '--capture-seconds', '3', '--capture-packets', '10',
      ]);
    } finally {
      clearInterval(sending);
      sender.close();
    }
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/hv-01: \d+ file\(s\) collected/);
    expect(r.stdout).toContain(`netdiag diagnose --bundle ${out}`);

    const files = (await readdir(join(out, 'hv-01'))).sort();
    expect(files).toEqual(
      expect.arrayContaining([
        'MANIFEST.json', 'logs', 'nic-sysfs.1.txt', 'nic-sysfs.2.txt', 'ovs-vsctl-list-bridge.json', 'ovs-vsctl-list-interface.json', 'ovs-vsctl-list-interface.2.json', 'ovs-vsctl-list-port.json', 'ovs-vsctl-show.txt',
        'ovs-ofctl-show-OVSTunnel2046.txt', 'ovs-ofctl-show-br-int.txt', 'ovs-ofctl-dump-flows-OVSTunnel2046.1.txt', 'ovs-ofctl-dump-flows-OVSTunnel2046.2.txt',
        'ovs-ofctl-dump-flows-br-int.1.txt', 'ovs-ofctl-dump-flows-br-int.2.txt', 'tcpdump-lo.pcap',
      ]),
    );
    expect((await readdir(join(out, 'hv-01', 'logs'))).sort()).toEqual(['management-server.log', 'management-server.log.2026-11-22.gz']);
    expect(await readFile(join(out, 'hv-01', 'ovs-ofctl-dump-flows-br-int.1.txt'), 'utf8')).toMatch(/^# command: ovs-ofctl -O OpenFlow13 dump-flows br-int\n# collected-at: /);
    const manifest = JSON.parse(await readFile(join(out, 'hv-01', 'MANIFEST.json'), 'utf8'));
    expect(manifest).toMatchObject({ schema: 'netdiag.bundle/v1', host: 'hv-01', intervalSeconds: 2 });
    // The fixture NICs do not exist here: ethtool fails for them, noted, and the rest is collected.
    expect(manifest.problems.some((p: string) => /ethtool -S eno1/.test(p))).toBe(true);
    expect(manifest.files.map((f: { path: string }) => f.path)).toContain('tcpdump-lo.pcap');

    const d = await netdiag(['diagnose', '--bundle', out, '--format', 'json']);
    const report = JSON.parse(d.stdout);
    const errors = report.inputs.filter((i: { error?: string }) => i.error);
    expect(errors).toEqual([]);
    const types = new Set(report.inputs.map((i: { type: string }) => i.type));
    for (const t of ['ovs-dump-flows', 'ovs-ofctl-show', 'ovs-vsctl-json', 'ovs-vsctl-show', 'sysfs-net-dump', 'cloudstack-log', 'pcap']) expect(types, t).toContain(t);
    expect(report.inputs.find((i: { path: string }) => i.path.endsWith('tcpdump-lo.pcap')).records).toBeGreaterThan(0);
    const kinds = report.findings.map((f: { kind: string; subject: Record<string, unknown> }) => `${f.kind} ${f.subject.bridge ?? f.subject.interface ?? f.subject.managementServer ?? ''}`);
    expect(kinds).toContain('flow_invalid_output OVSTunnel2046');
    expect(kinds).toContain('nvp_api_exception_burst hv-01');
    expect(kinds).toContain('nic_crc_errors eno1');
    expect(report.findings.every((f: { host?: string }) => f.host === 'hv-01')).toBe(true);
  }, 120_000);

  it('on the live kernel (/sys) also saves ip -d link details, which diagnose reads with the sysfs counters', async () => {
    const out = join(dir, 'live-nic');
    const r = await netdiag(['collect', '--out', out, '--host', 'hv-03', '--interval', '1', '--no-ovs', '--no-logs']);
    expect(r.code, r.stderr).toBe(0);
    const files = await readdir(join(out, 'hv-03'));
    expect(files).toEqual(expect.arrayContaining(['ip-link.1.json', 'ip-link.2.json', 'nic-sysfs.1.txt', 'nic-sysfs.2.txt']));
    expect(await readFile(join(out, 'hv-03', 'ip-link.1.json'), 'utf8')).toMatch(/^# command: ip -j -d -s -s link show\n# collected-at: [^\n]+\n\[/);
    const d = await netdiag(['diagnose', '--bundle', out, '--format', 'json']);
    const report = JSON.parse(d.stdout) as { inputs: { path: string; type: string; records: number; error?: string }[] };
    expect(report.inputs.filter((i) => i.error)).toEqual([]);
    const ipLink = report.inputs.filter((i) => i.type === 'ip-link-stats');
    expect(ipLink).toHaveLength(2);
    expect(ipLink.every((i) => i.records >= 1)).toBe(true); // at least lo
  }, 60_000);

  it('refuses to mix two runs in one directory, and says so', async () => {
    const out = join(dir, 'again');
    await mkdir(join(out, 'hv-02'), { recursive: true });
    await writeFile(join(out, 'hv-02', 'x.txt'), 'x');
    const r = await netdiag(['collect', '--out', out, '--host', 'hv-02', '--no-ovs', '--no-nic', '--no-logs']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/hv-02 already holds files/);
    const bad = await netdiag(['collect', '--out', out, '--host', '../etc', '--no-ovs']);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/cannot name a bundle directory/);
  });
});
