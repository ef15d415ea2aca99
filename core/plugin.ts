/**
 * The contracts every collector and analyzer implements. Registries (collectors/index.ts,
 * analyzers/index.ts) list them explicitly; the engine wires them for `diagnose` and `serve`.
 */
import type { z } from 'zod';
import type { AnyObservation, Observation, ObservationKind, ObservationReader } from './observation.js';
import type { Finding } from './finding.js';
import type { InputFile } from './input.js';
import type { Exec } from './exec.js';

/** A Prometheus series a plugin contributes. Labels must stay bounded (never a match or an IP). */
export interface MetricSpec {
  name: string; // must start with netdiag_
  help: string;
  type: 'counter' | 'gauge';
  labelNames: readonly string[];
}

/** Where plugins write metric values; a no-op in `diagnose`, prom-client in `serve`. */
export interface MetricsSink {
  inc(name: string, labels?: Record<string, string>, value?: number): void;
  set(name: string, labels: Record<string, string>, value: number): void;
  /** Remove every series of a gauge, before re-publishing a fresh snapshot of it. */
  reset(name: string): void;
}

export const nullMetrics: MetricsSink = { inc() {}, set() {}, reset() {} };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export const nullLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

export interface ReadStats {
  /** Records recognised (log records, flows, packets, counters...). */
  records: number;
  /** Lines or records that could not be parsed and were skipped. */
  skipped?: number;
  /** Bytes that were skipped (garbage, binary, over-long lines). */
  skippedBytes?: number;
  /** Non-fatal problems worth telling the user about. */
  warnings?: string[];
}

export interface ParseContext {
  emit(o: AnyObservation): void;
  metrics: MetricsSink;
  log: Logger;
}

/** Reads one kind of input file (from a bundle or the command line), recognised by content. */
export interface FileCollector {
  /** The input type reported in the report's `inputs[].type`, e.g. `cloudstack-log`. */
  type: string;
  description: string;
  /**
   * How sure this collector is that the file is its kind, 0 = not mine, 1 = certain.
   * `head` is the first 64 KiB of decompressed content, `body` the same as text without the
   * `# command:` header lines.
   */
  sniff(input: Pick<InputFile, 'path' | 'head' | 'body' | 'header'>): number;
  read(input: InputFile, ctx: ParseContext): Promise<ReadStats>;
}

export interface LiveContext extends ParseContext {
  exec: Exec;
  /** The host this appliance runs on (for observations' `host`). */
  host: string;
  /** Root directories, so tests can point collectors at fixture trees. */
  roots: { sys: string; proc: string };
  /** Directory for checkpoints and collector state (created by the appliance); none = no resume. */
  stateDir?: string;
  now(): number;
  /** Where the orchestrator APIs are (serve's `orchestrator:` section and NETDIAG_* environment). */
  orchestrator?: OrchestratorOptions;
  /**
   * Replace every observation of these kinds by `items` at once (a poll that is a whole snapshot,
   * e.g. an inventory); collectors fall back to `emit` where it is absent.
   */
  replace?(kinds: readonly ObservationKind[], items: readonly AnyObservation[]): void;
}

/** A source polled or followed on the local host or an API (the appliance, `collect`). */
export interface LiveCollector<Cfg = unknown> {
  name: string;
  description: string;
  /** Section under `collectors:` in the serve config; defaults come from the schema. */
  schema: z.ZodType<Cfg, z.ZodTypeDef, unknown>;
  /** Whether the collector runs when the config does not mention it. */
  enabledByDefault: boolean;
  /** Runs only when an orchestrator URL is configured (otherwise it is not started at all). */
  requiresOrchestrator?: boolean;
  /** Seconds between polls (for `poll`). */
  interval(cfg: Cfg): number;
  poll?(ctx: LiveContext, cfg: Cfg, signal: AbortSignal): Promise<ReadStats>;
  /** Long-running followers (log tails, captures) run until the signal aborts. */
  run?(ctx: LiveContext, cfg: Cfg, signal: AbortSignal): Promise<void>;
  metrics?: readonly MetricSpec[];
  /** Heavy snapshot kinds the appliance keeps only the latest `keep` of, per group (e.g. per host+bridge). */
  retainLatest?: readonly { kind: ObservationKind; keep: number; groupBy(o: Observation): string }[];
}

export interface AnalyzerContext {
  /** ms since the epoch: the report time in diagnose, the wall clock in serve. */
  now: number;
  mode: 'diagnose' | 'serve';
  /** State an analyzer carries between runs in `serve` (e.g. how long a switch has looked stale). */
  state: Map<string, unknown>;
}

export interface Analyzer<Cfg = unknown> {
  name: string;
  description: string;
  /** Finding kinds this analyzer can produce. */
  kinds: readonly string[];
  /** Section under `analyzers:` in the config; defaults come from the schema. */
  schema: z.ZodType<Cfg, z.ZodTypeDef, unknown>;
  analyze(obs: ObservationReader, cfg: Cfg, ctx: AnalyzerContext): Finding[];
  metrics?: readonly MetricSpec[];
  /** Publish analyzer-specific gauges from the current observations (serve only). */
  publish?(obs: ObservationReader, cfg: Cfg, sink: MetricsSink): void;
}

/** How to reach the orchestrators; the same options everywhere (CLI, config file, environment). */
export interface OrchestratorOptions {
  cloudstackUrl?: string;
  apiKey?: string;
  secretKey?: string;
  nvpUrl?: string;
  nvpUser?: string;
  nvpPassword?: string;
  /** CA bundle for TLS to the orchestrators. */
  caFile?: string;
  /** Skip TLS verification (loudly). */
  insecure?: boolean;
  /** CloudStack API request starts per second at most (client default 20). */
  cloudstackRateLimitPerSecond?: number;
  /** Items per page when listing CloudStack (client default 500, CloudStack's default.page.size). */
  cloudstackPageSize?: number;
  /** Items per page when listing NVP (`_page_length`, client default 100). */
  nvpPageLength?: number;
}

/** Reads inventory from a live API for `diagnose`/`plan` (CloudStack, NVP). */
export interface OnlineCollector {
  /** Input type in the report, e.g. `cloudstack-api`. */
  type: string;
  description: string;
  applies(o: OrchestratorOptions): boolean;
  /** Returns the (secret-free) source name for the report and what was read. */
  collect(o: OrchestratorOptions, ctx: ParseContext & { now(): number }): Promise<ReadStats & { source: string }>;
}
