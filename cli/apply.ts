import { readFile } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import type { Command } from 'commander';
import { NetdiagError } from '../core/errors.js';
import { loadConfig, resolveOrchestrator } from '../engine/config.js';
import { parsePlanSet } from '../engine/plans.js';
import { cloudstackClientFrom, nvpClientFrom } from '../orchestrator/clients.js';
import { applyExitCode, applyPlan, checkRunnable } from '../remediation/executor.js';
import { fileJournal, withJournalLock } from '../remediation/journal.js';
import { addOrchestratorOptions, formatOption, orchestratorFrom } from './options.js';
import { emit } from './output.js';
import { renderApplyText } from './reporters/plans.js';

export function registerApply(program: Command): void {
  addOrchestratorOptions(
    program
      .command('apply')
      .description('apply one plan: preconditions re-checked live, then a dry run of the exact calls unless --yes (exit 0 done or dry run, 1 refused with nothing changed, 2 failed part-way, 3 could not run)')
      .argument('<plans>', 'a plans file from `netdiag plan --format json`')
      .requiredOption('--plan <id>', 'the id of the plan to apply')
      .option('--yes', 'make the changes (without it: a dry run)')
      .option('--state <file>', 'journal of applied steps (default: <plans>.applied.json)')
      .option('--config <file>', 'configuration file (orchestrator settings)')
      .addOption(formatOption(['text', 'json'], 'text')),
  ).action(async (file: string, opts: Record<string, unknown>) => {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      throw new NetdiagError('E_INPUT_READ', `plans file ${file}: ${(e as Error).message}`, { cause: e });
    }
    const set = parsePlanSet(text, file);
    const plan = set.plans.find((p) => p.id === opts.plan);
    if (!plan) {
      throw new NetdiagError('E_ARGS', `${file} has no plan ${String(opts.plan)}${set.plans.length ? `; it has ${set.plans.map((p) => p.id).join(', ')}` : '; it has no plans'}`);
    }
    const config = await loadConfig(opts.config as string | undefined);
    const o = resolveOrchestrator(orchestratorFrom(opts), config);
    const needs = new Set(plan.steps.map((s) => s.target));
    const journalPath = resolvePath((opts.state as string | undefined) ?? `${file}.applied.json`);
    const deps = {
      cloudstack: needs.has('cloudstack') ? cloudstackClientFrom(o) : undefined,
      nvp: needs.has('nvp') ? nvpClientFrom(o) : undefined,
      cloudstackUrl: o.cloudstackUrl,
      nvpUrl: o.nvpUrl,
    };
    checkRunnable(plan, deps);
    // A dry run changes nothing and needs no lock; a real run reads the journal under its lock.
    const run = async (yes: boolean) => applyPlan(plan, { ...deps, journal: await fileJournal(journalPath) }, { yes });
    const result = opts.yes === true ? await withJournalLock(journalPath, () => run(true)) : await run(false);
    await emit(opts.format === 'json' ? `${JSON.stringify(result, null, 2)}\n` : renderApplyText(result));
    process.exitCode = applyExitCode(result);
  });
}
