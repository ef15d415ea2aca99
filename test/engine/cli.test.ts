import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
export const NETDIAG = join(__dirname, '..', '..', 'bin', 'netdiag.js');

export async function netdiag(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run('node', [NETDIAG, ...args], { maxBuffer: 64 << 20 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('netdiag diagnose contract', () => {
  it('exits 3 on bad arguments', async () => {
    expect((await netdiag(['diagnose', '--format', 'yaml', 'x'])).code).toBe(3);
    expect((await netdiag(['diagnose'])).code).toBe(3);
  });

  it('lists an unreadable or unrecognised input with its error and exits 3 when nothing is wrong otherwise', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nd-cli-'));
    await mkdir(join(dir, 'hv-01'));
    await writeFile(join(dir, 'hv-01', 'notes.txt'), 'just some words\n');
    const r = await netdiag(['diagnose', '--bundle', dir, join(dir, 'missing.log'), '--format', 'json']);
    expect(r.code).toBe(3);
    const report = JSON.parse(r.stdout);
    expect(report.schema).toBe('netdiag.report/v1');
    expect(report.status).toBe('ok');
    const notes = report.inputs.find((i: { path: string }) => i.path.endsWith('notes.txt'));
    expect(notes.host).toBe('hv-01');
    expect(notes.error).toMatch(/not recognised/);
    expect(report.inputs.find((i: { path: string }) => i.path.endsWith('missing.log')).error).toMatch(/ENOENT/);
    expect(report.inputs.find((i: { path: string }) => i.path.endsWith('missing.log')).error).not.toMatch(/ENOENT: ENOENT/);
  });

  it('shows binary garbage in hex, and reads a file named twice (on its own and inside its bundle) once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nd-cli-'));
    await mkdir(join(dir, 'hv-01'));
    await writeFile(join(dir, 'hv-01', 'blob.bin'), Buffer.from([0x03, 0x0b, 0x26, 0xb7, 0x00, 0xff, 0x10, 0x80]));
    await writeFile(join(dir, 'hv-01', 'notes.txt'), 'just some words\n');
    const r = await netdiag(['diagnose', '--bundle', dir, join(dir, 'hv-01', 'notes.txt'), join(dir, 'hv-01', '..', 'hv-01', 'blob.bin'), '--format', 'json']);
    const report = JSON.parse(r.stdout) as { inputs: { path: string; host?: string; error?: string }[] };
    expect(report.inputs.map((i) => i.path.split('/').pop()).sort()).toEqual(['blob.bin', 'notes.txt']);
    expect(report.inputs.every((i) => i.host === 'hv-01')).toBe(true); // the bundle's reading (with its host) is kept
    expect(report.inputs.find((i) => i.path.endsWith('blob.bin'))!.error).toMatch(/binary content, first bytes 03 0b 26 b7 00 ff 10 80/);
  });
});
