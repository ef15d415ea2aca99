/** Run the built CLI (`bin/netdiag.js`, needs dist/: `npm test` compiles first) and return its exit code and output. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const ROOT = join(__dirname, '..', '..');
export const NETDIAG = join(ROOT, 'bin', 'netdiag.js');

export async function netdiag(args: string[], opts: { timeoutMs?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run('node', [NETDIAG, ...args], { maxBuffer: 64 << 20, timeout: opts.timeoutMs ?? 120_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}
