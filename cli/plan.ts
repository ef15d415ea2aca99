import type { Command } from 'commander';
import { makePlanSet } from '../engine/plans.js';
import { addInputOptions, diagnoseInputs } from './inputs.js';
import { formatOption } from './options.js';
import { emit } from './output.js';
import { renderPlansMarkdown, renderPlansText } from './reporters/plans.js';

export function registerPlan(program: Command): void {
  addInputOptions(program.command('plan').description('print the remediation plans for the findings (changes nothing; exit 0, or 3 when it could not run)'))
    .addOption(formatOption(['text', 'markdown', 'json'], 'text'))
    .option('--out <file>', 'write the plans to a file instead of standard output')
    .action(async (files: string[], opts: Record<string, unknown>) => {
      const report = await diagnoseInputs(program, 'plan', files, opts);
      // Plans made from part of the inputs may miss a fix: say which inputs were not read.
      for (const i of report.inputs) if (i.error) process.stderr.write(`netdiag plan: ${i.path}: ${i.error}\n`);
      const set = makePlanSet(report.findings, Date.parse(report.generatedAt));
      const out = opts.out as string | undefined;
      const text = opts.format === 'json' ? `${JSON.stringify(set, null, 2)}\n` : opts.format === 'markdown' ? renderPlansMarkdown(set, out ?? 'PLANS.json') : renderPlansText(set, out ?? 'PLANS.json');
      await emit(text, out);
    });
}
