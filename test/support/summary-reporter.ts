import type { Reporter } from 'vitest/reporters';

type Task = { type: string; mode?: string; result?: { state?: string }; tasks?: Task[] };

function count(tasks: readonly Task[], acc: { passed: number; failed: number; skipped: number }): void {
  for (const t of tasks) {
    if (t.type === 'test') {
      const s = t.result?.state;
      if (s === 'pass') acc.passed++;
      else if (s === 'fail') acc.failed++;
      else acc.skipped++;
    } else {
      const before = acc.failed;
      if (t.tasks) count(t.tasks, acc);
      // A file or suite that failed outside its tests (import error, hook failure) is a failure too.
      if (t.result?.state === 'fail' && acc.failed === before) acc.failed++;
    }
  }
}

/**
 * Prints the plain closing line "N passed, N failed" after vitest's own summary, so CI logs state
 * the totals in a runner-neutral form.
 */
export default class SummaryReporter implements Reporter {
  onFinished(files: readonly Task[] = []): void {
    const acc = { passed: 0, failed: 0, skipped: 0 };
    count(files, acc);
    // After the default reporter's summary, which is printed in the same tick.
    setImmediate(() => process.stdout.write(`\n${acc.passed} passed, ${acc.failed} failed${acc.skipped ? `, ${acc.skipped} skipped` : ''}\n`));
  }
}
