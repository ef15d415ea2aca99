import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { describeError, redact } from '../core/errors.js';
import type { Logger } from '../core/plugin.js';
import { loadConfig } from '../engine/config.js';

const VERSION = '0.1.0';

function listenArg(v: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(v);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new InvalidArgumentError('HOST:PORT, e.g. 127.0.0.1:9650 (port 0 = any free port)');
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

/** One JSON object per line on stderr; every value passes through redact(). */
export function jsonLogger(stream: NodeJS.WritableStream = process.stderr): Logger {
  const write = (level: string) => (msg: string, fields?: Record<string, unknown>) => {
    const line = JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields });
    stream.write(`${redact(line)}\n`);
  };
  return { debug: () => {}, info: write('info'), warn: write('warn'), error: write('error') };
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the appliance: collectors on their schedules, analyzers, /metrics, /healthz, /api/v1, status page')
    .option('--config <file>', 'configuration file (YAML or JSON); see server/README.md for every field and default')
    .option('--listen <host:port>', 'address to listen on (overrides the config file; default 127.0.0.1:9650)', listenArg)
    .action(async (opts: { config?: string; listen?: { host: string; port: number } }) => {
      const cfg = await loadConfig(opts.config); // every config problem at once, exit 3 via main
      // Loaded here, not at start-up: the other commands need no HTTP server or OTel SDK.
      const [{ Appliance, allMetricSpecs }, { buildApp }, { PromMetrics }, { otlpFrom, startOtlpExport }] = await Promise.all([
        import('../engine/appliance.js'),
        import('../server/app.js'),
        import('../server/metrics.js'),
        import('../server/otlp.js'),
      ]);
      const listen = opts.listen ?? cfg.listen;
      const otlp = otlpFrom(cfg.otlp, process.env); // a bad OTEL_* endpoint stops here, before anything runs
      const log = jsonLogger();
      const metrics = new PromMetrics(allMetricSpecs(), { version: VERSION });
      const appliance = new Appliance(cfg, { metrics, log });
      const apiToken = cfg.apiToken ?? process.env.NETDIAG_API_TOKEN;
      const app = await buildApp(appliance, { metrics, apiToken });
      await appliance.start();
      const address = await app.listen({ host: listen.host, port: listen.port });
      process.stdout.write(`netdiag serve: listening on ${address} (host ${appliance.host}; collectors: ${appliance.collectorHealth().map((c) => c.collector).join(', ') || 'none'})\n`);
      const push = otlp ? startOtlpExport(metrics.registry, metrics, otlp, { host: appliance.host, version: VERSION, log }) : undefined;
      if (otlp) process.stdout.write(`netdiag serve: pushing metrics with OTLP to ${redact(otlp.endpoint)} every ${otlp.intervalSeconds} s\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      log.info('stopping');
      try {
        await appliance.stop();
        await push?.shutdown(); // with a last push
        await app.close();
      } catch (e) {
        log.error('stop failed', { error: describeError(e) });
        process.exitCode = 1;
      }
      process.stdout.write('netdiag serve: stopped\n');
    });
}
