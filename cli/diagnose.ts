import type { Command } from 'commander';
import { exitCodeOf } from '../engine/pipeline.js';
import { addInputOptions, diagnoseInputs } from './inputs.js';
import { formatOption } from './options.js';
import { emit, REPORT_FORMATS, renderReport } from './output.js';

export function registerDiagnose(program: Command): void {
  addInputOptions(
    program.command('diagnose').description('read every input once, run all analyzers and print the report (exit 0 ok, 1 warning, 2 critical, 3 could not run)'),
  )
    .addOption(formatOption([...REPORT_FORMATS], 'text'))
    .option('--out <file>', 'write the report to a file instead of standard output')
    .action(async (files: string[], opts: Record<string, unknown>) => {
      const report = await diagnoseInputs(program, 'diagnose', files, opts);
      await emit(renderReport(report, opts.format as string), opts.out as string | undefined);
      process.exitCode = exitCodeOf(report);
    });
}
