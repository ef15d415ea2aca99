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
};
