/**
 * A self-contained HTML report (no scripts, no external assets): the summary, a bar per finding
 * kind and severity, every finding with its subject, metrics and evidence, and the inputs table.
 */
import type { Finding, Severity } from '../../core/finding.js';
import type { Report } from '../../engine/pipeline.js';

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const esc = (v: unknown): string => String(v ?? '').replace(/[&<>"']/g, (c) => ESC[c]!);
const COLOUR: Record<Severity, string> = { critical: '#b00020', warning: '#b26a00', info: '#355e9b' };
const show = (v: unknown) => (typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v));

function finding(f: Finding): string {
  const rows = [...Object.entries(f.subject), ...Object.entries(f.metrics)].map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(show(v))}</td></tr>`).join('');
  const ev = f.evidence
    .slice(0, 10)
    .map((e) => `<div class="ev"><small>${esc(e.source)}</small><pre>${esc(e.excerpt.split('\n').slice(0, 20).join('\n'))}</pre></div>`)
    .join('');
  const seen = f.firstSeen || f.lastSeen ? `<p><small>first seen ${esc(f.firstSeen ?? '?')} · last seen ${esc(f.lastSeen ?? '?')}</small></p>` : '';
  return `<section class="f" style="border-color:${COLOUR[f.severity]}"><h3><span style="color:${COLOUR[f.severity]}">${esc(f.severity.toUpperCase())}</span> ${esc(f.kind)}${f.host ? ` · ${esc(f.host)}` : ''}</h3>
<p>${esc(f.summary)}</p><table>${rows}</table>${seen}${ev}${f.plan ? `<p><b>Plan:</b> ${esc(f.plan.summary)} <small>(${esc(f.plan.id)}; <code>netdiag plan</code> lists its steps)</small></p>` : ''}<p><small>id ${esc(f.id)}</small></p></section>`;
}

function chart(report: Report): string {
  const counts = new Map<string, Record<Severity, number>>();
  for (const f of report.findings) {
    const c = counts.get(f.kind) ?? { critical: 0, warning: 0, info: 0 };
    c[f.severity]++;
    counts.set(f.kind, c);
  }
  if (counts.size === 0) return '';
  const max = Math.max(...[...counts.values()].map((c) => c.critical + c.warning + c.info));
  const unit = 300 / max;
  const bars = [...counts]
    .sort((a, b) => a[0].localeCompare(b[0]))
    .map(([kind, c], i) => {
      let x = 190;
      const segs = (['critical', 'warning', 'info'] as Severity[])
        .filter((s) => c[s] > 0)
        .map((s) => {
          const w = c[s] * unit;
          const r = `<rect x="${x}" y="${i * 22 + 4}" width="${w}" height="16" fill="${COLOUR[s]}"><title>${c[s]} ${s}</title></rect>`;
          x += w;
          return r;
        })
        .join('');
      return `<text x="0" y="${i * 22 + 16}" font-size="12">${esc(kind)}</text>${segs}<text x="${x + 4}" y="${i * 22 + 16}" font-size="12">${c.critical + c.warning + c.info}</text>`;
    })
    .join('');
  return `<svg role="img" aria-label="findings by kind and severity" width="540" height="${counts.size * 22 + 8}">${bars}</svg>`;
}

export function renderHtml(report: Report): string {
  const inputs = report.inputs
    .map((i) => `<tr><td>${esc(i.type)}</td><td>${esc(i.host ?? '')}</td><td>${esc(i.records)}</td><td>${esc(i.path)}</td><td class="err">${esc(i.error ?? '')}</td></tr>`)
    .join('');
  const status = report.status === 'ok' ? '#2e7d32' : COLOUR[report.status];
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>netdiag report ${esc(report.generatedAt)}</title>
<style>body{font:14px/1.45 system-ui,sans-serif;margin:1.5rem;max-width:80rem;color:#222}table{border-collapse:collapse}th,td{padding:.15rem .6rem;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
.f{border-left:4px solid #ccc;padding-left:.8rem;margin:1.2rem 0}pre{white-space:pre-wrap;background:#f6f6f6;padding:.4rem;margin:.2rem 0}.err{color:#b00020}h3{margin:.2rem 0}</style></head><body>
<h1>netdiag report</h1><p>Generated ${esc(report.generatedAt)} · status <b style="color:${status}">${esc(report.status.toUpperCase())}</b> · ${report.findings.length} findings from ${report.inputs.length} inputs</p>
${chart(report)}
<h2>Findings</h2>${report.findings.length ? report.findings.map(finding).join('\n') : '<p>No findings.</p>'}
<h2>Inputs</h2><table><tr><th>type</th><th>host</th><th>records</th><th>path</th><th>error</th></tr>${inputs}</table>
</body></html>
`;
}
