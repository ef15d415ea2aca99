/**
 * The nvp_api_exception_burst analyzer: bursts of NVP API exceptions (NiciraNvpApiException and
 * the NVP REST client's errors) in CloudStack management-server logs. Observations come from the
 * cloudstack-log collector (`nvp.exception`, `nvp.command_failure`, `nvp.retry`).
 */
import type { Analyzer } from '../../core/plugin.js';
import { analyzeNvpBursts, nvpBurstConfigSchema, type NvpBurstConfig } from './analyze.js';

export const nvpApiExceptionBurst: Analyzer<NvpBurstConfig> = {
  name: 'nvp-api-exception-burst',
  description: 'bursts of NVP API exceptions (≥ threshold in a sliding window) on a management server, one finding per episode, severity by cause',
  kinds: ['nvp_api_exception_burst'],
  schema: nvpBurstConfigSchema,
  analyze: (obs, cfg) => analyzeNvpBursts(obs, cfg),
  metrics: [
    {
      name: 'netdiag_nvp_api_exception_burst_exceptions',
      help: 'NVP API exceptions in the newest burst episode of each management server (the alert descriptions quote it)',
      type: 'gauge',
      labelNames: ['host'],
    },
  ],
  publish(obs, cfg, sink) {
    sink.reset('netdiag_nvp_api_exception_burst_exceptions');
    const newest = new Map<string, { at: string; count: number }>();
    for (const f of analyzeNvpBursts(obs, cfg)) {
      const host = f.host ?? '';
      const at = f.firstSeen ?? '';
      const cur = newest.get(host);
      if (!cur || at >= cur.at) newest.set(host, { at, count: Number(f.metrics.count) || 0 });
    }
    for (const [host, v] of newest) sink.set('netdiag_nvp_api_exception_burst_exceptions', { host }, v.count);
  },
};
