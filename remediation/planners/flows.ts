/**
 * Flow plans. A drop or an output to a missing port means the controller never pushed a valid
 * rule. On an OVS-plugin bridge (`OVSTunnel<key>`) CloudStack owns the rules: restarting the
 * network makes it implement the network again. Elsewhere the rules come from the NVP controller
 * or the host's own setup: check the controller, then compare by hand.
 */
import type { Finding } from '../../core/finding.js';
import { numberSteps, type Plan, type PlanStep, planId } from '../../core/plan.js';
import { findNetwork, manual, nvpClusterStatus, restartNetwork } from './steps.js';
import type { Planner } from './types.js';

function flowSpec(f: Finding): string {
  const s = f.subject as { table?: number; priority?: number; match?: string };
  return [s.table !== undefined ? `table=${s.table}` : '', s.priority !== undefined ? `priority=${s.priority}` : '', s.match ?? ''].filter(Boolean).join(',');
}

export const flowPlanner: Planner = {
  kinds: ['flow_drop', 'flow_invalid_output'],
  plan(findings): Plan[] {
    const groups = new Map<string, Finding[]>();
    for (const f of findings) {
      if (f.severity === 'info') continue;
      const k = `${f.host ?? ''}\u0000${String(f.subject.bridge)}`;
      groups.set(k, [...(groups.get(k) ?? []), f]);
    }
    const plans: Plan[] = [];
    for (const [k, fs] of groups) {
      const bridge = String(fs[0]!.subject.bridge);
      const host = fs[0]!.host;
      const where = host ?? 'the hypervisor';
      const key = /^OVSTunnel(\d+)$/.exec(bridge)?.[1];
      // NVP's hypervisors attach VMs to the integration bridge the controller programs.
      const nvp = bridge === 'br-int';
      const inspect = fs.map((f) =>
        manual(`check the flow on ${where}: ${f.summary}`, { host, command: ['ovs-ofctl', '-O', 'OpenFlow13', 'dump-flows', bridge, flowSpec(f)] }),
      );
      const steps: Omit<PlanStep, 'id'>[] = key
        ? [
            findNetwork([`vswitch://${key}`]),
            restartNetwork('re-sends its tunnel and flow setup'),
            ...inspect,
          ]
        : nvp
        ? [
            nvpClusterStatus(': a controller that is not "stable" explains rules that were never pushed'),
            ...inspect,
            manual(`if the controller is stable, restart the VM or migrate it so its port on ${bridge} is set up again`, { host }),
          ]
        : [...inspect, manual(`compare with what CloudStack's agent sets up on ${bridge} (reference: cloudstack.md §5.4) and restart the VM or the network whose traffic is hit`, { host })];
      const kinds = [...new Set(fs.map((f) => f.kind))];
      plans.push({
        id: planId(kinds.join('+'), k),
        kind: kinds.join('+'),
        findingIds: fs.map((f) => f.id),
        severity: fs.some((f) => f.severity === 'critical') ? 'critical' : 'warning',
        ...(host ? { host } : {}),
        summary: key
          ? `have CloudStack set up network key ${key} again: ${fs.length} bad flow(s) on ${bridge} on ${where}`
          : nvp
          ? `find why the controller pushed ${fs.length} bad flow(s) on ${bridge} on ${where}`
          : `find where ${fs.length} bad flow(s) on ${bridge} on ${where} came from`,
        steps: numberSteps(steps),
        ...(key ? { notes: ['A restart is not idempotent: netdiag records it in the state file and does not restart again for the same plan.'] } : {}),
      });
    }
    return plans;
  },
};
