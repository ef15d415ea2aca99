/**
 * The sysfs counters as admins actually hand them over: `grep -r`, `grep -H`, `head`, an echo loop,
 * one interface's `grep . *` without the interface in the path, and copied interface directories in
 * a bundle. The text forms are made here by running the real grep/head on a fixture tree.
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSysfsDump, sysfsInterfaceHint, sysfsSnapshots } from '../../../collectors/nic/parse.js';
import { readSysfsTree } from '../../../collectors/nic/sysfs.js';
import { runCommand } from '../../../core/exec.js';
import { memoryInput } from '../../../core/input.js';
import { recognise } from '../../../engine/pipeline.js';
import { netdiag } from '../../helpers/cli.js';

const FIX = join(__dirname, '..', '..', 'fixtures', 'nic', 'sysfs');
const NET = join(FIX, 'class', 'net');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), `nd-sysfs-forms-${process.pid}-`));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The counters of one interface as the reference reader (the tree walker) sees them. */
async function truth(name: string): Promise<Map<string, number>> {
  return (await readSysfsTree(FIX, (n) => n === name)).interfaces.get(name)!.statistics;
}

describe('sysfs statistics dumps in the forms admins make them', () => {
  it('grep -r over every interface: all interfaces, counters and plain attributes read, by content', async () => {
    const { stdout } = await runCommand('grep', ['-r', '.', NET]);
    expect(recognise(memoryInput('grep-r.txt', stdout))?.type).toBe('sysfs-net-dump');
    const { interfaces, skipped } = parseSysfsDump(stdout);
    expect(skipped).toEqual([]);
    const all = await readSysfsTree(FIX);
    expect([...interfaces.keys()].sort()).toEqual([...all.interfaces.keys()].sort());
    expect(interfaces.get('eno1')!.statistics).toEqual(all.interfaces.get('eno1')!.statistics);
    expect(interfaces.get('eno1')!.attrs.get('mtu')).toBe(all.interfaces.get('eno1')!.attrs.get('mtu'));
  });

  it('grep -H, head and an echo loop over one interface give the same counters', async () => {
    const stats = join(NET, 'eno1', 'statistics');
    const files = (await readSysfsTree(FIX, (n) => n === 'eno1')).interfaces.get('eno1')!.statistics;
    const paths = [...files.keys()].map((k) => join(stats, k));
    const grepH = (await runCommand('grep', ['-H', '.', ...paths])).stdout;
    const head = (await runCommand('head', paths)).stdout;
    const echo = paths.map((p, i) => `${p} ${[...files.values()][i]}`).join('\n');
    const want = await truth('eno1');
    for (const [name, text] of [['grep -H', grepH], ['head', head], ['echo', echo]] as const) {
      expect(recognise(memoryInput(`${name}.txt`, text))?.type, name).toBe('sysfs-net-dump');
      const { interfaces, skipped } = parseSysfsDump(text);
      expect(skipped, name).toEqual([]);
      expect([...interfaces.keys()], name).toEqual(['eno1']);
      expect(interfaces.get('eno1')!.statistics, name).toEqual(want);
    }
  });

  it('one interface without its name in the paths: the interface comes from # command: or the file name', async () => {
    const names = [...(await truth('eno1')).keys()];
    const { stdout } = await promisify(execFile)('grep', ['.', ...names], { cwd: join(NET, 'eno1', 'statistics') });
    expect(stdout).toMatch(/^rx_crc_errors:1795$/m);
    expect(recognise(memoryInput('x.txt', stdout))?.type).toBe('sysfs-net-dump');
    expect(sysfsInterfaceHint('grep . /sys/class/net/eno1/statistics/*', 'x.txt')).toBe('eno1');
    expect(sysfsInterfaceHint(undefined, '/b/hv-01/sysfs-statistics-ens1f0np0.2.txt')).toBe('ens1f0np0');
    expect(sysfsInterfaceHint(undefined, '/b/hv-01/counters.txt')).toBeUndefined();
    expect(parseSysfsDump(stdout, 'eno1').interfaces.get('eno1')!.statistics).toEqual(await truth('eno1'));

    const bundle = join(dir, 'nameless');
    await mkdir(join(bundle, 'hv-01'), { recursive: true });
    await writeFile(join(bundle, 'hv-01', 'counters.txt'), stdout);
    await writeFile(join(bundle, 'hv-01', 'stats-eno1.txt'), stdout);
    const r = await netdiag(['diagnose', '--bundle', bundle, '--format', 'json']);
    const report = JSON.parse(r.stdout);
    const input = (name: string) => report.inputs.find((i: { path: string }) => i.path.endsWith(name));
    expect(input('counters.txt').error).toMatch(/neither a "# command:" line nor the file name names the interface/);
    expect(input('stats-eno1.txt')).toMatchObject({ type: 'sysfs-net-dump', records: 1, host: 'hv-01' });
    expect(input('stats-eno1.txt').error).toBeUndefined();
  });

  it('lines that are no sysfs attribute are counted and the rest is read', () => {
    const { interfaces, skipped } = parseSysfsDump('/sys/class/net/eth0/statistics/rx_crc_errors:7\ngrep: /sys/class/net/eth0/statistics: Is a directory\nwhatever\n/sys/class/net/eth0/statistics/rx_packets:many\n');
    expect(interfaces.get('eth0')!.statistics).toEqual(new Map([['rx_crc_errors', 7]]));
    expect(skipped).toHaveLength(3);
  });
});

describe('copied interface directories in a bundle', () => {
  it('each copy is one input; two copies an hour apart give the CRC increase and rate', async () => {
    const bundle = join(dir, 'tree');
    const before = join(bundle, 'hv-01', 'before', 'sys', 'class', 'net', 'eno1');
    const after = join(bundle, 'hv-01', 'after', 'sys', 'class', 'net', 'eno1');
    await cp(join(NET, 'eno1'), before, { recursive: true });
    await cp(join(NET, 'eno1'), after, { recursive: true });
    const crc = Number(await readFile(join(NET, 'eno1', 'statistics', 'rx_crc_errors'), 'utf8'));
    await writeFile(join(after, 'statistics', 'rx_crc_errors'), `${crc + 360}\n`);
    const t0 = new Date('2026-11-20T03:00:00Z');
    const t1 = new Date('2026-11-20T04:00:00Z');
    for (const [d, t] of [[before, t0], [after, t1]] as const) {
      for (const f of Object.keys(Object.fromEntries(await truth('eno1')))) await utimes(join(d, 'statistics', f), t, t);
    }
    const r = await netdiag(['diagnose', '--bundle', bundle, '--format', 'json']);
    const report = JSON.parse(r.stdout);
    expect(report.inputs.map((i: { path: string; type: string; records: number; host: string }) => [i.path.slice(bundle.length), i.type, i.records, i.host])).toEqual([
      ['/hv-01/after/sys/class/net/eno1', 'sysfs-net-dump', 1, 'hv-01'],
      ['/hv-01/before/sys/class/net/eno1', 'sysfs-net-dump', 1, 'hv-01'],
    ]);
    const f = report.findings.find((x: { kind: string }) => x.kind === 'nic_crc_errors');
    expect(f).toMatchObject({ host: 'hv-01', subject: { interface: 'eno1' }, metrics: { crcErrors: 360 } });
    expect(f.metrics.ratePerSecond).toBeCloseTo(0.1, 5);
  });

  it('the live /sys/class/net/lo given as an input is read as one interface', async () => {
    const r = await netdiag(['diagnose', '/sys/class/net/lo', '--format', 'json']);
    const report = JSON.parse(r.stdout);
    expect(report.inputs).toHaveLength(1);
    expect(report.inputs[0]).toMatchObject({ path: '/sys/class/net/lo', type: 'sysfs-net-dump', records: 1 });
    expect(report.inputs[0].error).toBeUndefined();
    const snap = sysfsSnapshots(parseSysfsDump(`lo/statistics/rx_packets 1\nlo/type 772\n`).interfaces)[0]!.snapshot;
    expect(snap.class).toBe('loopback');
  });
});
