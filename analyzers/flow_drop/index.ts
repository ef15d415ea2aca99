import type { Analyzer } from '../../core/plugin.js';
import { analyzeFlowDrop, type FlowDropConfig, flowDropSchema, publishFlowDrop } from './analyze.js';

export const flowDrop: Analyzer<FlowDropConfig> = {
  name: 'flow_drop',
  description: 'OpenFlow drop flows that match traffic, except the drops CloudStack installs on purpose',
  kinds: ['flow_drop'],
  schema: flowDropSchema,
  analyze: analyzeFlowDrop,
  publish: publishFlowDrop,
  metrics: [
    { name: 'netdiag_ovs_flows', help: 'OpenFlow entries in the latest dump, by verdict (forward, drop_intentional, drop_unexpected)', type: 'gauge', labelNames: ['host', 'bridge', 'verdict'] },
    { name: 'netdiag_ovs_drop_flow_packets', help: 'Packets counted by drop flows in the latest dump (n_packets sum), by reason (intentional, unexpected)', type: 'gauge', labelNames: ['host', 'bridge', 'reason'] },
    { name: 'netdiag_ovs_drop_packets_per_second', help: 'Packets per second dropped by drop flows between the last two dumps, by reason', type: 'gauge', labelNames: ['host', 'bridge', 'reason'] },
  ],
};
