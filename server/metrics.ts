/**
 * The MetricsSink of the appliance: prom-client on a Registry of its own (never the global one).
 * Every MetricSpec that collectors and analyzers declare is registered once at start; a name
 * declared twice with another type or other labels is an error at start, not at scrape time.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { NetdiagError } from '../core/errors.js';
import type { MetricSpec, MetricsSink } from '../core/plugin.js';

export class PromMetrics implements MetricsSink {
  readonly registry = new Registry();
  private readonly metrics = new Map<string, { spec: MetricSpec; m: Counter<string> | Gauge<string> }>();
  /** Writes that did not fit a declared metric (bounded: counted, never thrown into a collector). */
  private readonly misfit: Counter<string>;

  constructor(specs: readonly MetricSpec[], opts: { version?: string; defaultMetrics?: boolean } = {}) {
    for (const s of specs) this.declare(s);
    this.misfit = new Counter({ name: 'netdiag_metric_write_errors_total', help: 'Metric writes by plugins that did not match a declared metric (a bug in netdiag)', labelNames: ['metric'], registers: [this.registry] });
    const info = new Gauge({ name: 'netdiag_build_info', help: 'netdiag version', labelNames: ['version'], registers: [this.registry] });
    info.set({ version: opts.version ?? '0.0.0' }, 1);
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'netdiag_' });
  }

  /** Register a metric; the same spec twice is fine, a conflicting one is an error. */
  declare(spec: MetricSpec): void {
    if (!/^netdiag_[a-z0-9_]+$/.test(spec.name)) throw new NetdiagError('E_INTERNAL', `metric ${spec.name}: names must start with netdiag_ and use [a-z0-9_]`);
    const prev = this.metrics.get(spec.name);
    if (prev) {
      if (prev.spec.type !== spec.type || prev.spec.labelNames.join(',') !== spec.labelNames.join(',')) {
        throw new NetdiagError('E_INTERNAL', `metric ${spec.name} is declared twice with different type or labels (${prev.spec.type} [${prev.spec.labelNames}] vs ${spec.type} [${spec.labelNames}])`);
      }
      return;
    }
    const common = { name: spec.name, help: spec.help, labelNames: [...spec.labelNames], registers: [this.registry] };
    const m = spec.type === 'counter' ? new Counter(common) : new Gauge(common);
    this.metrics.set(spec.name, { spec, m });
  }

  private labels(spec: MetricSpec, labels: Record<string, string> | undefined): Record<string, string> {
    const out: Record<string, string> = {};
    for (const l of spec.labelNames) out[l] = labels?.[l] ?? '';
    return out;
  }

  inc(name: string, labels?: Record<string, string>, value = 1): void {
    const e = this.metrics.get(name);
    if (!e || !(value >= 0)) {
      this.misfit.inc({ metric: e ? name : 'undeclared' });
      return;
    }
    e.m.inc(this.labels(e.spec, labels), value);
  }

  set(name: string, labels: Record<string, string>, value: number): void {
    const e = this.metrics.get(name);
    if (!e || e.spec.type !== 'gauge') {
      this.misfit.inc({ metric: e ? name : 'undeclared' });
      return;
    }
    (e.m as Gauge<string>).set(this.labels(e.spec, labels), value);
  }

  reset(name: string): void {
    this.metrics.get(name)?.m.reset();
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
