/** Build the API clients from the shared orchestrator options (CLI, config file, environment). */
import { NetdiagError } from '../core/errors.js';
import type { Logger, OrchestratorOptions } from '../core/plugin.js';
import { CloudStackClient, type CloudStackClientOptions } from './cloudstack/client.js';
import { NvpClient, type NvpClientOptions } from './nvp/client.js';

/** The CloudStack client `o` describes (undefined without a URL); `extra` tunes it (tests). */
export function cloudstackClientFrom(o: OrchestratorOptions, log?: Logger, extra: Partial<CloudStackClientOptions> = {}): CloudStackClient | undefined {
  if (!o.cloudstackUrl) return undefined;
  if (!o.apiKey || !o.secretKey)
    throw new NetdiagError('E_ARGS', `--cloudstack-url ${o.cloudstackUrl} needs --api-key and --secret-key`, { remedy: 'give them on the command line, in NETDIAG_API_KEY/NETDIAG_SECRET_KEY or in the config file' });
  return new CloudStackClient({ url: o.cloudstackUrl, apiKey: o.apiKey, secretKey: o.secretKey, caFile: o.caFile, insecure: o.insecure, rateLimitPerSecond: o.cloudstackRateLimitPerSecond, pageSize: o.cloudstackPageSize, log, ...extra });
}

/** The NVP client `o` describes (undefined without a URL); `extra` tunes it (tests). */
export function nvpClientFrom(o: OrchestratorOptions, log?: Logger, extra: Partial<NvpClientOptions> = {}): NvpClient | undefined {
  if (!o.nvpUrl) return undefined;
  if (!o.nvpUser || !o.nvpPassword)
    throw new NetdiagError('E_ARGS', `--nvp-url ${o.nvpUrl} needs --nvp-user and --nvp-password`, { remedy: 'give them on the command line, in NETDIAG_NVP_USER/NETDIAG_NVP_PASSWORD or in the config file' });
  return new NvpClient({ url: o.nvpUrl, user: o.nvpUser, password: o.nvpPassword, caFile: o.caFile, insecure: o.insecure, pageLength: o.nvpPageLength, log, ...extra });
}
