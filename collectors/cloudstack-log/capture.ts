/**
 * What `netdiag collect` copies of the CloudStack logs: each log file that exists and its rotated
 * siblings (`management-server.log.2026-11-20.gz`, `agent.log.1`) changed since a cut-off, streamed
 * into the bundle under their own names so `diagnose` reads the rotated set in time order.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, stat, utimes } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { describeError } from '../../core/errors.js';

/** Where CloudStack writes the logs netdiag reads (reference/cloudstack.md §1, per role and era). */
export const DEFAULT_LOG_PATHS = [
  '/var/log/cloudstack/management/management-server.log',
  '/var/log/cloudstack/agent/agent.log',
  '/var/log/cloudstack/agent/ovstunnel.log',
  '/var/log/cloud/ovstunnel.log',
  '/var/log/cloud/management/management-server.log',
];

/**
 * The files to copy for these log paths: each that exists, plus the rotated siblings in its
 * directory (`<name>.<anything>`) modified at or after `sinceMs`. A path given explicitly that does
 * not exist is a warning; a default one that does not exist is silently not there (not every host
 * is a management server).
 */
export async function selectLogFiles(paths: readonly string[], sinceMs: number, explicit: boolean): Promise<{ files: string[]; warnings: string[] }> {
  const files: string[] = [];
  const warnings: string[] = [];
  for (const p of paths) {
    let found = false;
    try {
      if ((await stat(p)).isFile()) {
        files.push(p);
        found = true;
      } else warnings.push(`${p}: not a regular file`);
    } catch (e) {
      if (explicit) warnings.push(`${p}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : describeError(e)}`);
    }
    let siblings: string[] = [];
    try {
      siblings = (await readdir(dirname(p))).filter((n) => n.startsWith(`${basename(p)}.`)).sort();
    } catch {
      continue; // no directory: nothing rotated either
    }
    for (const n of siblings) {
      const f = join(dirname(p), n);
      try {
        const st = await stat(f);
        if (st.isFile() && st.mtimeMs >= sinceMs) {
          files.push(f);
          found = true;
        }
      } catch {
        // rotated away meanwhile
      }
    }
    if (explicit && !found && !warnings.some((w) => w.startsWith(`${p}:`))) warnings.push(`${p}: nothing to copy`);
  }
  return { files: [...new Set(files)], warnings };
}

/** Stream each file into `outDir` (created), keeping names and mtimes; a name taken twice gets its directory as a prefix. */
export async function copyLogs(outDir: string, files: readonly string[]): Promise<{ files: string[]; warnings: string[] }> {
  await mkdir(outDir, { recursive: true });
  const out: string[] = [];
  const warnings: string[] = [];
  const taken = new Set<string>();
  for (const f of files) {
    let name = basename(f);
    if (taken.has(name)) name = `${dirname(f).replace(/^\/+/, '').replace(/[^A-Za-z0-9._-]/g, '_')}_${name}`;
    taken.add(name);
    const dest = join(outDir, name);
    try {
      const st = await stat(f);
      await pipeline(createReadStream(f), createWriteStream(dest, { flags: 'wx' }));
      await utimes(dest, st.atime, st.mtime);
      out.push(dest);
    } catch (e) {
      warnings.push(`copy ${f}: ${describeError(e)}`);
    }
  }
  return { files: out, warnings };
}
