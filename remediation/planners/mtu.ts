/**
 * MTU plans. Fragmenting or dropped tunnel traffic of a CloudStack network: lower the network's
 * guest MTU through `updateNetwork privatemtu` (CloudStack 4.18+), or raise the underlay by hand.
 * An interface too small for its encapsulation: raise it on the host.
 */
import type { Finding } from '../../core/finding.js';
import { numberSteps, type Plan, planId } from '../../core/plan.js';
import { findNetwork, manual } from './steps.js';
import type { Planner } from './types.js';

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** The broadcast URIs CloudStack gives a network whose tunnel carries this key. */
function broadcastUris(type: string, key: string): string[] {
  if (type === 'gre') return [`vswitch://${key}`];
  if (type === 'vxlan') return [`vxlan://${key}`, `vswitch://${key}`];
  return []; // STT/Geneve keys are the NVP controller's, not CloudStack's
}

export const mtuFragmentationPlanner: Planner = {
  kinds: ['mtu_fragmentation'],
  plan(findings): Plan[] {
    const groups = new Map<string, Finding[]>();
    for (const f of findings) {
      const t = (f.subject.tunnel ?? {}) as { type?: string; key?: string | number; src?: string; dst?: string };
      const uris = t.key !== undefined ? broadcastUris(String(t.type), String(t.key)) : [];
      const g = uris.length ? `net\u0000${t.type}\u0000${t.key}` : `tunnel\u0000${f.id}`;
      groups.set(g, [...(groups.get(g) ?? []), f]);
    }
    const plans: Plan[] = [];
    for (const [g, fs] of groups) {
      const t = (fs[0]!.subject.tunnel ?? {}) as { type?: string; key?: string | number; src?: string; dst?: string };
      const mtu = Math.min(...fs.map((f) => num(f.metrics.recommendedMtu) ?? Infinity));
      const underlay = Math.max(...fs.map((f) => num(f.metrics.requiredUnderlayMtu) ?? 0));
      const worst = fs.some((f) => f.severity === 'critical') ? 'critical' : fs.some((f) => f.severity === 'warning') ? 'warning' : 'info';
      const paths = fs.map((f) => {
        const x = (f.subject.tunnel ?? {}) as { src?: string; dst?: string };
        return `${x.src ?? '?'} → ${x.dst ?? '?'}`;
      });
      const raise = underlay > 0 ? `raise the MTU of the underlay interfaces and switches on ${paths.join(', ')} to at least ${underlay}` : undefined;
      if (g.startsWith('net\u0000') && Number.isFinite(mtu)) {
        const uris = broadcastUris(String(t.type), String(t.key));
        plans.push({
          id: planId('mtu_fragmentation', g),
          kind: 'mtu_fragmentation',
          findingIds: fs.map((f) => f.id),
          severity: worst,
          summary: `set the guest MTU of the CloudStack network on ${String(t.type).toUpperCase()} key ${t.key} to ${mtu}, so its packets fit the tunnel without fragmenting`,
          steps: numberSteps([
            findNetwork(uris),
            {
              target: 'cloudstack',
              action: 'updateNetwork',
              params: { id: '${network.id}', privatemtu: mtu },
              readOnly: false,
              destructive: false,
              idempotent: true,
              description: `updateNetwork privatemtu=${mtu} (async job; skipped when the network already has that MTU; needs CloudStack 4.18+ and ${mtu} ≤ vr.private.interface.max.mtu)`,
            },
            manual('guests learn the MTU from the router on their next DHCP lease; restart the network interface in guests that set their MTU themselves'),
          ]),
          notes: [
            `The alternative that keeps 1500-byte guests: ${raise ?? 'raise the underlay MTU by the encapsulation overhead'} — then this plan is not needed.`,
          ],
        });
      } else {
        for (const f of fs) {
          plans.push({
            id: planId('mtu_fragmentation', `tunnel\u0000${f.id}`),
            kind: 'mtu_fragmentation',
            findingIds: [f.id],
            severity: f.severity,
            ...(f.host ? { host: f.host } : {}),
            summary: `make ${String(t.type).toUpperCase()} traffic ${paths[0]} fit: guest MTU ${Number.isFinite(mtu) ? mtu : '?'} or a larger underlay`,
            steps: numberSteps([
              manual(raise ? `${raise}; or set the guest MTU to ${mtu}` : `set the guest MTU to ${mtu}`, { host: f.host }),
            ]),
            notes: ['No CloudStack network is tied to this tunnel by key (STT/Geneve keys are the NVP controller\'s), so netdiag cannot change it through the API.'],
          });
        }
      }
    }
    return plans;
  },
};

export const mtuMismatchPlanner: Planner = {
  kinds: ['mtu_mismatch'],
  plan(findings): Plan[] {
    return findings.flatMap((f) => {
      const iface = typeof f.subject.interface === 'string' ? f.subject.interface : undefined;
      const required = num(f.metrics.requiredMtu);
      if (!iface || required === undefined) return [];
      return [
        {
          id: planId(f.kind, `${f.host ?? ''}\u0000${iface}\u0000${String(f.subject.encapsulation)}`),
          kind: f.kind,
          findingIds: [f.id],
          severity: f.severity,
          ...(f.host ? { host: f.host } : {}),
          summary: `raise the MTU of ${iface}${f.host ? ` on ${f.host}` : ''} to ${required} so ${String(f.subject.encapsulation)} traffic fits`,
          steps: numberSteps([
            manual(`set ${iface} to MTU ${required} now (the switch ports on the path must allow it too)`, { host: f.host, command: ['ip', 'link', 'set', 'dev', iface, 'mtu', String(required)] }),
            manual(`make it survive a reboot: the MTU of ${iface} in the host's network configuration (netplan, /etc/network/interfaces or ifcfg)`, { host: f.host }),
          ]),
        },
      ];
    });
  },
};
