import type { Analyzer } from '../../core/plugin.js';
import { analyzeStaleLogicalSwitches, KIND, staleLogicalSwitchSchema, type StaleLogicalSwitchConfig } from './analyze.js';

export const staleLogicalSwitch: Analyzer<StaleLogicalSwitchConfig> = {
  name: 'stale_logical_switch',
  description: 'NVP logical switches with CloudStack\'s cs_account tag that no CloudStack network references (leaked), after a grace period',
  kinds: [KIND],
  schema: staleLogicalSwitchSchema,
  analyze: analyzeStaleLogicalSwitches,
  metrics: [{ name: 'netdiag_stale_logical_switches', help: 'NVP logical switches tagged by CloudStack that no CloudStack network references (diagnose rules: creation-time grace only)', type: 'gauge', labelNames: [] }],
  publish(obs, cfg, sink) {
    const n = analyzeStaleLogicalSwitches(obs, cfg, { now: Date.now(), mode: 'diagnose', state: new Map() }).length;
    sink.set('netdiag_stale_logical_switches', {}, n);
  },
};
