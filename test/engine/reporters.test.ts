import { describe, expect, it } from 'vitest';
import { makeFinding } from '../../core/finding.js';
import { renderReport } from '../../cli/output.js';
import type { Report } from '../../engine/pipeline.js';
import { netdiag, ROOT } from '../helpers/cli.js';
import { join } from 'node:path';

const hostile = '<script>alert(1)</script> & "quotes"';
const report: Report = {
  schema: 'netdiag.report/v1',
  generatedAt: '2026-11-23T00:00:00.000Z',
  status: 'critical',
  inputs: [{ path: `/tmp/${hostile}`, type: 'unknown', records: 0, error: hostile }],
  findings: [
    makeFinding({ kind: 'flow_drop', severity: 'critical', host: 'hv-01', subject: { bridge: 'br-int', match: hostile }, summary: hostile, metrics: { packets: 5 }, evidence: [{ source: 'x', excerpt: hostile }] }),
    makeFinding({ kind: 'flow_drop', severity: 'warning', host: 'hv-02', subject: { bridge: 'br-int' }, summary: 'w', metrics: {}, evidence: [] }),
  ],
};

describe('report formats', () => {
  it('html escapes every value, shows every finding and charts them by kind and severity', () => {
    const html = renderReport(report, 'html');
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;');
    expect(html.match(/<section class="f"/g)).toHaveLength(2);
    expect(html).toMatch(/<svg[^>]*aria-label="findings by kind and severity"/);
    expect(html).toContain('<title>1 critical</title>');
  });

  it('every format the CLI offers renders the shipped bundle', async () => {
    for (const format of ['text', 'markdown', 'html', 'json']) {
      const r = await netdiag(['diagnose', '--bundle', join(ROOT, 'examples', 'bundle'), '--format', format]);
      expect(r.code, format).toBe(2);
      expect(r.stdout.length, format).toBeGreaterThan(1000);
      // each finding netdiag can fix points at its plan
      if (format === 'json') expect((JSON.parse(r.stdout) as { findings: { plan?: { id: string } }[] }).findings.some((f) => f.plan?.id.startsWith('plan-'))).toBe(true);
      else expect(r.stdout, format).toMatch(/Plan:|plan: /);
    }
  }, 60_000);
});
