/** Findings → plans, for `plan`, the report's `plan` field and the appliance's /api/v1/plans. */
import { z } from 'zod';
import { NetdiagError } from '../core/errors.js';
import type { Finding } from '../core/finding.js';
import type { Plan, PlanSet } from '../core/plan.js';
import { planFindings } from '../remediation/planners/index.js';

export function makePlanSet(findings: readonly Finding[], now: number): PlanSet {
  return { schema: 'netdiag.plans/v1', generatedAt: new Date(now).toISOString(), plans: planFindings(findings, { now }) };
}

/** Give each finding a pointer to the plan that answers it (`plan: {id, summary, steps}`). */
export function attachPlans(findings: Finding[], plans: readonly Plan[]): void {
  for (const p of plans) {
    for (const id of p.findingIds) {
      const f = findings.find((x) => x.id === id);
      if (f) f.plan = { id: p.id, summary: p.summary, steps: p.steps.length, changes: p.steps.some((s) => !s.readOnly && s.target !== 'manual') };
    }
  }
}

const stepSchema = z
  .object({
    id: z.string().min(1),
    target: z.enum(['cloudstack', 'nvp', 'manual']),
    action: z.string().min(1),
    params: z.record(z.unknown()),
    readOnly: z.boolean(),
    destructive: z.boolean(),
    idempotent: z.boolean(),
    description: z.string(),
    host: z.string().optional(),
    command: z.array(z.string()).optional(),
  })
  .passthrough();

const planSetSchema = z.object({
  schema: z.literal('netdiag.plans/v1'),
  generatedAt: z.string(),
  plans: z.array(
    z
      .object({
        id: z.string().min(1),
        kind: z.string(),
        findingIds: z.array(z.string()),
        severity: z.enum(['info', 'warning', 'critical']),
        host: z.string().optional(),
        summary: z.string(),
        steps: z.array(stepSchema).min(1),
        notes: z.array(z.string()).optional(),
      })
      .passthrough(),
  ),
});

/** Parse a plans file (`netdiag plan --format json`), naming the file and every problem. */
export function parsePlanSet(text: string, path: string): PlanSet {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new NetdiagError('E_INPUT_PARSE', `${path} is not JSON: ${(e as Error).message}`, { remedy: 'give the output of `netdiag plan --format json`' });
  }
  const r = planSetSchema.safeParse(raw);
  if (!r.success) {
    const problems = r.error.issues.slice(0, 10).map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`);
    throw new NetdiagError('E_INPUT_PARSE', `${path} is not a netdiag.plans/v1 file: ${problems.join('; ')}`, { remedy: 'give the output of `netdiag plan --format json`' });
  }
  return r.data as PlanSet;
}
