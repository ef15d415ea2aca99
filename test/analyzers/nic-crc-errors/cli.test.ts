import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { netdiag, ROOT } from '../../helpers/cli.js';

// Needs dist/ (npm run build / `npx tsc -p tsconfig.json`), as every CLI test.

describe('netdiag diagnose --bundle with ethtool snapshots of a failing NIC', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('reports nic_crc_errors critical with the right numbers for the shipped hv-02 example (exit 2)', async () => {
    const r = await netdiag(['diagnose', '--bundle', join(ROOT, 'examples', 'bundle'), '--format', 'json']);
    expect(r.code).toBe(2);
    const report = JSON.parse(r.stdout);
    const f = report.findings.find((x: { kind: string; subject: { interface: string } }) => x.kind === 'nic_crc_errors' && x.subject.interface === 'eno1');
    expect(f).toMatchObject({ severity: 'critical', host: 'hv-02', subject: { interface: 'eno1', bond: 'bond0' } });
    expect(f.metrics).toMatchObject({ crcErrors: 1843, windowSeconds: 300, rxPackets: 41_250_000, source: 'ethtool', counter: 'rx_crc_errors', driver: 'ixgbe' });
    expect(f.metrics.ratePerSecond).toBeCloseTo(1843 / 300, 3);
    expect(f.summary).toContain('1,843 CRC/FCS errors in 300 s');
    const inputs = report.inputs.filter((i: { host: string }) => i.host === 'hv-02');
    expect(inputs.map((i: { type: string }) => i.type)).toEqual(expect.arrayContaining(['ethtool-stats', 'ip-link-stats']));
  });

  it('gives a warning (exit 1) for a slower rise and ok (exit 0) when the total is static, from files without headers', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nd-nic-cli-'));
    dirs.push(dir);
    const src = await readFile(join(ROOT, 'test', 'fixtures', 'nic', 'ethtool', 'tg3-eno4.txt'), 'utf8');
    const body = src.replace(/^#.*\n/gm, '');
    const write = async (host: string, name: string, crc: number, mtime: Date, ucast = 880211) => {
      await mkdir(join(dir, host), { recursive: true });
      const p = join(dir, host, name);
      await writeFile(p, body.replace(/rx_fcs_errors: \d+/, `rx_fcs_errors: ${crc}`).replace(/rx_ucast_packets: \d+/, `rx_ucast_packets: ${ucast}`));
      const { utimes } = await import('node:fs/promises');
      await utimes(p, mtime, mtime); // no collected-at header: the time is the file's mtime
    };
    const t0 = new Date('2026-11-20T10:00:00Z');
    const t1 = new Date('2026-11-20T10:05:00Z');
    await write('hv-01', 'ethtool-S-eno4.1.txt', 61, t0);
    await write('hv-01', 'ethtool-S-eno4.2.txt', 91, t1, 880211 + 2_000_000); // 30 in 5 min, 0.0015 % of frames
    let r = await netdiag(['diagnose', '--bundle', dir, '--format', 'json']);
    expect(r.code).toBe(1);
    let f = JSON.parse(r.stdout).findings.find((x: { kind: string }) => x.kind === 'nic_crc_errors');
    expect(f).toMatchObject({ severity: 'warning', host: 'hv-01', subject: { interface: 'eno4' }, metrics: { crcErrors: 30, rxPackets: 2_000_000, counter: 'rx_fcs_errors', driver: 'tg3' } });

    await write('hv-01', 'ethtool-S-eno4.2.txt', 61, t1);
    r = await netdiag(['diagnose', '--bundle', dir, '--format', 'json']);
    expect(r.code).toBe(0);
    f = JSON.parse(r.stdout).findings.find((x: { kind: string }) => x.kind === 'nic_crc_errors');
    expect(f).toMatchObject({ severity: 'info', metrics: { crcErrors: 0, totalCrcErrors: 61 } });
  });

  it('lists a broken ethtool capture with its error and goes on with the rest', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nd-nic-cli-'));
    dirs.push(dir);
    await mkdir(join(dir, 'hv-02'));
    await writeFile(join(dir, 'hv-02', 'ethtool-S-eno7.txt'), '# command: ethtool -S eno7\nCannot get stats strings information: No such device\n');
    await copyFile(join(ROOT, 'examples', 'bundle', 'hv-02', 'ethtool-S-eno1.1.txt'), join(dir, 'hv-02', 'a.txt'));
    await copyFile(join(ROOT, 'examples', 'bundle', 'hv-02', 'ethtool-S-eno1.2.txt'), join(dir, 'hv-02', 'b.txt'));
    const r = await netdiag(['diagnose', '--bundle', dir, '--format', 'json']);
    expect(r.code).toBe(2);
    const report = JSON.parse(r.stdout);
    expect(report.inputs.find((i: { path: string }) => i.path.endsWith('eno7.txt')).error).toMatch(/E_INPUT_PARSE: .*ethtool-S-eno7.txt: ethtool reported an error/);
    expect(report.findings.some((x: { kind: string; severity: string }) => x.kind === 'nic_crc_errors' && x.severity === 'critical')).toBe(true);
  });
});
