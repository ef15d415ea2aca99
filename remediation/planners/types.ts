import type { Finding } from '../../core/finding.js';
import type { Plan } from '../../core/plan.js';

export interface PlanContext {
  /** ms since the epoch: when the plans are made. */
  now: number;
}

/** Turns the findings of its kinds into plans. Pure: no I/O. */
export interface Planner {
  kinds: readonly string[];
  plan(findings: Finding[], ctx: PlanContext): Plan[];
}
