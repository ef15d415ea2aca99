/**
 * The live appliance (`netdiag serve`): runs the enabled live collectors (polls on their
 * schedules, followers until stopped) into one ObservationStore, runs every analyzer on an
 * interval — the same `runAnalyzers` as `diagnose` — with carried state, and keeps the findings
 * by id with first/last seen. One failing collector is recorded and the rest goes on.
 */
import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { analyzers } from '../analyzers/index.js';
import { liveCollectors } from '../collectors/index.js';
import { describeError, NetdiagError } from '../core/errors.js';
import { runCommand, type Exec } from '../core/exec.js';
import type { Finding, Severity } from '../core/finding.js';
import { ObservationStore, type AnyObservation } from '../core/observation.js';
import { type LiveCollector, type LiveContext, type Logger, type MetricSpec, type MetricsSink, nullLogger } from '../core/plugin.js';
import type { ObservationKind } from '../core/observation.js';
import type { OrchestratorOptions } from '../core/plugin.js';
import { analyzerConfig, resolveOrchestrator, type NetdiagConfig } from './config.js';
import { runAnalyzers } from './pipeline.js';
import { makePlanSet } from './plans.js';
import type { PlanSet } from '../core/plan.js';
import { cloudstackClientFrom, nvpClientFrom } from '../orchestrator/clients.js';
import { type ApplyResult, applyPlan } from '../remediation/executor.js';
import { fileJournal } from '../remediation/journal.js';
import { join } from 'node:path';
import { sleep } from '../core/sleep.js';

/** The appliance's own series (collector health, findings, analysis). */
export const APPLIANCE_METRICS: MetricSpec[] = [
  { name: 'netdiag_collector_up', help: '1 when the collector\'s last poll (or its follower) succeeded, else 0', type: 'gauge', labelNames: ['collector'] },
  { name: 'netdiag_collector_errors_total', help: 'Failed polls or follower crashes per collector', type: 'counter', labelNames: ['collector'] },
  { name: 'netdiag_collector_last_success_timestamp_seconds', help: 'When the collector last succeeded (Unix seconds)', type: 'gauge', labelNames: ['collector'] },
  { name: 'netdiag_collector_poll_duration_seconds', help: 'Duration of the collector\'s last poll', type: 'gauge', labelNames: ['collector'] },
  { name: 'netdiag_collector_records_total', help: 'Records (lines, flows, counters, packets) read per collector', type: 'counter', labelNames: ['collector'] },
  { name: 'netdiag_plan_applies_total', help: 'Plans applied through POST /api/v1/plans/:id/apply, by finding kind and result (dry-run, applied, refused, failed)', type: 'counter', labelNames: ['kind', 'status'] },
  { name: 'netdiag_otlp_exports_total', help: 'OTLP metric pushes to an OpenTelemetry collector by result (ok, error)', type: 'counter', labelNames: ['result'] },
  { name: 'netdiag_findings', help: 'Active findings by kind and severity', type: 'gauge', labelNames: ['kind', 'severity'] },
  { name: 'netdiag_finding_active', help: 'Active findings by kind, severity and host', type: 'gauge', labelNames: ['kind', 'severity', 'host'] },
  { name: 'netdiag_analyzer_errors_total', help: 'Analyzer runs that threw (the others still ran)', type: 'counter', labelNames: ['analyzer'] },
  { name: 'netdiag_analysis_duration_seconds', help: 'Duration of the last run of all analyzers', type: 'gauge', labelNames: [] },
  { name: 'netdiag_observations', help: 'Observations held in memory', type: 'gauge', labelNames: [] },
  { name: 'netdiag_inputs_unreadable_total', help: 'Inputs that could not be read or recognised', type: 'counter', labelNames: ['reason'] },
];

/** Every metric the appliance can write: its own plus every plugin's declared ones. */
export function allMetricSpecs(): MetricSpec[] {
  const out: MetricSpec[] = [...APPLIANCE_METRICS];
  for (const c of liveCollectors) out.push(...(c.metrics ?? []));
  for (const a of analyzers) out.push(...(a.metrics ?? []));
  return out;
}

export interface CollectorHealth {
  collector: string;
  mode: 'poll' | 'follow';
  up: boolean;
  lastSuccess?: string;
  lastError?: string;
  errors: number;
}

export interface TrackedFinding extends Finding {
  firstSeen: string;
  lastSeen: string;
}

export interface ApplianceOptions {
  metrics: MetricsSink;
  log?: Logger;
  exec?: Exec;
  roots?: { sys: string; proc: string };
  now?: () => number;
  /** The live collectors to run (default: the registry); tests pass their own. */
  collectors?: readonly LiveCollector<any>[];
  /** Environment for NETDIAG_* orchestrator settings (default: process.env). */
  env?: NodeJS.ProcessEnv;
}

export class Appliance {
  readonly store = new ObservationStore();
  readonly host: string;
  private readonly ac = new AbortController();
  private readonly tasks: Promise<void>[] = [];
  private readonly health = new Map<string, CollectorHealth>();
  private readonly tracked = new Map<string, { f: TrackedFinding; lastReported: number }>();
  private readonly analyzerState = new Map<string, Map<string, unknown>>();
  private readonly log: Logger;
  private readonly now: () => number;
  private stopping = false;
  private lastAnalysis?: string;
  /** Where the orchestrator APIs are: the config's `orchestrator:` section, then NETDIAG_* environment. */
  readonly orchestrator: OrchestratorOptions;

  constructor(
    readonly cfg: NetdiagConfig,
    private readonly opts: ApplianceOptions,
  ) {
    this.host = cfg.host ?? hostname();
    this.log = opts.log ?? nullLogger;
    this.now = opts.now ?? Date.now;
    this.orchestrator = resolveOrchestrator({}, cfg, opts.env ?? process.env);
  }

  /** Enabled collectors with their validated config. */
  enabledCollectors(): { c: LiveCollector<any>; cfg: any }[] {
    const sections = this.cfg.collectors as Record<string, { enabled?: boolean } | undefined>;
    return (this.opts.collectors ?? liveCollectors)
      .map((c) => ({ c, cfg: sections[c.name] ?? { ...(c.schema.parse({}) as object), enabled: c.enabledByDefault } }))
      .filter((x) => x.cfg.enabled !== false && (x.cfg.enabled === true || x.c.enabledByDefault))
      .filter((x) => !x.c.requiresOrchestrator || Boolean(this.orchestrator.cloudstackUrl || this.orchestrator.nvpUrl));
  }

  async start(): Promise<void> {
    await mkdir(this.cfg.stateDir, { recursive: true });
    for (const { c, cfg } of this.enabledCollectors()) {
      const h: CollectorHealth = { collector: c.name, mode: c.run ? 'follow' : 'poll', up: false, errors: 0 };
      this.health.set(c.name, h);
      this.opts.metrics.set('netdiag_collector_up', { collector: c.name }, 0);
      this.tasks.push(c.run ? this.follow(c, cfg, h) : this.pollLoop(c, cfg, h));
    }
    this.tasks.push(this.analyzeLoop());
    this.log.info('appliance started', { host: this.host, collectors: [...this.health.keys()] });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.ac.abort();
    await Promise.allSettled(this.tasks);
    this.log.info('appliance stopped');
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  collectorHealth(): CollectorHealth[] {
    return [...this.health.values()].map((h) => ({ ...h }));
  }

  findings(): TrackedFinding[] {
    return [...this.tracked.values()].map((t) => t.f);
  }

  /** Plans for the active findings (no I/O). */
  plans(): PlanSet {
    return makePlanSet(this.findings(), this.now());
  }

  /**
   * Apply one plan of the active findings through the configured orchestrators: a dry run unless
   * `yes`. The journal lives in the state directory. Undefined when no such plan is active.
   */
  async applyPlan(id: string, yes: boolean): Promise<ApplyResult | undefined> {
    const plan = this.plans().plans.find((p) => p.id === id);
    if (!plan) return undefined;
    // Two requests for one plan at once would both pass the checks: one at a time.
    if (this.applying.has(id)) throw new NetdiagError('E_PRECONDITION', `plan ${id} is being applied right now`, { remedy: 'wait for that request to finish, then look at its result' });
    this.applying.add(id);
    try {
      return await this.applyNow(plan, yes);
    } finally {
      this.applying.delete(id);
    }
  }

  private readonly applying = new Set<string>();

  private async applyNow(plan: PlanSet['plans'][number], yes: boolean): Promise<ApplyResult> {
    const id = plan.id;
    const o = this.orchestrator;
    const needs = new Set(plan.steps.map((s) => s.target));
    const result = await applyPlan(
      plan,
      {
        cloudstack: needs.has('cloudstack') ? cloudstackClientFrom(o, this.log) : undefined,
        nvp: needs.has('nvp') ? nvpClientFrom(o, this.log) : undefined,
        cloudstackUrl: o.cloudstackUrl,
        nvpUrl: o.nvpUrl,
        journal: await fileJournal(join(this.cfg.stateDir, 'applied.json')),
        now: this.now,
      },
      { yes },
    );
    this.log.info('plan applied', { plan: id, kind: plan.kind, dryRun: !yes, status: result.status, steps: result.steps.map((x) => `${x.stepId}:${x.status}`).join(' ') });
    this.opts.metrics.inc('netdiag_plan_applies_total', { kind: plan.kind, status: result.status });
    return result;
  }

  status() {
    return {
      host: this.host,
      collectors: this.collectorHealth(),
      observations: this.store.size,
      findings: this.tracked.size,
      lastAnalysis: this.lastAnalysis,
      analyzeIntervalSeconds: this.cfg.analyzeIntervalSeconds,
    };
  }

  private context(): LiveContext {
    return {
      emit: (o: AnyObservation) => {
        if ((o as { host?: string }).host === undefined) (o as { host?: string }).host = this.host;
        this.store.add(o);
      },
      metrics: this.opts.metrics,
      log: this.log,
      exec: this.opts.exec ?? runCommand,
      host: this.host,
      roots: this.opts.roots ?? { sys: '/sys', proc: '/proc' },
      stateDir: this.cfg.stateDir,
      now: this.now,
      orchestrator: this.orchestrator,
      replace: (kinds: readonly ObservationKind[], items: readonly AnyObservation[]) => {
        for (const kind of kinds) this.store.replace(kind, items.filter((o) => o.kind === kind) as never);
      },
    };
  }

  private ok(h: CollectorHealth): void {
    h.up = true;
    h.lastSuccess = new Date(this.now()).toISOString();
    this.opts.metrics.set('netdiag_collector_up', { collector: h.collector }, 1);
    this.opts.metrics.set('netdiag_collector_last_success_timestamp_seconds', { collector: h.collector }, Math.floor(this.now() / 1000));
  }

  private failed(h: CollectorHealth, e: unknown): void {
    h.up = false;
    h.errors++;
    h.lastError = describeError(e);
    this.opts.metrics.set('netdiag_collector_up', { collector: h.collector }, 0);
    this.opts.metrics.inc('netdiag_collector_errors_total', { collector: h.collector });
    this.log.warn('collector failed', { collector: h.collector, error: h.lastError });
  }

  private async pollLoop(c: LiveCollector<any>, cfg: any, h: CollectorHealth): Promise<void> {
    const signal = this.ac.signal;
    while (!signal.aborted) {
      const intervalMs = Math.max(0.05, c.interval(cfg)) * 1000;
      const started = this.now();
      // A poll may take at most one interval (min 5 s); the next starts after it ends (no overlap).
      const timeout = AbortSignal.timeout(Math.max(5000, intervalMs));
      try {
        const stats = await c.poll!(this.context(), cfg, AbortSignal.any([signal, timeout]));
        if (signal.aborted) break;
        if (timeout.aborted) throw new Error(`poll took longer than ${Math.round(Math.max(5000, intervalMs) / 1000)} s`);
        this.opts.metrics.inc('netdiag_collector_records_total', { collector: c.name }, stats.records);
        this.ok(h);
        if (stats.warnings?.length) h.lastError = stats.warnings.slice(0, 3).join('; ');
      } catch (e) {
        if (signal.aborted) break;
        this.failed(h, e);
      }
      this.opts.metrics.set('netdiag_collector_poll_duration_seconds', { collector: c.name }, (this.now() - started) / 1000);
      await sleep(Math.max(0, intervalMs - (this.now() - started)), signal);
    }
  }

  private async follow(c: LiveCollector<any>, cfg: any, h: CollectorHealth): Promise<void> {
    const signal = this.ac.signal;
    let backoff = 1000;
    while (!signal.aborted) {
      try {
        this.ok(h);
        await c.run!(this.context(), cfg, signal);
        if (signal.aborted) break;
        throw new Error('follower ended unexpectedly');
      } catch (e) {
        if (signal.aborted) break;
        this.failed(h, e);
        await sleep(backoff, signal);
        backoff = Math.min(backoff * 2, 60_000);
      }
    }
  }

  private async analyzeLoop(): Promise<void> {
    const signal = this.ac.signal;
    while (!signal.aborted) {
      await sleep(this.cfg.analyzeIntervalSeconds * 1000, signal);
      if (signal.aborted) break;
      try {
        this.analyzeNow();
      } catch (e) {
        this.log.error('analysis failed', { error: describeError(e) });
      }
    }
  }

  /** Run every analyzer now over what has been collected; update findings and their metrics. */
  analyzeNow(): TrackedFinding[] {
    const now = this.now();
    const started = Date.now();
    this.store.prune(now - this.cfg.retentionSeconds * 1000);
    for (const { c } of this.enabledCollectors()) for (const r of c.retainLatest ?? []) this.store.keepLatest(r.kind, r.keep, r.groupBy);
    // Analyzers share one state map per analyzer name; runAnalyzers passes one ctx, so key by name.
    const state = this.sharedState();
    const { findings, errors } = runAnalyzers(this.store, this.cfg, { now, mode: 'serve', state }, this.log);
    for (const e of errors) this.opts.metrics.inc('netdiag_analyzer_errors_total', { analyzer: e.analyzer });
    const nowIso = new Date(now).toISOString();
    const seen = new Set<string>();
    for (const f of findings) {
      seen.add(f.id);
      const prev = this.tracked.get(f.id);
      const firstSeen = prev?.f.firstSeen ?? f.firstSeen ?? nowIso;
      this.tracked.set(f.id, { f: { ...f, firstSeen, lastSeen: f.lastSeen ?? nowIso }, lastReported: now });
    }
    for (const [id, t] of this.tracked) {
      if (!seen.has(id) && now - t.lastReported > this.cfg.findingResolveAfterSeconds * 1000) this.tracked.delete(id);
    }
    this.publish();
    this.opts.metrics.set('netdiag_analysis_duration_seconds', {}, (Date.now() - started) / 1000);
    this.opts.metrics.set('netdiag_observations', {}, this.store.size);
    this.lastAnalysis = nowIso;
    return this.findings();
  }

  private sharedState(): Map<string, unknown> {
    let s = this.analyzerState.get('*');
    if (!s) this.analyzerState.set('*', (s = new Map()));
    return s;
  }

  private publish(): void {
    const m = this.opts.metrics;
    m.reset('netdiag_findings');
    m.reset('netdiag_finding_active');
    const byKind = new Map<string, number>();
    const byHost = new Map<string, number>();
    for (const { f } of this.tracked.values()) {
      const k = `${f.kind}\u0000${f.severity}`;
      byKind.set(k, (byKind.get(k) ?? 0) + 1);
      const kh = `${k}\u0000${f.host ?? ''}`;
      byHost.set(kh, (byHost.get(kh) ?? 0) + 1);
    }
    // Every kind at every severity is published (0 when none), so alerts can compare and dashboards show zeros.
    for (const a of analyzers)
      for (const kind of a.kinds)
        for (const severity of ['info', 'warning', 'critical'] as Severity[]) m.set('netdiag_findings', { kind, severity }, byKind.get(`${kind}\u0000${severity}`) ?? 0);
    for (const [k, n] of byHost) {
      const [kind, severity, host] = k.split('\u0000') as [string, string, string];
      m.set('netdiag_finding_active', { kind, severity, host }, n);
    }
    for (const a of analyzers) {
      if (!a.publish) continue;
      try {
        a.publish(this.store, analyzerConfig(this.cfg, a.name), m);
      } catch (e) {
        m.inc('netdiag_analyzer_errors_total', { analyzer: a.name });
        this.log.warn('analyzer publish failed', { analyzer: a.name, error: describeError(e) });
      }
    }
  }
}
