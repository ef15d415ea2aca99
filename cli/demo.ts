import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../engine/config.js';
import { diagnose } from '../engine/pipeline.js';
import { formatOption } from './options.js';
import { emit, REPORT_FORMATS, renderReport } from './output.js';

/** The shipped example bundle: real captures of every input kind, for two hypervisors and a management server. */
export function exampleBundle(): string {
  // dist/cli/demo.js -> <root>/examples/bundle ; cli/demo.ts (tests) -> <root>/examples/bundle
  const here = dirname(fileURLToPath(import.meta.url));
  for (const up of ['..', join('..', '..')]) {
    const p = join(here, up, 'examples', 'bundle');
    if (existsSync(p)) return p;
  }
  return join(here, '..', '..', 'examples', 'bundle');
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('run diagnose on the shipped example bundle against the bundled CloudStack and NVP simulators')
    .addOption(formatOption([...REPORT_FORMATS], 'text'))
    .option('--out <file>', 'write the report to a file instead of standard output')
    .action(async (opts: { format: string; out?: string }) => {
      const [{ startCloudStackSimulator }, { startNvpSimulator }] = await Promise.all([import('../lab/cloudstack/server.js'), import('../lab/nvp/server.js')]);
      const cs = await startCloudStackSimulator({ host: '127.0.0.1', port: 0 });
      const nvp = await startNvpSimulator({ host: '127.0.0.1', port: 0 });
      try {
        const bundle = exampleBundle();
        process.stderr.write(
          `netdiag demo: bundle ${bundle}\n` +
            `  CloudStack simulator ${cs.url}\n  NVP simulator        ${nvp.url}\n` +
            `  (the same as: netdiag diagnose --bundle ${bundle} --cloudstack-url ${cs.url} --api-key … --secret-key … --nvp-url ${nvp.url} --nvp-user … --nvp-password …)\n\n`,
        );
        const report = await diagnose({
          bundles: [bundle],
          orchestrator: { cloudstackUrl: cs.url, apiKey: cs.apiKey, secretKey: cs.secretKey, nvpUrl: nvp.url, nvpUser: nvp.user, nvpPassword: nvp.password },
          config: await loadConfig(),
        });
        await emit(renderReport(report, opts.format), opts.out);
        const planned = report.findings.filter((f) => f.plan).length;
        process.stderr.write(
          `\nnetdiag demo: status ${report.status} — ${report.findings.length} findings from ${report.inputs.length} inputs; ${planned} with a remediation plan\n` +
            `  (plans: start \`netdiag lab\`, export what it prints, then \`netdiag plan --bundle ${bundle}\` and \`netdiag apply\`)\n`,
        );
      } finally {
        await Promise.allSettled([cs.close(), nvp.close()]);
      }
    });
}
