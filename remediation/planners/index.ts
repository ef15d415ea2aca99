/** The planner registry: one planner per finding kind (or family of kinds). */
import type { Finding } from '../../core/finding.js';
import type { Plan } from '../../core/plan.js';
import { flowPlanner } from './flows.js';
import { mtuFragmentationPlanner, mtuMismatchPlanner } from './mtu.js';
import { crcPlanner } from './nic.js';
import { nvpBurstPlanner } from './nvp-burst.js';
import { staleLogicalSwitchPlanner, staleOvsBridgePlanner } from './orchestrator.js';
import { tunnelPlanner } from './tunnels.js';
import type { PlanContext, Planner } from './types.js';

export const planners: readonly Planner[] = [
  staleLogicalSwitchPlanner,
  staleOvsBridgePlanner,
  mtuFragmentationPlanner,
  mtuMismatchPlanner,
  flowPlanner,
  crcPlanner,
  nvpBurstPlanner,
  tunnelPlanner,
];

/** Plans for the findings, most severe first; findings no planner knows get none. */
export function planFindings(findings: readonly Finding[], ctx: PlanContext): Plan[] {
  const plans: Plan[] = [];
  for (const p of planners) {
    const mine = findings.filter((f) => p.kinds.includes(f.kind));
    if (mine.length) plans.push(...p.plan(mine, ctx));
  }
  const rank = { critical: 2, warning: 1, info: 0 } as const;
  return plans.sort((a, b) => rank[b.severity] - rank[a.severity] || a.kind.localeCompare(b.kind) || a.id.localeCompare(b.id));
}
