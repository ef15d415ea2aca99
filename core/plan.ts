/**
 * Remediation plans (DESIGN.md "netdiag plan"): what to change, where, and how risky each step
 * is. Planners make plans from findings without any network I/O; only the executor
 * (remediation/executor.ts) talks to the orchestrators, and only when told to apply.
 */
import { createHash } from 'node:crypto';
import type { Finding } from './finding.js';

export type StepTarget = 'cloudstack' | 'nvp' | 'manual';

export interface PlanStep {
  /** `s1`, `s2`… in the order the executor runs them. */
  id: string;
  target: StepTarget;
  /**
   * cloudstack: an API command (`listNetworks`, `updateNetwork`…) or a named check
   * (`confirmNetworkAbsent`, `findNetwork`, `findHost`); nvp: `confirmLogicalSwitch`,
   * `deleteLogicalSwitch`, `controlClusterStatus`; manual: `instruction`.
   */
  action: string;
  /** Values; `${network.id}` / `${host.id}` are filled from what an earlier read-only step found. */
  params: Record<string, unknown>;
  /** Changes nothing: run in a dry run too, as the precondition check. */
  readOnly: boolean;
  /** Removes something that cannot be brought back by netdiag. */
  destructive: boolean;
  /** Running it twice leaves the world as running it once (the executor checks before acting). */
  idempotent: boolean;
  /** One sentence for the admin: what the step does and why. */
  description: string;
  /** manual: the host to run `command` on. */
  host?: string;
  /** manual: the exact argv to run there. */
  command?: string[];
}

export interface Plan {
  id: string;
  /** The finding kind this plan answers. */
  kind: string;
  findingIds: string[];
  severity: Finding['severity'];
  host?: string;
  summary: string;
  steps: PlanStep[];
  /** Caveats the admin must read before applying. */
  notes?: string[];
}

export interface PlanSet {
  schema: 'netdiag.plans/v1';
  generatedAt: string;
  plans: Plan[];
}

/** A stable plan id from its kind and what it acts on: the same finding gives the same plan id. */
export function planId(kind: string, key: string): string {
  return `plan-${kind}-${createHash('sha256').update(`${kind}\u0000${key}`).digest('hex').slice(0, 12)}`;
}

/** Number the steps s1… in order. */
export function numberSteps(steps: Omit<PlanStep, 'id'>[]): PlanStep[] {
  return steps.map((s, i) => ({ id: `s${i + 1}`, ...s }));
}
