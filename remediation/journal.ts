/**
 * What `apply` has done, per plan and step: the memory that keeps a finished plan from acting
 * twice where the world cannot tell (a network restart). A JSON file written to a temp file and
 * renamed into place, so a crash never leaves half a journal.
 */
import { mkdir, open, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { NetdiagError } from '../core/errors.js';

export interface JournalEntry {
  at: string;
  detail: string;
}

interface JournalFile {
  schema: 'netdiag.applied/v1';
  plans: Record<string, Record<string, JournalEntry>>;
}

export interface Journal {
  stepsDone(planId: string): Map<string, JournalEntry>;
  record(planId: string, stepId: string, entry: JournalEntry): Promise<void>;
}

/** A journal kept in memory only (tests, and `serve` keeps one per state directory). */
export function memoryJournal(): Journal {
  const plans = new Map<string, Map<string, JournalEntry>>();
  return {
    stepsDone: (id) => new Map(plans.get(id) ?? []),
    async record(id, step, e) {
      plans.set(id, (plans.get(id) ?? new Map()).set(step, e));
    },
  };
}

export async function fileJournal(path: string): Promise<Journal> {
  let data: JournalFile = { schema: 'netdiag.applied/v1', plans: {} };
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as JournalFile;
    if (parsed?.schema !== 'netdiag.applied/v1' || typeof parsed.plans !== 'object') throw new Error('not a netdiag.applied/v1 journal');
    data = parsed;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new NetdiagError('E_INPUT_PARSE', `apply journal ${path}: ${(e as Error).message}`, { cause: e, remedy: 'point --state at another file, or move this one away (then steps that cannot check themselves, such as a network restart, may run again)' });
  }
  return {
    stepsDone: (id) => new Map(Object.entries(data.plans[id] ?? {})),
    async record(id, step, e) {
      (data.plans[id] ??= {})[step] = e;
      await mkdir(dirname(path), { recursive: true });
      const tmp = `${path}.${process.pid}.tmp`;
      await writeFile(tmp, JSON.stringify(data, null, 2) + '\n');
      await rename(tmp, path);
    },
  };
}

/**
 * Run `fn` holding `<journal>.lock` (created exclusively, holding our pid): two `netdiag apply`
 * runs on the same journal would both pass the checks and both act. A lock left by a crash names
 * the pid that held it.
 */
export async function withJournalLock<T>(journalPath: string, fn: () => Promise<T>): Promise<T> {
  const lock = `${journalPath}.lock`;
  await mkdir(dirname(lock), { recursive: true });
  let fh;
  try {
    fh = await open(lock, 'wx', 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    const holder = (await readFile(lock, 'utf8').catch(() => '')).trim();
    throw new NetdiagError('E_PRECONDITION', `another netdiag apply is using ${journalPath} (lock ${lock}${holder ? `, pid ${holder}` : ''})`, {
      remedy: `wait for it to finish; if no apply is running (it crashed), remove ${lock}`,
    });
  }
  try {
    await fh.writeFile(`${process.pid}\n`);
    await fh.close();
    return await fn();
  } finally {
    await unlink(lock).catch(() => {});
  }
}
