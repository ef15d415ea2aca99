import type { Analyzer } from '../../core/plugin.js';
import { analyzeOvsTunnel, type OvsTunnelConfig, ovsTunnelSchema, publishOvsTunnel } from './analyze.js';

export const ovsTunnel: Analyzer<OvsTunnelConfig> = {
  name: 'ovs_tunnel',
  description: 'GRE/VXLAN tunnel ports with OVS errors, keys or remote IPs that disagree with the bridge, missing tunnel ports; OVS polls that fail',
  kinds: ['ovs_tunnel_error', 'ovs_poll_failure'],
  schema: ovsTunnelSchema,
  analyze: analyzeOvsTunnel,
  publish: publishOvsTunnel,
  metrics: [
    { name: 'netdiag_ovs_tunnel_problems', help: 'Tunnel problems found in OVSDB, by bridge and reason', type: 'gauge', labelNames: ['host', 'bridge', 'reason'] },
  ],
};
