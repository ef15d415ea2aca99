import { Command, Option } from 'commander';
import type { OrchestratorOptions } from '../core/plugin.js';

/** The orchestrator options shared by diagnose, plan and apply. Secrets may come from env/config instead. */
export function addOrchestratorOptions(cmd: Command): Command {
  return cmd
    .option('--cloudstack-url <url>', 'CloudStack API endpoint, http(s)://host:8080/client/api (env NETDIAG_CLOUDSTACK_URL)')
    .option('--api-key <key>', 'CloudStack API key (env NETDIAG_API_KEY)')
    .option('--secret-key <key>', 'CloudStack secret key (env NETDIAG_SECRET_KEY)')
    .option('--nvp-url <url>', 'NVP controller base URL, https://host (env NETDIAG_NVP_URL)')
    .option('--nvp-user <user>', 'NVP user (env NETDIAG_NVP_USER)')
    .option('--nvp-password <password>', 'NVP password (env NETDIAG_NVP_PASSWORD)')
    .option('--ca-file <file>', 'CA bundle for TLS to the orchestrators (env NETDIAG_CA_FILE)')
    .option('--insecure', 'do not verify TLS certificates of the orchestrators (unsafe)');
}

export function orchestratorFrom(opts: Record<string, unknown>): OrchestratorOptions {
  return {
    cloudstackUrl: opts.cloudstackUrl as string | undefined,
    apiKey: opts.apiKey as string | undefined,
    secretKey: opts.secretKey as string | undefined,
    nvpUrl: opts.nvpUrl as string | undefined,
    nvpUser: opts.nvpUser as string | undefined,
    nvpPassword: opts.nvpPassword as string | undefined,
    caFile: opts.caFile as string | undefined,
    insecure: opts.insecure === true ? true : undefined,
  };
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function formatOption(formats: readonly string[], def: string): Option {
  return new Option('--format <format>', 'output format').choices([...formats]).default(def);
}
