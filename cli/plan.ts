import type { Command } from 'commander';
import { loadConfig, resolveOrchestrator } from '../engine/config.js';
import { diagnose } from '../engine/pipeline.js';
import { makePlanSet } from '../engine/plans.js';
import { addOrchestratorOptions, collect, formatOption, orchestratorFrom } from './options.js';
import { emit } from './output.js';
import { renderPlansMarkdown, renderPlansText } from './reporters/plans.js';

export function registerPlan(program: Command): void {
  addOrchestratorOptions(
    program
      .command('plan')
      .description('print the remediation plans for the findings (changes nothing; exit 0, or 3 when it could not run)')
      .argument('[files...]', 'input files or directories, as for diagnose')
      .option('--bundle <dir>', 'a support bundle directory (repeatable)', collect, [])
      .option('--config <file>', 'configuration file (YAML or JSON) for analyzer thresholds')
      .addOption(formatOption(['text', 'markdown', 'json'], 'text'))
      .option('--out <file>', 'write the plans to a file instead of standard output'),
  ).action(async (files: string[], opts: Record<string, unknown>) => {
    const config = await loadConfig(opts.config as string | undefined);
    const orchestrator = resolveOrchestrator(orchestratorFrom(opts), config);
    const bundles = opts.bundle as string[];
    if (files.length === 0 && bundles.length === 0 && !orchestrator.cloudstackUrl && !orchestrator.nvpUrl) {
      program.error('netdiag plan: no inputs — give --bundle DIR, files, or --cloudstack-url/--nvp-url', { exitCode: 3 });
    }
    const report = await diagnose({ bundles, files, orchestrator, config });
    // Plans made from part of the inputs may miss a fix: say which inputs were not read.
    for (const i of report.inputs) if (i.error) process.stderr.write(`netdiag plan: ${i.path}: ${i.error}\n`);
    const set = makePlanSet(report.findings, Date.parse(report.generatedAt));
    const out = opts.out as string | undefined;
    const text = opts.format === 'json' ? `${JSON.stringify(set, null, 2)}\n` : opts.format === 'markdown' ? renderPlansMarkdown(set, out ?? 'PLANS.json') : renderPlansText(set, out ?? 'PLANS.json');
    await emit(text, out);
  });
}
