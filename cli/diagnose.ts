import type { Command } from 'commander';
import { loadConfig, resolveOrchestrator } from '../engine/config.js';
import { diagnose, exitCodeOf } from '../engine/pipeline.js';
import { addOrchestratorOptions, collect, formatOption, orchestratorFrom } from './options.js';
import { emit, REPORT_FORMATS, renderReport } from './output.js';

export function registerDiagnose(program: Command): void {
  addOrchestratorOptions(
    program
      .command('diagnose')
      .description('read every input once, run all analyzers and print the report (exit 0 ok, 1 warning, 2 critical, 3 could not run)')
      .argument('[files...]', 'input files or directories (recognised by content)')
      .option('--bundle <dir>', 'a support bundle directory (repeatable); the top directory names the host', collect, [])
      .option('--config <file>', 'configuration file (YAML or JSON) for analyzer thresholds')
      .addOption(formatOption([...REPORT_FORMATS], 'text'))
      .option('--out <file>', 'write the report to a file instead of standard output'),
  ).action(async (files: string[], opts: Record<string, unknown>) => {
    const config = await loadConfig(opts.config as string | undefined);
    const orchestrator = resolveOrchestrator(orchestratorFrom(opts), config);
    const bundles = opts.bundle as string[];
    if (files.length === 0 && bundles.length === 0 && !orchestrator.cloudstackUrl && !orchestrator.nvpUrl) {
      program.error('netdiag diagnose: no inputs — give --bundle DIR, files, or --cloudstack-url/--nvp-url', { exitCode: 3 });
    }
    const report = await diagnose({ bundles, files, orchestrator, config });
    await emit(renderReport(report, opts.format as string), opts.out as string | undefined);
    process.exitCode = exitCodeOf(report);
  });
}
