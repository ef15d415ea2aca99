import type { Analyzer } from '../../core/plugin.js';
import { analyzeFlowInvalidOutput, type FlowInvalidOutputConfig, flowInvalidOutputSchema, publishFlowInvalidOutput } from './analyze.js';

export const flowInvalidOutput: Analyzer<FlowInvalidOutputConfig> = {
  name: 'flow_invalid_output',
  description: 'OpenFlow outputs to port 0, to ports absent from the bridge, or to interfaces OVS could not add',
  kinds: ['flow_invalid_output'],
  schema: flowInvalidOutputSchema,
  analyze: analyzeFlowInvalidOutput,
  publish: publishFlowInvalidOutput,
  metrics: [
    { name: 'netdiag_ovs_invalid_output_flows', help: 'Flows of the latest dump whose output cannot deliver, by reason (port_zero, absent_port, ofport_invalid, interface_error)', type: 'gauge', labelNames: ['host', 'bridge', 'reason'] },
    { name: 'netdiag_ovs_invalid_output_packets_per_second', help: 'Packets per second matched by flows whose output cannot deliver, between the last two dumps, by reason', type: 'gauge', labelNames: ['host', 'bridge', 'reason'] },
  ],
};
