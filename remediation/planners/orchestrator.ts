/**
 * Plans that clean up what CloudStack forgot: a leaked NVP logical switch (deleted through the
 * NVP API after both APIs are listed again past the grace period) and a leftover OVS bridge or
 * tunnel port (removed by hand on the hypervisor, after CloudStack is listed again).
 */
import { numberSteps, type Plan, planId } from '../../core/plan.js';
import { confirmNetworkAbsent, manual } from './steps.js';
import type { Planner } from './types.js';

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined);

export const staleLogicalSwitchPlanner: Planner = {
  kinds: ['stale_logical_switch'],
  plan(findings, ctx): Plan[] {
    return findings.flatMap((f) => {
      const uuid = str(f.subject.lswitch);
      if (!uuid) return [];
      const name = str(f.subject.displayName) ?? uuid;
      const grace = typeof f.metrics.graceSeconds === 'number' ? f.metrics.graceSeconds : 2400;
      const unreferencedSince = f.firstSeen ?? new Date(ctx.now).toISOString();
      return [
        {
          id: planId(f.kind, uuid),
          kind: f.kind,
          findingIds: [f.id],
          severity: f.severity,
          summary: `delete the leaked NVP logical switch ${name} (${uuid}) once CloudStack and NVP both confirm, past the ${grace} s grace period, that no network uses it`,
          steps: numberSteps([
            confirmNetworkAbsent(`lswitch:${uuid}`),
            {
              target: 'nvp',
              action: 'confirmLogicalSwitch',
              params: { uuid, tagScope: 'cs_account', tag: str(f.subject.account), graceSeconds: grace, unreferencedSince },
              readOnly: true,
              destructive: false,
              idempotent: true,
              description: `read lswitch ${uuid} from NVP: it must still carry CloudStack's cs_account tag, and be older than ${grace} s (by its creation time, or unreferenced since ${unreferencedSince} when the controller does not say)`,
            },
            {
              target: 'nvp',
              action: 'deleteLogicalSwitch',
              params: { uuid },
              readOnly: false,
              destructive: true,
              idempotent: true,
              description: `DELETE /ws.v1/lswitch/${uuid} (a switch already gone counts as done)`,
            },
          ]),
          notes: [
            'CloudStack creates the switch before it stores the broadcast URI: a young switch can look leaked, hence the grace period and the re-check right before the delete.',
            typeof f.metrics.vifAttachments === 'number' && f.metrics.vifAttachments > 0
              ? `${f.metrics.vifAttachments} port(s) still have VIF attachments (CloudStack NIC uuids, see the finding's evidence): make sure those NICs are gone too.`
              : 'The delete removes the switch with its ports.',
          ],
        },
      ];
    });
  },
};

export const staleOvsBridgePlanner: Planner = {
  kinds: ['stale_ovs_bridge'],
  plan(findings): Plan[] {
    return findings.flatMap((f) => {
      const bridge = str(f.subject.bridge);
      const key = str(f.subject.key);
      const port = str(f.subject.port);
      if (!bridge) return [];
      const where = f.host ?? 'the hypervisor';
      const vmPlacement = f.metrics.vmPorts === 0;
      const steps = port
        ? [
            manual(`remove tunnel port ${port} from ${bridge} on ${where}: its peer is no longer a CloudStack host`, {
              host: f.host,
              command: ['ovs-vsctl', '--if-exists', 'del-port', bridge, port],
            }),
          ]
        : [
            ...(vmPlacement || !key ? [] : [confirmNetworkAbsent(`vswitch://${key}`)]),
            manual(`remove bridge ${bridge} and its tunnel ports on ${where}${vmPlacement ? ' (after checking with `ovs-vsctl list-ports` that no VM port came back)' : ''}`, {
              host: f.host,
              command: ['ovs-vsctl', '--if-exists', 'del-br', bridge],
            }),
          ];
      return [
        {
          id: planId(f.kind, `${f.host ?? ''}\u0000${bridge}\u0000${port ?? ''}`),
          kind: f.kind,
          findingIds: [f.id],
          severity: f.severity,
          ...(f.host ? { host: f.host } : {}),
          summary: port ? `remove the tunnel port ${port} to a host that is gone, on ${where}` : `remove the leftover bridge ${bridge} on ${where}`,
          steps: numberSteps(steps),
          notes: ['netdiag does not log in to hypervisors: the OVS change is a command for the admin to run there. Run `netdiag diagnose` (or wait for `serve`) afterwards to see the finding clear.'],
        },
      ];
    });
  },
};
