/**
 * Tunnel port plans (`ovs_tunnel_error`). CloudStack's ovstunnel.py creates `t<key>-<from>-<to>`
 * ports when a VM of the network is prepared on the host; a broken one (OVS could not add it, a bad
 * or inconsistent remote_ip) must go first, by hand, and is created again by CloudStack. A missing
 * tunnel is CloudStack's to create: restarting the network has it implement the network again.
 */
import type { Finding } from '../../core/finding.js';
import { numberSteps, type Plan, planId } from '../../core/plan.js';
import { findNetwork, manual, restartNetwork } from './steps.js';
import type { Planner } from './types.js';

export const tunnelPlanner: Planner = {
  kinds: ['ovs_tunnel_error'],
  plan(findings: Finding[]): Plan[] {
    return findings.flatMap((f) => {
      const bridge = typeof f.subject.bridge === 'string' ? f.subject.bridge : undefined;
      const port = typeof f.subject.port === 'string' ? f.subject.port : undefined;
      const reason = String(f.subject.reason ?? '');
      if (!bridge || f.severity === 'info') return [];
      const key = /^OVSTunnel(\d+)$/.exec(bridge)?.[1] ?? /^t(\d+)-\d+-\d+$/.exec(port ?? '')?.[1];
      const where = f.host ?? 'the hypervisor';
      const base = { id: planId(f.kind, `${f.host ?? ''}\u0000${bridge}\u0000${port ?? ''}\u0000${reason}`), kind: f.kind, findingIds: [f.id], severity: f.severity, ...(f.host ? { host: f.host } : {}) };
      if (reason === 'no_tunnel_port' && key) {
        return [
          {
            ...base,
            summary: `have CloudStack create the missing tunnel of network key ${key} on ${where}`,
            steps: numberSteps([
              findNetwork([`vswitch://${key}`]),
              restartNetwork('sets up its tunnels'),
              manual(`check that the tunnel ports of ${bridge} now reach every host of the network`, { host: f.host, command: ['ovs-vsctl', 'list-ports', bridge] }),
            ]),
          },
        ];
      }
      if (!port) return [];
      return [
        {
          ...base,
          summary: `remove the broken tunnel port ${port} on ${where} so CloudStack can create it again`,
          steps: numberSteps([
            manual(`remove ${port} from ${bridge} on ${where} (${reason.replace(/_/g, ' ')})`, { host: f.host, command: ['ovs-vsctl', '--if-exists', 'del-port', bridge, port] }),
            manual(
              key
                ? `CloudStack adds the port again when a VM of network key ${key} next starts on ${where}; to have it now, restart that network (netdiag plan gives the restart for a missing tunnel once the port is gone)`
                : `re-create the port the way it was made, with a valid remote_ip`,
              { host: f.host },
            ),
          ]),
        },
      ];
    });
  },
};
