/**
 * `netdiag diagnose --cloudstack-url <simulator> --api-key .. --secret-key ..` lists the inputs,
 * and neither the api key nor the secret key appears in any output, failures included.
 * Needs `dist/` (npx tsc -p tsconfig.json).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudStackSimulator, type CloudStackSimulator } from '../../../lab/cloudstack/server.js';

const run = promisify(execFile);
const NETDIAG = join(__dirname, '..', '..', '..', 'bin', 'netdiag.js');
let sim: CloudStackSimulator;
beforeAll(async () => {
  sim = await startCloudStackSimulator();
});
afterAll(() => sim.close());

async function netdiag(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('node', [NETDIAG, ...args], { timeout: 60_000, env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('netdiag diagnose against the CloudStack simulator', () => {
  it('lists the cloudstack-api input with what it read (json and text)', async () => {
    const { code, stdout, stderr } = await netdiag(['diagnose', '--cloudstack-url', sim.url, '--api-key', sim.apiKey, '--secret-key', sim.secretKey, '--format', 'json']);
    const report = JSON.parse(stdout) as { inputs: { path: string; type: string; records: number; error?: string }[] };
    expect(report.inputs).toEqual([expect.objectContaining({ path: sim.url, type: 'cloudstack-api', records: expect.any(Number) })]);
    expect(report.inputs[0]!.error).toBeUndefined();
    expect(report.inputs[0]!.records).toBeGreaterThan(15);
    expect(code).toBe(0);
    for (const s of [sim.apiKey, sim.secretKey]) expect(stdout + stderr).not.toContain(s);
    const text = await netdiag(['diagnose', '--cloudstack-url', sim.url, '--api-key', sim.apiKey, '--secret-key', sim.secretKey]);
    expect(text.stdout).toContain('cloudstack-api');
    for (const s of [sim.apiKey, sim.secretKey]) expect(text.stdout + text.stderr).not.toContain(s);
  });

  it('takes the keys from the environment too', async () => {
    const { stdout } = await netdiag(['diagnose', '--format', 'json'], { NETDIAG_CLOUDSTACK_URL: sim.url, NETDIAG_API_KEY: sim.apiKey, NETDIAG_SECRET_KEY: sim.secretKey });
    expect(JSON.parse(stdout).inputs[0]).toMatchObject({ type: 'cloudstack-api' });
  });

  it('a wrong secret is shown as a 401 in inputs, exit 3, and no key in any output', async () => {
    const wrong = 'Zm9vYmFyLXdyb25nLXNlY3JldC1rZXktZm9yLXRlc3Rpbmc';
    const { code, stdout, stderr } = await netdiag(['diagnose', '--cloudstack-url', sim.url, '--api-key', sim.apiKey, '--secret-key', wrong, '--format', 'json']);
    const report = JSON.parse(stdout) as { inputs: { type: string; error?: string }[] };
    expect(report.inputs[0]!.error).toMatch(/401|unable to verify/);
    expect(code).toBe(3);
    for (const s of [sim.apiKey, wrong, sim.secretKey]) expect(stdout + stderr).not.toContain(s);
  });

  it('an unreachable server is an input error naming the URL but no key', async () => {
    const dead = sim.url.replace(/:\d+\//, ':1/');
    const { code, stdout, stderr } = await netdiag(['diagnose', '--cloudstack-url', dead, '--api-key', sim.apiKey, '--secret-key', sim.secretKey, '--format', 'json']);
    const report = JSON.parse(stdout) as { inputs: { error?: string }[] };
    expect(report.inputs[0]!.error).toMatch(/ECONNREFUSED/);
    expect(code).toBe(3);
    for (const s of [sim.apiKey, sim.secretKey]) expect(stdout + stderr).not.toContain(s);
  });
});
