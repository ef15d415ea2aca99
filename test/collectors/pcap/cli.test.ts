import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { netdiag, ROOT } from '../../helpers/cli.js';

// Needs dist/ (`npx tsc -p tsconfig.json`), as every CLI test.
const CAPTURE = join(ROOT, 'examples', 'bundle', 'hv-01', 'tcpdump-i-eth1-underlay.pcap');

interface F { kind: string; severity: string; host?: string; subject: { tunnel: { type: string; key?: number; src: string; dst: string } }; metrics: Record<string, number> }

describe('netdiag diagnose with captures', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('the shipped hv-01 captures give mtu_fragmentation for VXLAN 42 and GRE key 42 (fragments) and VXLAN 4343 (frag-needed)', async () => {
    const r = await netdiag(['diagnose', '--bundle', join(ROOT, 'examples', 'bundle'), '--format', 'json']);
    expect(r.code).toBe(2);
    const report = JSON.parse(r.stdout) as { inputs: { path: string; type: string; host?: string; error?: string }[]; findings: F[] };
    const caps = report.inputs.filter((i) => i.type === 'pcap');
    expect(caps).toHaveLength(2);
    expect(caps.every((i) => i.host === 'hv-01' && !i.error)).toBe(true);
    const mtu = report.findings.filter((f) => f.kind === 'mtu_fragmentation');
    const find = (type: string, key: number, src: string) => mtu.find((f) => f.subject.tunnel.type === type && f.subject.tunnel.key === key && f.subject.tunnel.src === src);
    const vx = find('vxlan', 42, '10.98.1.1')!;
    expect(vx).toMatchObject({ severity: 'warning', host: 'hv-01', metrics: { recommendedMtu: 1450, largestPacket: 1550 } });
    expect(vx.metrics.fragments).toBeGreaterThan(0);
    const gre = find('gre', 42, '10.98.1.1')!;
    expect(gre.metrics).toMatchObject({ recommendedMtu: 1458, overhead: 42 });
    const df = find('vxlan', 4343, '10.98.1.1')!;
    expect(df).toMatchObject({ severity: 'critical', metrics: { icmpFragNeeded: 1, recommendedMtu: 1350 } });
  });

  it('a capture cut mid-record: what was readable is analysed, the input error names the file and the offset', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nd-pcap-cli-'));
    dirs.push(dir);
    const full = await readFile(CAPTURE);
    const cut = join(dir, 'cut.pcap');
    await writeFile(cut, full.subarray(0, Math.floor(full.length * 0.6)));
    const r = await netdiag(['diagnose', cut, '--format', 'json']);
    const report = JSON.parse(r.stdout) as { inputs: { path: string; error?: string }[]; findings: F[] };
    expect(report.inputs[0]!.error).toMatch(new RegExp(`capture ${cut.replace(/[.]/g, '\\.')}: file ends inside a packet record .* at byte offset \\d+ \\(after \\d+ packets\\)`));
    expect(report.findings.some((f) => f.kind === 'mtu_fragmentation')).toBe(true);
    expect(r.code).toBe(1); // warning findings from the readable part
  });
});
