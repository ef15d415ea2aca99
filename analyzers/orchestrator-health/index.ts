import type { Analyzer } from '../../core/plugin.js';
import { latestListings } from '../../core/listings.js';
import { analyzeOrchestratorHealth, latestClusterStatus, orchestratorHealthSchema, type OrchestratorHealthConfig } from './analyze.js';

export const orchestratorHealth: Analyzer<OrchestratorHealthConfig> = {
  name: 'orchestrator_health',
  description: 'NVP control-cluster status and whether the CloudStack/NVP listings stale detection relies on were complete',
  kinds: ['nvp_control_cluster_unstable', 'orchestrator_listing_incomplete'],
  schema: orchestratorHealthSchema,
  analyze: analyzeOrchestratorHealth,
  metrics: [
    { name: 'netdiag_nvp_control_cluster_stable', help: '1 when the NVP control cluster reports cluster_status "stable", else 0', type: 'gauge', labelNames: ['controller'] },
    { name: 'netdiag_orchestrator_listing_complete', help: '1 when the latest orchestrator listing was complete, 0 when it failed or was partial', type: 'gauge', labelNames: ['source', 'what'] },
  ],
  publish(obs, _cfg, sink) {
    sink.reset('netdiag_nvp_control_cluster_stable');
    for (const o of latestClusterStatus(obs)) sink.set('netdiag_nvp_control_cluster_stable', { controller: o.data.controller ?? o.source }, o.data.clusterStatus === 'stable' ? 1 : 0);
    sink.reset('netdiag_orchestrator_listing_complete');
    for (const l of latestListings(obs).values()) sink.set('netdiag_orchestrator_listing_complete', { source: l.source, what: l.what }, l.complete ? 1 : 0);
  },
};
