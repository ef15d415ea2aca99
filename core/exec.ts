import { spawn } from 'node:child_process';
import { NetdiagError, redact } from './errors.js';

export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** true when stdout was cut at maxBytes */
  truncated: boolean;
}

export interface ExecOptions {
  timeoutMs?: number;
  maxBytes?: number;
  env?: NodeJS.ProcessEnv;
  input?: string;
  /** Treat a non-zero exit as success (the caller inspects `code`). */
  allowFailure?: boolean;
}

/** Commands run through this, injected into collectors so tests can replay captured output. */
export type Exec = (file: string, args: readonly string[], opts?: ExecOptions) => Promise<ExecResult>;

/**
 * Run a command with an argument array (never a shell), a timeout and a bound on the output it
 * may produce. Fails with E_EXEC/E_EXEC_TIMEOUT naming the command.
 */
export const runCommand: Exec = (file, args, opts = {}) => {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const maxBytes = opts.maxBytes ?? 64 * 1024 * 1024;
  const display = redact([file, ...args].join(' '));
  return new Promise((resolve, reject) => {
    const child = spawn(file, [...args], { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outLen = 0;
    let errLen = 0;
    let truncated = false;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (c: Buffer) => {
      if (outLen >= maxBytes) {
        truncated = true;
        return;
      }
      out.push(c);
      outLen += c.length;
    });
    child.stderr.on('data', (c: Buffer) => {
      if (errLen < 1 << 20) {
        err.push(c);
        errLen += c.length;
      }
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new NetdiagError('E_EXEC', `could not run ${display}: ${e.message}`, { cause: e, remedy: `is ${file} installed and on PATH?` }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const res: ExecResult = {
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        code,
        signal,
        truncated,
      };
      if (timedOut) return reject(new NetdiagError('E_EXEC_TIMEOUT', `${display} did not finish within ${timeoutMs} ms`));
      if (code !== 0 && !opts.allowFailure) {
        const msg = res.stderr.trim().split('\n').slice(-3).join(' | ') || `exit status ${code ?? signal}`;
        return reject(new NetdiagError('E_EXEC', `${display} failed: ${redact(msg)}`));
      }
      resolve(res);
    });
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
};
