/** `netdiag plan` and `netdiag apply` output: text for a terminal, Markdown for a ticket, JSON for tools. */
import type { Plan, PlanSet, PlanStep } from '../../core/plan.js';
import type { ApplyResult } from '../../remediation/executor.js';
import { shellQuote } from '../../remediation/executor.js';

const risk = (s: PlanStep) => (s.readOnly ? 'read-only' : s.destructive ? 'DESTRUCTIVE' : s.target === 'manual' ? 'by hand' : 'changes');
const cmd = (s: PlanStep) => (s.command ? s.command.map(shellQuote).join(' ') : '');

function applyHint(p: Plan, file: string): string {
  const auto = p.steps.some((s) => s.target !== 'manual');
  return auto ? `netdiag apply ${file} --plan ${p.id}   (a dry run; add --yes to make the changes)` : 'by hand only: run the commands above on the host named';
}

export function renderPlansText(set: PlanSet, file = 'PLANS.json'): string {
  const out: string[] = [];
  const nf = new Set(set.plans.flatMap((p) => p.findingIds)).size;
  out.push(set.plans.length ? `${set.plans.length} plan(s) for ${nf} finding(s), made ${set.generatedAt}. Nothing has been changed.` : `No plan: no finding that netdiag knows how to fix (made ${set.generatedAt}).`);
  for (const p of set.plans) {
    out.push('', `[${p.severity.toUpperCase()}] ${p.id}${p.host ? `  on ${p.host}` : ''}`, `  ${p.summary}`, `  findings: ${p.findingIds.join(', ')}`);
    for (const s of p.steps) {
      out.push(`  ${s.id.padEnd(3)} ${s.target.padEnd(10)} ${s.action.padEnd(26)} ${risk(s).padEnd(11)} ${s.description}`);
      if (s.command) out.push(`      ${s.host ? `on ${s.host}: ` : ''}${cmd(s)}`);
    }
    for (const n of p.notes ?? []) out.push(`  note: ${n}`);
    out.push(`  apply: ${applyHint(p, file)}`);
  }
  return `${out.join('\n')}\n`;
}

export function renderPlansMarkdown(set: PlanSet, file = 'PLANS.json'): string {
  const e = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const out: string[] = ['# netdiag remediation plans', '', `Made ${set.generatedAt}. Nothing has been changed.`, ''];
  if (!set.plans.length) out.push('No plan: no finding that netdiag knows how to fix.', '');
  for (const p of set.plans) {
    out.push(`## ${p.severity.toUpperCase()} · ${e(p.summary)}`, '', `Plan \`${p.id}\`${p.host ? ` on ${p.host}` : ''}, for finding(s) ${p.findingIds.map((f) => `\`${f}\``).join(', ')}.`, '');
    out.push('| step | target | action | risk | what |', '|---|---|---|---|---|');
    for (const s of p.steps) out.push(`| ${s.id} | ${s.target} | ${s.action} | ${risk(s)} | ${e(s.description)}${s.command ? ` — ${s.host ? `on ${s.host}: ` : ''}\`${e(cmd(s))}\`` : ''} |`);
    out.push('');
    for (const n of p.notes ?? []) out.push(`> ${e(n)}`, '');
    out.push(`Apply: \`${applyHint(p, file)}\``, '');
  }
  return `${out.join('\n')}\n`;
}

export function renderApplyText(r: ApplyResult): string {
  const onlyManual = r.steps.every((s) => s.target === 'manual' || s.status === 'checked');
  const head =
    onlyManual && (r.status === 'applied' || r.status === 'dry-run')
      ? `plan ${r.planId}: nothing for netdiag to call — ${r.steps.some((s) => s.status === 'checked') ? 'the checks hold; ' : ''}the changes are the manual steps below`
      : r.status === 'dry-run'
      ? `plan ${r.planId}: dry run — the preconditions hold; nothing was changed`
      : r.status === 'applied'
        ? `plan ${r.planId}: applied`
        : r.status === 'refused'
          ? `plan ${r.planId}: REFUSED — nothing was changed`
          : `plan ${r.planId}: FAILED part-way — see which steps were done`;
  const out = [head];
  for (const s of r.steps) {
    out.push(`  ${s.stepId.padEnd(3)} ${s.status.padEnd(9)} ${s.target === 'manual' ? '' : `${s.target} ${s.action}: `}${s.detail}`);
    if (s.call) out.push(`      ${s.host ? `on ${s.host}: ` : ''}${s.call}`);
  }
  if (r.status === 'dry-run' && r.steps.some((s) => s.status === 'would-run')) out.push('Run again with --yes to make the calls marked would-run.');
  if (r.steps.some((s) => s.status === 'manual')) out.push('Steps marked manual are for you to do on the host named; netdiag does not run them.');
  return `${out.join('\n')}\n`;
}
