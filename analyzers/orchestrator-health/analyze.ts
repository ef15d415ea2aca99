/**
 * The orchestrators' own health as netdiag sees it:
 *  - `nvp_control_cluster_unstable`: `GET /ws.v1/control-cluster/status` says something other than
 *    `stable`. CloudStack's NiciraNvpResource then sends no ping answer ("ControlCluster state is
 *    not stable"), the device host goes Disconnected/Alert and network implementation fails (§2.6).
 *  - `orchestrator_listing_incomplete` (info): a CloudStack or NVP listing failed or was partial,
 *    so stale detection stayed silent on purpose; the report says why.
 */
import { z } from 'zod';
import { type Finding, makeFinding } from '../../core/finding.js';
import { latestListings } from '../../core/listings.js';
import type { Observation, ObservationReader } from '../../core/observation.js';
import type { AnalyzerContext } from '../../core/plugin.js';

export const orchestratorHealthSchema = z
  .object({
    /** Severity of a control cluster that is not stable. */
    clusterSeverity: z.enum(['info', 'warning', 'critical']).default('critical'),
  })
  .strict();
export type OrchestratorHealthConfig = z.infer<typeof orchestratorHealthSchema>;

export function latestClusterStatus(obs: ObservationReader): Observation<'nvp.cluster'>[] {
  const by = new Map<string, Observation<'nvp.cluster'>>();
  for (const o of obs.get('nvp.cluster')) {
    const k = o.data.controller ?? o.source;
    const prev = by.get(k);
    if (!prev || (o.at ?? 0) >= (prev.at ?? 0)) by.set(k, o);
  }
  return [...by.values()];
}

export function analyzeOrchestratorHealth(obs: ObservationReader, cfg: OrchestratorHealthConfig, ctx: AnalyzerContext): Finding[] {
  const findings: Finding[] = [];
  for (const o of latestClusterStatus(obs)) {
    const st = o.data;
    if (st.clusterStatus === 'stable') continue;
    const degraded = Object.entries(st.stats)
      .filter(([, s]) => (s.error_state_count ?? 0) > 0 || (s.registered_count !== undefined && s.active_count !== undefined && s.active_count < s.registered_count))
      .map(([k, s]) => `${k}: active ${s.active_count ?? '?'} of ${s.registered_count ?? '?'}, errors ${s.error_state_count ?? 0}`);
    findings.push(
      makeFinding({
        kind: 'nvp_control_cluster_unstable',
        severity: cfg.clusterSeverity,
        subject: { controller: st.controller ?? o.source },
        summary: `NVP control cluster ${st.controller ?? o.source} reports cluster_status "${st.clusterStatus}": CloudStack logs "ControlCluster state is not stable" and stops pinging the device, so networks on it cannot be implemented`,
        metrics: { stable: 0, ...(st.stats.node_stats ? { activeNodes: st.stats.node_stats.active_count, registeredNodes: st.stats.node_stats.registered_count } : {}) },
        evidence: [{ source: o.source, excerpt: `cluster_status=${st.clusterStatus}${degraded.length ? `; ${degraded.join('; ')}` : ''}${st.apiVersion ? `; api_provider ${st.apiVersion}` : ''}` }],
        lastSeen: new Date(o.at ?? ctx.now).toISOString(),
      }),
    );
  }
  for (const l of latestListings(obs).values()) {
    if (l.complete) continue;
    findings.push(
      makeFinding({
        kind: 'orchestrator_listing_incomplete',
        severity: 'info',
        subject: { source: l.source, what: l.what },
        summary: `the ${l.source} ${l.what} listing ${l.error ? `failed: ${l.error}` : 'was partial'}; stale switches and bridges are not judged without it`,
        metrics: { count: l.count },
        evidence: [{ source: l.source, excerpt: l.error ?? 'incomplete listing' }],
      }),
    );
  }
  return findings;
}
