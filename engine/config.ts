import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { analyzers } from '../analyzers/index.js';
import { liveCollectors } from '../collectors/index.js';
import { NetdiagError } from '../core/errors.js';
import type { OrchestratorOptions } from '../core/plugin.js';

/**
 * The appliance configuration. Every field has a documented default, so an empty file (or none)
 * is a valid configuration. Sections per collector and analyzer come from their own schemas.
 */
export function configSchema() {
  const collectorShape: Record<string, z.ZodTypeAny> = {};
  for (const c of liveCollectors) collectorShape[c.name] = z.record(z.string(), z.unknown()).default({});
  const analyzerShape: Record<string, z.ZodTypeAny> = {};
  for (const a of analyzers) analyzerShape[a.name] = a.schema.default({} as never);
  return z
    .object({
      /** Address `serve` listens on. */
      listen: z.object({ host: z.string().default('127.0.0.1'), port: z.number().int().min(0).max(65535).default(9650) }).strict().default({}),
      /** Name of this host in observations and metrics (default: the OS hostname). */
      host: z.string().min(1).optional(),
      /** Seconds between analyzer runs in serve. */
      analyzeIntervalSeconds: z.number().positive().default(10),
      /** A finding no analyzer reports any more is dropped (resolved) after this many seconds. */
      findingResolveAfterSeconds: z.number().positive().default(300),
      /** How long observations are kept in memory for windowed analyzers (seconds). */
      retentionSeconds: z.number().positive().default(3600),
      /** Directory for follower checkpoints and state. */
      stateDir: z.string().default('/var/lib/netdiag'),
      /** Bearer token required by mutating API calls (apply). Read from NETDIAG_API_TOKEN if unset. */
      apiToken: z.string().min(16).optional(),
      orchestrator: z
        .object({
          cloudstackUrl: z.string().url().optional(),
          apiKey: z.string().optional(),
          secretKey: z.string().optional(),
          nvpUrl: z.string().url().optional(),
          nvpUser: z.string().optional(),
          nvpPassword: z.string().optional(),
          caFile: z.string().optional(),
          insecure: z.boolean().default(false),
          /** CloudStack API request starts per second at most: keep a busy management server responsive. */
          cloudstackRateLimitPerSecond: z.number().positive().max(1000).default(20),
          /** `pagesize` of CloudStack listings; at most the server's `default.page.size`. */
          cloudstackPageSize: z.number().int().min(1).max(10000).default(500),
          /** NVP `_page_length` (the controller caps it at 1000). */
          nvpPageLength: z.number().int().min(1).max(1000).default(100),
        })
        .strict()
        .default({}),
      /**
       * Push the same metrics as /metrics to an OpenTelemetry collector (OTLP/HTTP JSON). Without
       * this section, env OTEL_EXPORTER_OTLP_METRICS_ENDPOINT (or OTEL_EXPORTER_OTLP_ENDPOINT +
       * /v1/metrics) turns it on; neither: no push.
       */
      otlp: z
        .object({
          endpoint: z.string().url(),
          intervalSeconds: z.number().min(0.05).max(3600).default(60),
          timeoutSeconds: z.number().positive().max(300).default(10),
          /** Extra request headers (e.g. an auth token): never logged. */
          headers: z.record(z.string(), z.string()).default({}),
        })
        .strict()
        .optional(),
      collectors: z.object(collectorShape).strict().default({}),
      analyzers: z.object(analyzerShape).strict().default({}),
    })
    .strict();
}

export type NetdiagConfig = z.infer<ReturnType<typeof configSchema>>;

/** Validate a parsed config and report every problem at once, each with its path. */
export function validateConfig(raw: unknown, source = 'configuration'): NetdiagConfig {
  const schema = configSchema();
  const res = schema.safeParse(raw ?? {});
  if (!res.success) {
    const problems = res.error.issues.map((i) => `  - ${i.path.join('.') || '(top level)'}: ${i.message}`);
    throw new NetdiagError('E_CONFIG', `${source} has ${problems.length} problem(s):\n${problems.join('\n')}`, {
      remedy: 'fix the listed fields; see README "Configuration" for every field and its default',
    });
  }
  // Collector sections: validate each against the collector's own schema too.
  const problems: string[] = [];
  const cfg = res.data as NetdiagConfig;
  const collectors = cfg.collectors as Record<string, unknown>;
  for (const c of liveCollectors) {
    const { enabled, ...rest } = (collectors[c.name] ?? {}) as { enabled?: boolean };
    const r = c.schema.safeParse(rest);
    if (!r.success) for (const i of r.error.issues) problems.push(`  - collectors.${c.name}.${i.path.join('.')}: ${i.message}`);
    else collectors[c.name] = { ...(r.data as object), enabled: enabled ?? c.enabledByDefault };
  }
  if (problems.length) throw new NetdiagError('E_CONFIG', `${source} has ${problems.length} problem(s):\n${problems.join('\n')}`);
  return cfg;
}

export async function loadConfig(path?: string): Promise<NetdiagConfig> {
  if (!path) return validateConfig({});
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new NetdiagError('E_CONFIG', `config file ${path} could not be read: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw new NetdiagError('E_CONFIG', `config file ${path} is not valid YAML/JSON: ${(e as Error).message}`);
  }
  return validateConfig(raw, `config file ${path}`);
}

/** Orchestrator options: command line first, then environment, then the config file. */
export function resolveOrchestrator(cli: OrchestratorOptions, cfg?: NetdiagConfig, env: NodeJS.ProcessEnv = process.env): OrchestratorOptions {
  const o = cfg?.orchestrator ?? ({} as Partial<NetdiagConfig['orchestrator']>);
  return {
    cloudstackUrl: cli.cloudstackUrl ?? env.NETDIAG_CLOUDSTACK_URL ?? o.cloudstackUrl,
    apiKey: cli.apiKey ?? env.NETDIAG_API_KEY ?? o.apiKey,
    secretKey: cli.secretKey ?? env.NETDIAG_SECRET_KEY ?? o.secretKey,
    nvpUrl: cli.nvpUrl ?? env.NETDIAG_NVP_URL ?? o.nvpUrl,
    nvpUser: cli.nvpUser ?? env.NETDIAG_NVP_USER ?? o.nvpUser,
    nvpPassword: cli.nvpPassword ?? env.NETDIAG_NVP_PASSWORD ?? o.nvpPassword,
    caFile: cli.caFile ?? env.NETDIAG_CA_FILE ?? o.caFile,
    insecure: cli.insecure ?? (env.NETDIAG_INSECURE === '1' ? true : undefined) ?? o.insecure,
    cloudstackRateLimitPerSecond: cli.cloudstackRateLimitPerSecond ?? o.cloudstackRateLimitPerSecond,
    cloudstackPageSize: cli.cloudstackPageSize ?? o.cloudstackPageSize,
    nvpPageLength: cli.nvpPageLength ?? o.nvpPageLength,
  };
}

export function analyzerConfig(cfg: NetdiagConfig | undefined, name: string): unknown {
  const a = analyzers.find((x) => x.name === name);
  if (!a) throw new NetdiagError('E_INTERNAL', `no analyzer ${name}`);
  const section = (cfg?.analyzers as Record<string, unknown> | undefined)?.[name];
  return section ?? a.schema.parse({});
}
