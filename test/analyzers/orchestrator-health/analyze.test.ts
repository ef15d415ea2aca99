import { describe, expect, it } from 'vitest';
import { ObservationStore } from '../../../core/observation.js';
import { analyzeOrchestratorHealth, orchestratorHealthSchema } from '../../../analyzers/orchestrator-health/analyze.js';
import { orchestratorHealth } from '../../../analyzers/orchestrator-health/index.js';

const ctx = { now: Date.parse('2026-11-22T21:00:00Z'), mode: 'diagnose' as const, state: new Map() };
const cfg = orchestratorHealthSchema.parse({});

function store(status: string, listingOk: boolean) {
  const s = new ObservationStore();
  s.add({ kind: 'nvp.cluster', at: ctx.now - 1000, source: 'https://192.0.2.50/ws.v1/control-cluster/status', data: { controller: 'https://192.0.2.50/ws.v1', clusterStatus: 'stable', stats: {} } });
  s.add({
    kind: 'nvp.cluster',
    at: ctx.now,
    source: 'https://192.0.2.50/ws.v1/control-cluster/status',
    data: { controller: 'https://192.0.2.50/ws.v1', clusterStatus: status, stats: { node_stats: { registered_count: 3, active_count: 2, error_state_count: 0 }, switch_stats: { registered_count: 6, active_count: 6, error_state_count: 0 } } },
  });
  s.add({ kind: 'orchestrator.listing', at: ctx.now, source: 'cs', data: { source: 'cloudstack', what: 'networks', complete: listingOk, count: 2, ...(listingOk ? {} : { error: 'E_HTTP: HTTP 503' }) } });
  return s;
}

describe('orchestrator_health', () => {
  it('says nothing when the latest cluster status is stable and listings are complete', () => {
    expect(analyzeOrchestratorHealth(store('stable', true), cfg, ctx)).toEqual([]);
  });

  it('reports an unstable control cluster (critical) with the degraded stats, and a failed listing (info)', () => {
    const f = analyzeOrchestratorHealth(store('degraded', false), cfg, ctx);
    expect(f.map((x) => `${x.kind} ${x.severity}`)).toEqual(['nvp_control_cluster_unstable critical', 'orchestrator_listing_incomplete info']);
    expect(f[0]!.evidence[0]!.excerpt).toBe('cluster_status=degraded; node_stats: active 2 of 3, errors 0');
    expect(f[0]!.metrics).toMatchObject({ stable: 0, activeNodes: 2, registeredNodes: 3 });
    expect(f[1]!.summary).toMatch(/cloudstack networks listing failed: E_HTTP: HTTP 503/);
  });

  it('publishes the gauges', () => {
    const set: string[] = [];
    orchestratorHealth.publish!(store('degraded', false), cfg, { inc() {}, reset() {}, set: (n, l, v) => set.push(`${n}${JSON.stringify(l)} ${v}`) });
    expect(set).toEqual([
      'netdiag_nvp_control_cluster_stable{"controller":"https://192.0.2.50/ws.v1"} 0',
      'netdiag_orchestrator_listing_complete{"source":"cloudstack","what":"networks"} 0',
    ]);
  });
});
