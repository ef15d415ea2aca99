import type { Report } from '../../engine/pipeline.js';

const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderMarkdown(report: Report): string {
  const out: string[] = [];
  out.push(`# netdiag report`, '', `Generated ${report.generatedAt}. **Status: ${report.status}.**`, '');
  out.push('## Findings', '');
  if (report.findings.length === 0) out.push('No findings.', '');
  for (const f of report.findings) {
    out.push(`### ${f.severity.toUpperCase()} · ${f.kind}${f.host ? ` · ${f.host}` : ''}`, '', f.summary, '');
    out.push('| field | value |', '|---|---|');
    for (const [k, v] of Object.entries(f.subject)) out.push(`| ${esc(k)} | ${esc(typeof v === 'object' ? JSON.stringify(v) : String(v))} |`);
    for (const [k, v] of Object.entries(f.metrics)) out.push(`| ${esc(k)} | ${esc(typeof v === 'object' ? JSON.stringify(v) : String(v))} |`);
    out.push('');
    if (f.evidence.length) {
      out.push('Evidence:', '');
      for (const e of f.evidence.slice(0, 10)) out.push(`- \`${e.source}\``, '', '  ```', ...e.excerpt.split('\n').slice(0, 12).map((l) => `  ${l}`), '  ```');
      out.push('');
    }
    if (f.plan) out.push(`Plan: ${String(f.plan.summary)} (\`${String(f.plan.id)}\`, see \`netdiag plan\`)`, '');
    out.push(`Finding id: \`${f.id}\``, '');
  }
  out.push('## Inputs', '', '| type | host | records | path | error |', '|---|---|---|---|---|');
  for (const i of report.inputs) out.push(`| ${i.type} | ${i.host ?? ''} | ${i.records} | ${esc(i.path)} | ${esc(i.error ?? '')} |`);
  return `${out.join('\n')}\n`;
}
