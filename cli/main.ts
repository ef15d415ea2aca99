#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { describeError } from '../core/errors.js';
import { registerDiagnose } from './diagnose.js';
import { registerLab } from './lab.js';
import { registerDemo } from './demo.js';
import { registerServe } from './serve.js';
import { registerCollect } from './collect.js';
import { registerPlan } from './plan.js';
import { registerApply } from './apply.js';
// @registry-commands-imports (keep this marker)

const program = new Command();
program
  .name('netdiag')
  .description('Diagnostics and monitoring for Apache CloudStack SDN (NVP, OVS tunnels, advanced networking)')
  .version('0.1.0')
  .exitOverride()
  .showHelpAfterError();

registerDiagnose(program);
registerLab(program);
registerDemo(program);
registerServe(program);
registerCollect(program);
registerPlan(program);
registerApply(program);
// @registry-commands (keep this marker)

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    // help and version exit 0; every argument problem is "could not run" (3)
    process.exitCode = e.exitCode === 0 ? 0 : 3;
  } else {
    process.stderr.write(`netdiag: ${describeError(e)}\n`);
    process.exitCode = 3;
  }
}
