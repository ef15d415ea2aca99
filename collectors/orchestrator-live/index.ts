/**
 * `orchestrator` (live): `netdiag serve` reads the CloudStack and NVP inventories on a schedule
 * through the same online collectors `diagnose --cloudstack-url/--nvp-url` uses, so stale
 * switches and bridges, the control-cluster state and the listing health are judged live (the
 * stale analyzers' grace period counts in `serve` across these polls).
 *
 * Each poll is a snapshot: the orchestrator kinds in the appliance's store are replaced by what
 * this poll read, so a switch deleted in NVP or a network deleted in CloudStack is gone at once
 * rather than lingering until retention. A failed listing replaces too — with its failed
 * `orchestrator.listing` status, which makes the stale analyzers stay silent.
 */
import { z } from 'zod';
import { describeError } from '../../core/errors.js';
import type { AnyObservation, ObservationKind } from '../../core/observation.js';
import type { LiveCollector, MetricSpec, OnlineCollector, ReadStats } from '../../core/plugin.js';
import { cloudstackApiCollector } from '../cloudstack-api/index.js';
import { nvpApiCollector } from '../nvp-api/index.js';

/** Every kind the online collectors emit; a poll replaces all of them. */
export const ORCHESTRATOR_KINDS: readonly ObservationKind[] = [
  'cloudstack.zone',
  'cloudstack.physicalnetwork',
  'cloudstack.network',
  'cloudstack.host',
  'cloudstack.nvpdevice',
  'cloudstack.config',
  'nvp.lswitch',
  'nvp.cluster',
  'orchestrator.listing',
];

export const orchestratorLiveSchema = z
  .object({
    /**
     * Seconds between inventory reads. The default keeps a big CloudStack (thousands of
     * networks, paged and rate-limited) comfortably inside one interval.
     */
    intervalSeconds: z.number().positive().default(300),
  })
  .strict();
export type OrchestratorLiveConfig = z.infer<typeof orchestratorLiveSchema>;

const metrics: MetricSpec[] = [
  { name: 'netdiag_orchestrator_poll_failures_total', help: 'Inventory reads of an orchestrator API that failed or were partial', type: 'counter', labelNames: ['source'] },
  { name: 'netdiag_orchestrator_records', help: 'Inventory records read by the last poll of an orchestrator API', type: 'gauge', labelNames: ['source'] },
  { name: 'netdiag_orchestrator_last_complete_timestamp_seconds', help: 'When an orchestrator API was last read completely (Unix seconds)', type: 'gauge', labelNames: ['source'] },
];

/** `cloudstack-api` → `cloudstack`: a bounded label. */
const sourceLabel = (oc: OnlineCollector) => oc.type.replace(/-api$/, '');

export function makeOrchestratorLiveCollector(online: readonly OnlineCollector[] = [nvpApiCollector, cloudstackApiCollector]): LiveCollector<OrchestratorLiveConfig> {
  return {
    name: 'orchestrator',
    description: 'reads the CloudStack and NVP inventories through their APIs on a schedule (the `orchestrator:` section says where)',
    schema: orchestratorLiveSchema,
    enabledByDefault: true,
    requiresOrchestrator: true,
    interval: (cfg) => cfg.intervalSeconds,
    metrics,
    async poll(ctx, _cfg, signal): Promise<ReadStats> {
      const o = ctx.orchestrator ?? {};
      const snapshot: AnyObservation[] = [];
      const warnings: string[] = [];
      const failures: string[] = [];
      let records = 0;
      let ran = 0;
      for (const oc of online) {
        if (signal.aborted) break;
        if (!oc.applies(o)) continue;
        ran++;
        const label = sourceLabel(oc);
        let read = 0;
        try {
          const stats = await oc.collect(o, { emit: (x) => (snapshot.push(x), read++), metrics: ctx.metrics, log: ctx.log, now: ctx.now });
          for (const w of stats.warnings ?? []) warnings.push(`${label}: ${w}`);
          ctx.metrics.set('netdiag_orchestrator_last_complete_timestamp_seconds', { source: label }, Math.floor(ctx.now() / 1000));
        } catch (e) {
          // What was read before the failure is kept, with the failed listing status that says so.
          failures.push(`${label}: ${describeError(e)}`);
          ctx.metrics.inc('netdiag_orchestrator_poll_failures_total', { source: label });
        }
        ctx.metrics.set('netdiag_orchestrator_records', { source: label }, read);
        records += read;
      }
      if (signal.aborted) return { records: 0 };
      if (!ctx.replace) for (const x of snapshot) ctx.emit(x);
      else ctx.replace(ORCHESTRATOR_KINDS, snapshot);
      if (ran === 0) warnings.push('no orchestrator configured (orchestrator.cloudstackUrl / nvpUrl)');
      if (failures.length === ran && ran > 0) throw new Error(failures.join('; '));
      return { records, warnings: [...failures, ...warnings] };
    },
  };
}

export const orchestratorLiveCollector = makeOrchestratorLiveCollector();
