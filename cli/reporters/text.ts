import type { Finding } from '../../core/finding.js';
import type { Report } from '../../engine/pipeline.js';

const ICON: Record<string, string> = { critical: 'CRIT', warning: 'WARN', info: 'INFO' };

function fmtMetrics(m: Record<string, unknown>): string {
  return Object.entries(m)
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(' ');
}

function subjectLine(f: Finding): string {
  return Object.entries(f.subject)
    .filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(' ');
}

/** The terminal report: status first, then findings worst-first with their evidence, then inputs. */
export function renderText(report: Report): string {
  const lines: string[] = [];
  const counts = { critical: 0, warning: 0, info: 0 };
  for (const f of report.findings) counts[f.severity]++;
  lines.push(`netdiag report — ${report.generatedAt}`);
  lines.push(`status: ${report.status.toUpperCase()}  (${counts.critical} critical, ${counts.warning} warning, ${counts.info} info)`);
  lines.push('');
  if (report.findings.length === 0) lines.push('No findings.');
  for (const f of report.findings) {
    lines.push(`[${ICON[f.severity]}] ${f.kind}${f.host ? ` on ${f.host}` : ''}: ${f.summary}`);
    const subj = subjectLine(f);
    if (subj) lines.push(`       subject: ${subj}`);
    const m = fmtMetrics(f.metrics);
    if (m) lines.push(`       metrics: ${m}`);
    if (f.firstSeen || f.lastSeen) lines.push(`       seen: ${f.firstSeen ?? '?'} .. ${f.lastSeen ?? '?'}`);
    for (const e of f.evidence.slice(0, 5)) {
      const ex = e.excerpt.split('\n').slice(0, 4).join('\n         ');
      lines.push(`       evidence (${e.source}): ${ex}`);
    }
    if (f.evidence.length > 5) lines.push(`       … ${f.evidence.length - 5} more evidence items (see --format json)`);
    if (f.plan) lines.push(`       plan: ${String(f.plan.summary)} (${String(f.plan.id)}; see netdiag plan)`);
    lines.push(`       id: ${f.id}`);
    lines.push('');
  }
  lines.push('Inputs:');
  for (const i of report.inputs) {
    const extra = [i.skipped ? `${i.skipped} skipped` : '', i.error ? `ERROR: ${i.error}` : ''].filter(Boolean).join(', ');
    lines.push(`  ${i.type.padEnd(22)} ${String(i.records).padStart(8)}  ${i.host ? `[${i.host}] ` : ''}${i.path}${extra ? `  (${extra})` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}
