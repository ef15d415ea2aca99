/** The inputs `diagnose` and `plan` share: files, bundles, config and the orchestrator options. */
import type { Command } from 'commander';
import { loadConfig, resolveOrchestrator } from '../engine/config.js';
import { diagnose, type Report } from '../engine/pipeline.js';
import { addOrchestratorOptions, collect, orchestratorFrom } from './options.js';

export function addInputOptions(cmd: Command): Command {
  return addOrchestratorOptions(
    cmd
      .argument('[files...]', 'input files or directories (recognised by content)')
      .option('--bundle <dir>', 'a support bundle directory (repeatable); the top directory names the host', collect, [])
      .option('--config <file>', 'configuration file (YAML or JSON) for analyzer thresholds'),
  );
}

/** Read the inputs and analyze them; no input at all is an argument error (exit 3). */
export async function diagnoseInputs(program: Command, name: string, files: string[], opts: Record<string, unknown>): Promise<Report> {
  const config = await loadConfig(opts.config as string | undefined);
  const orchestrator = resolveOrchestrator(orchestratorFrom(opts), config);
  const bundles = opts.bundle as string[];
  if (files.length === 0 && bundles.length === 0 && !orchestrator.cloudstackUrl && !orchestrator.nvpUrl) {
    program.error(`netdiag ${name}: no inputs — give --bundle DIR, files, or --cloudstack-url/--nvp-url`, { exitCode: 3 });
  }
  return diagnose({ bundles, files, orchestrator, config });
}
