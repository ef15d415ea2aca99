import { analyzers } from '../analyzers/index.js';
import { fileCollectors, onlineCollectors } from '../collectors/index.js';
import { sysfsInterfaceDump } from '../collectors/nic/sysfs.js';
import { describeError } from '../core/errors.js';
import { type Finding, SEVERITY_RANK, worstSeverity } from '../core/finding.js';
import { type InputFile, memoryInput, openInput } from '../core/input.js';
import { ObservationStore, type AnyObservation, type ObservationReader } from '../core/observation.js';
import { type AnalyzerContext, type FileCollector, type Logger, type MetricsSink, nullLogger, nullMetrics, type OrchestratorOptions } from '../core/plugin.js';
import { analyzerConfig, type NetdiagConfig } from './config.js';
import { expandInputs } from './inputs.js';
import { attachPlans, makePlanSet } from './plans.js';

export interface InputReport {
  path: string;
  type: string;
  host?: string;
  records: number;
  error?: string;
  skipped?: number;
  skippedBytes?: number;
  warnings?: string[];
}

export interface Report {
  schema: 'netdiag.report/v1';
  generatedAt: string;
  status: 'ok' | 'warning' | 'critical';
  inputs: InputReport[];
  findings: Finding[];
}

/** Pick the collector most sure of an input, or none. */
export function recognise(input: Parameters<FileCollector['sniff']>[0]): FileCollector | undefined {
  let best: FileCollector | undefined;
  let bestScore = 0;
  for (const c of fileCollectors) {
    let s = 0;
    try {
      s = c.sniff(input);
    } catch {
      s = 0;
    }
    if (s > bestScore) {
      best = c;
      bestScore = s;
    }
  }
  return best;
}

export interface ReadOptions {
  bundles?: readonly string[];
  files?: readonly string[];
  orchestrator?: OrchestratorOptions;
  metrics?: MetricsSink;
  log?: Logger;
  now?: () => number;
}

/** A copied interface directory, read as netdiag's sysfs dump of it. */
async function sysfsDirectoryInput(dir: string, host?: string): Promise<InputFile> {
  const { text, mtime } = await sysfsInterfaceDump(dir, host);
  return memoryInput(dir, text, { host, mtime });
}

/** Read every input once into observations. A bad input is reported, never fatal. */
export async function readInputs(opts: ReadOptions, store = new ObservationStore()): Promise<{ store: ObservationStore; inputs: InputReport[] }> {
  const metrics = opts.metrics ?? nullMetrics;
  const log = opts.log ?? nullLogger;
  const inputs: InputReport[] = [];
  const refs = await expandInputs(opts.bundles ?? [], opts.files ?? []);
  for (const ref of refs) {
    if (ref.error) {
      inputs.push({ path: ref.path, type: 'unknown', host: ref.host, records: 0, error: ref.error });
      continue;
    }
    const rep: InputReport = { path: ref.path, type: 'unknown', host: ref.host, records: 0 };
    inputs.push(rep);
    let emitted = 0;
    try {
      const input = ref.directory === 'sysfs-interface' ? await sysfsDirectoryInput(ref.path, ref.host) : await openInput(ref.path, ref.host);
      rep.host = input.host;
      const collector = recognise(input);
      if (!collector) {
        rep.error =
          input.head.length === 0
            ? 'the file is empty'
            : `content not recognised as any supported input (${describeHead(input.head)}); see README "Inputs" for what netdiag reads`;
        metrics.inc('netdiag_inputs_unreadable_total', { reason: 'unrecognised' });
        continue;
      }
      rep.type = collector.type;
      const stats = await collector.read(input, {
        emit(o: AnyObservation) {
          emitted++;
          const obs = o as { host?: string };
          if (obs.host === undefined && input.host !== undefined) obs.host = input.host;
          store.add(o);
        },
        metrics,
        log,
      });
      rep.records = stats.records;
      if (stats.skipped) rep.skipped = stats.skipped;
      if (stats.skippedBytes) rep.skippedBytes = stats.skippedBytes;
      if (stats.warnings?.length) rep.warnings = stats.warnings.slice(0, 20);
    } catch (e) {
      rep.error = describeError(e);
      // What was read before the failure is kept (and analysed); say how much.
      if (rep.records === 0 && emitted > 0) rep.records = emitted;
      metrics.inc('netdiag_inputs_unreadable_total', { reason: 'error' });
      log.warn('input failed', { path: ref.path, error: rep.error, observationsKept: emitted });
    }
  }
  if (opts.orchestrator) {
    for (const oc of onlineCollectors) {
      if (!oc.applies(opts.orchestrator)) continue;
      const rep: InputReport = { path: oc.type, type: oc.type, records: 0 };
      inputs.push(rep);
      try {
        const stats = await oc.collect(opts.orchestrator, { emit: (o) => store.add(o), metrics, log, now: opts.now ?? Date.now });
        rep.path = stats.source;
        rep.records = stats.records;
        if (stats.warnings?.length) rep.warnings = stats.warnings.slice(0, 20);
      } catch (e) {
        rep.error = describeError(e);
      }
    }
  }
  return { store, inputs };
}

/** Run every analyzer over the observations. One failing analyzer does not stop the others. */
export function runAnalyzers(
  store: ObservationReader,
  cfg: NetdiagConfig | undefined,
  ctx: AnalyzerContext,
  log: Logger = nullLogger,
): { findings: Finding[]; errors: { analyzer: string; error: string }[] } {
  const findings: Finding[] = [];
  const errors: { analyzer: string; error: string }[] = [];
  for (const a of analyzers) {
    try {
      findings.push(...a.analyze(store, analyzerConfig(cfg, a.name), ctx));
    } catch (e) {
      const error = describeError(e);
      errors.push({ analyzer: a.name, error });
      log.error('analyzer failed', { analyzer: a.name, error });
    }
  }
  findings.sort((x, y) => SEVERITY_RANK[y.severity] - SEVERITY_RANK[x.severity] || x.kind.localeCompare(y.kind) || x.id.localeCompare(y.id));
  return { findings, errors };
}

export function statusOf(findings: readonly Finding[]): Report['status'] {
  const w = worstSeverity(findings);
  return w === 'critical' ? 'critical' : w === 'warning' ? 'warning' : 'ok';
}

/**
 * Nagios-style exit status: 2 critical, 1 warning; otherwise 3 (UNKNOWN) when an input could not
 * be read or recognised — the health of what it holds is unknown — and 0 when all is well.
 */
export function exitCodeOf(report: Report): number {
  if (report.status === 'critical') return 2;
  if (report.status === 'warning') return 1;
  if (report.inputs.some((i) => i.error !== undefined)) return 3;
  return 0;
}

export interface DiagnoseOptions extends ReadOptions {
  config?: NetdiagConfig;
}

/** The one-off diagnosis: read everything once, analyze, report. */
export async function diagnose(opts: DiagnoseOptions): Promise<Report> {
  const now = opts.now ?? Date.now;
  const { store, inputs } = await readInputs(opts);
  const { findings, errors } = runAnalyzers(store, opts.config, { now: now(), mode: 'diagnose', state: new Map() }, opts.log);
  for (const e of errors) inputs.push({ path: `analyzer:${e.analyzer}`, type: 'analyzer', records: 0, error: e.error });
  attachPlans(findings, makePlanSet(findings, now()).plans);
  return { schema: 'netdiag.report/v1', generatedAt: new Date(now()).toISOString(), status: statusOf(findings), inputs, findings };
}

/** The first bytes of an unrecognised input: as text when they are text, else in hex (binary). */
export function describeHead(head: Buffer): string {
  const first = head.subarray(0, 40);
  const text = first.toString('utf8');
  // eslint-disable-next-line no-control-regex
  const binary = text.includes('\uFFFD') || /[\x00-\x08\x0e-\x1f\x7f]/.test(text);
  return binary ? `binary content, first bytes ${[...first.subarray(0, 16)].map((b) => b.toString(16).padStart(2, '0')).join(' ')}` : `first bytes: ${JSON.stringify(text)}`;
}

