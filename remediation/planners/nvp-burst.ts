/**
 * NVP API exception bursts: the fix is on the controller or in the credentials CloudStack holds,
 * so the plan reads both sides and says what to do for the dominant cause.
 */
import type { Finding } from '../../core/finding.js';
import { numberSteps, type Plan, type PlanStep, planId } from '../../core/plan.js';
import { manual, nvpClusterStatus } from './steps.js';
import type { Planner } from './types.js';

function dominantCause(f: Finding): string {
  const byCause = (f.metrics.byCause ?? {}) as Record<string, number>;
  return Object.entries(byCause).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0] ?? 'other';
}

const ADVICE: Record<string, string> = {
  auth: 'the controller refuses CloudStack\'s credentials: check the NVP device\'s username/password in CloudStack (listNiciraNvpDevices) against the controller\'s admin account; CloudStack cannot update them in place — re-adding the device is only possible while no network uses it, so fix the account on the controller side if you can',
  transport: 'CloudStack cannot reach the controller: check the management servers can reach the NVP device\'s hostname on 443, DNS and certificates',
  server_error: 'the controller answers with errors: check the control cluster\'s nodes and their logs; CloudStack\'s retries will succeed once it is stable',
  retry_exhausted: 'CloudStack gave up after 5 tries: check the control cluster is up and reachable, then restart the networks whose commands failed',
  conflict: 'the controller refuses a change that conflicts with its state (409): compare the objects named in the evidence between CloudStack and NVP',
  not_found: 'CloudStack refers to NVP objects the controller does not have: compare the networks named in the evidence with the controller\'s logical switches',
  other: 'read the exceptions in the evidence; check the control cluster\'s status',
};

export const nvpBurstPlanner: Planner = {
  kinds: ['nvp_api_exception_burst'],
  plan(findings): Plan[] {
    return findings.flatMap((f) => {
      const cause = dominantCause(f);
      const steps: Omit<PlanStep, 'id'>[] = [
        {
          target: 'cloudstack',
          action: 'listNiciraNvpDevices',
          params: {},
          readOnly: true,
          destructive: false,
          idempotent: true,
          description: 'list the NVP devices CloudStack uses (hostname, transport zone; the password is never shown)',
        },
        nvpClusterStatus(' with netdiag\'s own credentials: if this works while CloudStack\'s calls fail, the problem is CloudStack\'s side (credentials, reachability)'),
        manual(ADVICE[cause] ?? ADVICE.other!, { host: f.host }),
      ];
      const commands = Array.isArray(f.subject.commands) ? (f.subject.commands as string[]) : [];
      return [
        {
          id: planId(f.kind, f.id),
          kind: f.kind,
          findingIds: [f.id],
          severity: f.severity,
          ...(f.host ? { host: f.host } : {}),
          summary: `find why ${f.host ?? 'the management server'} fails its NVP calls (mostly ${cause})${commands.length ? ` — ${commands.slice(0, 3).join(', ')}` : ''}`,
          steps: numberSteps(steps),
          notes: ['This plan only reads: nothing in it changes CloudStack or NVP.'],
        },
      ];
    });
  },
};
