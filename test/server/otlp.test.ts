/**
 * OpenTelemetry export: the registry behind /metrics is pushed with OTLP/HTTP (JSON) — counters as
 * cumulative monotonic sums, gauges as gauges, labels as attributes, the host and version on the
 * resource — and a collector that fails is counted and logged without the auth header. No
 * OpenTelemetry collector is packaged in Debian, so the receiver is a loopback HTTP server in the
 * test that decodes what the real OTLP exporter sends. `serve` pushes on its interval and once more
 * when it stops.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allMetricSpecs } from '../../engine/appliance.js';
import { PromMetrics } from '../../server/metrics.js';
import { otlpFrom, startOtlpExport } from '../../server/otlp.js';

interface Attr { key: string; value: { stringValue?: string; intValue?: string | number; doubleValue?: number } }
interface Point { attributes: Attr[]; asDouble?: number; asInt?: string | number }
interface OtlpMetric { name: string; sum?: { dataPoints: Point[]; isMonotonic: boolean; aggregationTemporality: number }; gauge?: { dataPoints: Point[] } }
interface Push { headers: IncomingMessage['headers']; body: { resourceMetrics: { resource: { attributes: Attr[] }; scopeMetrics: { metrics: OtlpMetric[] }[] }[] } }

let server: Server;
let url: string;
const pushes: Push[] = [];
let answer = 200;
beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (req.url === '/v1/metrics' && answer === 200) pushes.push({ headers: req.headers, body: JSON.parse(body) });
      res.writeHead(req.url === '/v1/metrics' ? answer : 404, { 'Content-Type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))));

const attrs = (a: Attr[]) => Object.fromEntries(a.map((x) => [x.key, x.value.stringValue ?? x.value.intValue ?? x.value.doubleValue]));
const metricsOf = (p: Push) => p.body.resourceMetrics.flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics));
const value = (pt: Point) => pt.asDouble ?? Number(pt.asInt);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await sleep(25);
  }
}

describe('OTLP export', () => {
  it('pushes counters as monotonic sums and gauges as gauges, with labels and the resource', async () => {
    const m = new PromMetrics(allMetricSpecs(), { version: '9.9.9', defaultMetrics: false });
    m.set('netdiag_findings', { kind: 'mtu_fragmentation', severity: 'critical' }, 2);
    m.inc('netdiag_collector_errors_total', { collector: 'ovs' }, 3);
    const warnings: string[] = [];
    const log = { debug() {}, info() {}, warn: (msg: string, f?: Record<string, unknown>) => void warnings.push(`${msg} ${JSON.stringify(f)}`), error() {} };
    pushes.length = 0;
    const exp = startOtlpExport(m.registry, m, { endpoint: `${url}/v1/metrics`, intervalSeconds: 0.2, timeoutSeconds: 2, headers: { authorization: 'Bearer otlp-secret-token' } }, { host: 'hv-01', version: '9.9.9', log });
    try {
      await until(() => pushes.length > 0);
      const p = pushes[0]!;
      expect(p.headers['content-type']).toMatch(/application\/json/);
      expect(p.headers.authorization).toBe('Bearer otlp-secret-token');
      expect(attrs(p.body.resourceMetrics[0]!.resource.attributes)).toMatchObject({ 'service.name': 'netdiag', 'service.version': '9.9.9', 'host.name': 'hv-01' });
      const ms = metricsOf(p);
      const findings = ms.find((x) => x.name === 'netdiag_findings')!;
      expect(findings.gauge!.dataPoints.map((d) => [attrs(d.attributes), value(d)])).toEqual([[{ kind: 'mtu_fragmentation', severity: 'critical' }, 2]]);
      const errors = ms.find((x) => x.name === 'netdiag_collector_errors_total')!;
      expect(errors.sum).toMatchObject({ isMonotonic: true, aggregationTemporality: 2 }); // 2 = cumulative
      expect(errors.sum!.dataPoints.map((d) => [attrs(d.attributes), value(d)])).toEqual([[{ collector: 'ovs' }, 3]]);
      // a later change shows in a later push
      m.inc('netdiag_collector_errors_total', { collector: 'ovs' }, 2);
      const seen = pushes.length;
      await until(() => pushes.length > seen);
      expect(value(metricsOf(pushes.at(-1)!).find((x) => x.name === 'netdiag_collector_errors_total')!.sum!.dataPoints[0]!)).toBe(5);

      // the collector fails: counted, logged once, and the token is not in the log
      answer = 503;
      const end = Date.now() + 15_000;
      while (!/netdiag_otlp_exports_total\{result="error"\} [1-9]/.test(await m.text())) {
        if (Date.now() > end) throw new Error(`no failed push counted:\n${await m.text()}`);
        await sleep(50);
      }
      expect(await m.text()).toMatch(/netdiag_otlp_exports_total\{result="ok"\} [1-9]/);
      expect(warnings.length).toBeGreaterThanOrEqual(1);
      expect(warnings.join('\n')).toMatch(/OTLP metric push failed/);
      expect(warnings.join('\n')).not.toContain('otlp-secret-token');
    } finally {
      answer = 200;
      await exp.shutdown();
    }
  }, 30_000);

  it('takes the endpoint from the config, else from the OTEL_* environment', () => {
    expect(otlpFrom(undefined, {})).toBeUndefined();
    expect(otlpFrom(undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })).toMatchObject({ endpoint: 'http://collector:4318/v1/metrics', intervalSeconds: 60 });
    expect(otlpFrom(undefined, { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://c:4318/custom', OTEL_METRIC_EXPORT_INTERVAL: '15000' })).toMatchObject({ endpoint: 'http://c:4318/custom', intervalSeconds: 15 });
    expect(() => otlpFrom(undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT=collector:4318\/v1\/metrics is not an http\(s\) URL/);
  });

  it('netdiag serve pushes on its interval and once more when it stops', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nd-otlp-'));
    const cfg = join(dir, 'netdiag.yml');
    writeFileSync(
      cfg,
      [
        `stateDir: ${join(dir, 'state')}`,
        'host: hv-otlp',
        'otlp:',
        `  endpoint: ${url}/v1/metrics`,
        '  intervalSeconds: 0.3',
        // only what needs nothing from the host: no OVS, NIC or log sources in this test
        'collectors:',
        '  ovs: { enabled: false }',
        '  nic: { enabled: false }',
        '  pcap: { enabled: false }',
        '  cloudstack-log: { paths: [] }',
      ].join('\n'),
    );
    pushes.length = 0;
    const child = spawn('node', [join(__dirname, '..', '..', 'bin', 'netdiag.js'), 'serve', '--config', cfg, '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    try {
      await until(() => pushes.some((p) => attrs(p.body.resourceMetrics[0]!.resource.attributes)['host.name'] === 'hv-otlp'), 20_000);
      expect(out).toContain(`pushing metrics with OTLP to ${url}/v1/metrics every 0.3 s`);
      expect(metricsOf(pushes[0]!).map((x) => x.name)).toEqual(expect.arrayContaining(['netdiag_build_info', 'netdiag_collector_up', 'netdiag_process_resident_memory_bytes']));
      const before = pushes.length;
      child.kill('SIGTERM');
      await new Promise<void>((r) => child.once('exit', () => r()));
      expect(pushes.length).toBeGreaterThan(before);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  }, 40_000);
});
