import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..', '..');

// Needs `npx tsc -p tsconfig.json` first (dist/).
describe('netdiag diagnose --bundle on captured OVS output', () => {
  it('reports the unexpected drop, the output to a missing port and the tunnel error of the example bundle', async () => {
    let stdout = '';
    let code = 0;
    try {
      stdout = (await run('node', [join(ROOT, 'bin', 'netdiag.js'), 'diagnose', '--bundle', join(ROOT, 'examples', 'bundle'), '--format', 'json'], { maxBuffer: 64 << 20 })).stdout;
    } catch (e) {
      ({ stdout, code } = e as { stdout: string; code: number });
    }
    expect(code).toBe(2);
    const report = JSON.parse(stdout) as { inputs: { path: string; type: string; error?: string }[]; findings: { kind: string; host?: string; severity: string; subject: Record<string, unknown>; metrics: Record<string, unknown> }[] };
    const ovsInputs = report.inputs.filter((i) => i.type.startsWith('ovs-'));
    expect(ovsInputs.length).toBeGreaterThanOrEqual(9);
    expect(ovsInputs.filter((i) => i.error)).toEqual([]);
    const drop = report.findings.find((f) => f.kind === 'flow_drop' && f.host === 'hv-01')!;
    expect(drop.subject).toMatchObject({ bridge: 'OVSTunnel2046', table: 0, priority: 100, match: 'ip,nw_dst=10.1.1.20', actions: 'drop' });
    expect(drop.metrics).toMatchObject({ packets: 60, bytes: 5880 });
    expect(drop.metrics.packetsPerSecond).toBeGreaterThan(0);
    expect(report.findings.filter((f) => f.kind === 'flow_drop')).toHaveLength(1); // the tunnel-ingress drops are CloudStack's own
    expect(report.findings.find((f) => f.kind === 'flow_invalid_output')).toMatchObject({ host: 'hv-01', severity: 'critical', subject: { port: '7', reason: 'absent_port' }, metrics: { packets: 20 } });
    expect(report.findings.find((f) => f.kind === 'ovs_tunnel_error')).toMatchObject({ host: 'hv-02', subject: { port: 't2046-4-3', reason: 'interface_error' } });
  });
});
