/**
 * OpenTelemetry export: one metric model (the prom-client registry behind /metrics), two
 * exporters. Every counter and gauge of the registry becomes an OTel observable instrument whose
 * callback reads the registry at collection time, and the OpenTelemetry SDK pushes them with OTLP
 * over HTTP (JSON) on an interval — cumulative sums for counters, gauges for gauges, the same
 * names and labels (as attributes) as /metrics. Histograms and summaries (only Node's own process
 * metrics) stay on /metrics.
 */
import { ExportResultCode } from '@opentelemetry/core';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, type InstrumentType, MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { Observable } from '@opentelemetry/api';
import type { Registry } from 'prom-client';
import { NetdiagError, redact } from '../core/errors.js';
import type { Logger, MetricsSink } from '../core/plugin.js';


export interface OtlpOptions {
  /** The collector's metrics URL, e.g. http://otel-collector:4318/v1/metrics. */
  endpoint: string;
  intervalSeconds: number;
  timeoutSeconds: number;
  headers: Record<string, string>;
}

/** The OTLP settings from the config section, else from the standard OTEL_* environment. */
export function otlpFrom(cfg: OtlpOptions | undefined, env: NodeJS.ProcessEnv): OtlpOptions | undefined {
  if (cfg) return cfg;
  const direct = env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const endpoint = direct || (base ? `${base.replace(/\/+$/, '')}/v1/metrics` : undefined);
  if (!endpoint) return undefined;
  const from = direct ? 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT' : 'OTEL_EXPORTER_OTLP_ENDPOINT';
  let url: URL | undefined;
  try {
    url = new URL(endpoint);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:'))
    throw new NetdiagError('E_CONFIG', `${from}=${redact(endpoint)} is not an http(s) URL`, { remedy: 'set it to the collector\'s OTLP/HTTP address, e.g. http://otel-collector:4318' });
  const interval = Number(env.OTEL_METRIC_EXPORT_INTERVAL); // ms, as the OTel spec defines it
  return { endpoint, intervalSeconds: Number.isFinite(interval) && interval > 0 ? interval / 1000 : 60, timeoutSeconds: 10, headers: {} };
}

/** Counts every push and logs failures (the endpoint without credentials, never the headers). */
class CountingExporter implements PushMetricExporter {
  private failing = false;
  constructor(
    private readonly inner: PushMetricExporter,
    private readonly sink: MetricsSink,
    private readonly log: Logger,
    private readonly endpoint: string,
  ) {}

  export(metrics: ResourceMetrics, done: (r: { code: ExportResultCode; error?: Error }) => void): void {
    this.inner.export(metrics, (r) => {
      const ok = r.code === ExportResultCode.SUCCESS;
      this.sink.inc('netdiag_otlp_exports_total', { result: ok ? 'ok' : 'error' });
      if (!ok && !this.failing) this.log.warn('OTLP metric push failed (will retry every interval)', { endpoint: redact(this.endpoint), error: redact(r.error?.message ?? 'unknown error') });
      if (ok && this.failing) this.log.info('OTLP metric push works again', { endpoint: redact(this.endpoint) });
      this.failing = !ok;
      done(r);
    });
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  selectAggregationTemporality(kind: InstrumentType): AggregationTemporality {
    return this.inner.selectAggregationTemporality?.(kind) ?? AggregationTemporality.CUMULATIVE;
  }
}

export interface OtlpExport {
  /** Push now (tests, and on stop). */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** Start pushing the registry's counters and gauges. The first push happens after one interval. */
export function startOtlpExport(registry: Registry, sink: MetricsSink, o: OtlpOptions, ctx: { host: string; version: string; log: Logger }): OtlpExport {
  const exporter = new CountingExporter(
    new OTLPMetricExporter({ url: o.endpoint, headers: o.headers, timeoutMillis: o.timeoutSeconds * 1000 }),
    sink,
    ctx.log,
    o.endpoint,
  );
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': 'netdiag', 'service.version': ctx.version, 'host.name': ctx.host }),
    readers: [new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: Math.round(o.intervalSeconds * 1000), exportTimeoutMillis: Math.round(Math.min(o.timeoutSeconds, o.intervalSeconds) * 1000) })],
  });
  const meter = provider.getMeter('netdiag', ctx.version);
  const instruments = new Map<string, Observable>();
  // Every metric is declared at start (PromMetrics), so the instrument list is fixed here.
  for (const m of registry.getMetricsAsArray()) {
    const { name, help, type } = m as unknown as { name: string; help: string; type: string };
    if (type === 'counter') instruments.set(name, meter.createObservableCounter(name, { description: help }));
    else if (type === 'gauge') instruments.set(name, meter.createObservableGauge(name, { description: help }));
  }
  meter.addBatchObservableCallback(async (result) => {
    for (const m of await registry.getMetricsAsJSON()) {
      const inst = instruments.get(m.name);
      if (!inst) continue;
      for (const v of m.values) {
        if (Number.isFinite(v.value)) result.observe(inst, v.value, v.labels as Record<string, string | number>);
      }
    }
  }, [...instruments.values()]);
  return {
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}
