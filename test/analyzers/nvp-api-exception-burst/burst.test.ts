import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ObservationStore, type Observation } from '../../../core/observation.js';
import { analyzeNvpBursts, burstEpisodes, nvpBurstConfigSchema } from '../../../analyzers/nvp-api-exception-burst/analyze.js';
import type { NvpCause } from '../../../collectors/cloudstack-log/parse.js';

const cfg = nvpBurstConfigSchema.parse({});
const T0 = Date.parse('2026-11-21T10:00:00Z');

function exc(atSec: number, cause: NvpCause = 'conflict', status?: number, host = 'mgmt-01'): Observation<'nvp.exception'> {
  return {
    kind: 'nvp.exception',
    host,
    at: T0 + atSec * 1000,
    source: `management-server.log:${atSec}`,
    data: { cause, ...(status ? { status } : {}), via: 'answer', message: 'x', jobs: [String(atSec)], layout: 'log4j1-logid', line: atSec, excerpt: `line ${atSec}`, command: 'CreateLogicalSwitchCommand' },
  };
}

function run(obs: Observation<'nvp.exception'>[], c = cfg) {
  const s = new ObservationStore();
  for (const o of obs) s.add(o);
  return analyzeNvpBursts(s, c);
}

describe('burst episodes', () => {
  it('has documented defaults: 5 in 300 s', () => {
    expect(cfg).toMatchObject({ threshold: 5, windowSeconds: 300, authCriticalCount: 2, sustainedSeconds: 120 });
    expect(() => nvpBurstConfigSchema.parse({ threshold: 0 })).toThrow();
    expect(() => nvpBurstConfigSchema.parse({ bogus: 1 })).toThrow();
  });

  it('threshold edges: 4 in the window is not a burst, 5 within exactly 300 s is, 5 over 301 s is not', () => {
    expect(run([0, 10, 20, 30].map((s) => exc(s)))).toHaveLength(0);
    expect(run([0, 100, 200, 250, 300].map((s) => exc(s)))).toHaveLength(1);
    expect(run([0, 100, 200, 250, 301].map((s) => exc(s)))).toHaveLength(0);
  });

  it('a long storm is one episode; two storms apart are two, with distinct stable ids', () => {
    const storm = Array.from({ length: 40 }, (_, i) => exc(i * 30)); // 20 minutes, 10 per window
    const one = run(storm);
    expect(one).toHaveLength(1);
    expect(one[0]!.metrics).toMatchObject({ count: 40, windowSeconds: 300, peakInWindow: 11 });
    const two = run([...[0, 10, 20, 30, 40].map((s) => exc(s)), ...[7200, 7210, 7220, 7230, 7240].map((s) => exc(s))]);
    expect(two).toHaveLength(2);
    expect(two[0]!.id).not.toBe(two[1]!.id);
    expect(two[0]!.firstSeen).toBe(new Date(T0).toISOString());
    expect(two[1]!.firstSeen).toBe(new Date(T0 + 7200_000).toISOString());
    // Order of input does not matter (rotated files read in any order).
    expect(run([...[7200, 7210, 7220, 7230, 7240].map((s) => exc(s)), ...[40, 30, 20, 10, 0].map((s) => exc(s))]).map((f) => f.id).sort()).toEqual(two.map((f) => f.id).sort());
  });

  it('the id stays the same while a live burst grows (new commands, more exceptions)', () => {
    const a = run([0, 10, 20, 30, 40].map((s) => exc(s)));
    const more = [0, 10, 20, 30, 40, 50].map((s) => exc(s));
    more[5]!.data.command = 'DeleteLogicalSwitchCommand';
    const b = run(more);
    expect(b[0]!.id).toBe(a[0]!.id);
    expect(b[0]!.subject.commands).toEqual(['CreateLogicalSwitchCommand', 'DeleteLogicalSwitchCommand']);
  });

  it('bursts on different management servers are separate', () => {
    const f = run([...[0, 1, 2, 3, 4].map((s) => exc(s, 'conflict', 409, 'mgmt-01')), ...[0, 1, 2, 3].map((s) => exc(s, 'conflict', 409, 'mgmt-02'))]);
    expect(f).toHaveLength(1);
    expect(f[0]!.subject.managementServer).toBe('mgmt-01');
  });

  it('severity: repeated auth → critical; sustained transport/5xx → critical; short blip or 409/404 → warning', () => {
    expect(run([0, 1, 2, 3, 4].map((s, i) => exc(s, i < 2 ? 'auth' : 'conflict', i < 2 ? 401 : 409)))[0]!.severity).toBe('critical');
    expect(run([0, 1, 2, 3, 4].map((s, i) => exc(s, i < 1 ? 'auth' : 'conflict')))[0]!.severity).toBe('warning');
    expect(run([0, 40, 80, 120, 160].map((s) => exc(s, 'transport')))[0]!.severity).toBe('critical');
    expect(run([0, 1, 2, 3, 4].map((s) => exc(s, 'server_error', 503)))[0]!.severity).toBe('warning');
    expect(run(Array.from({ length: 10 }, (_, i) => exc(i, 'server_error', 503)))[0]!.severity).toBe('critical');
    expect(run([0, 1, 2, 3, 4].map((s) => exc(s, 'not_found', 404)))[0]!.severity).toBe('warning');
    expect(run([0, 1, 2, 3, 4].map((s) => exc(s, 'conflict', 409)))[0]!.metrics.byStatus).toEqual({ '409': 5 });
  });

  it('exceptions without a timestamp (pasted lines) are not windowed', () => {
    const obs = [0, 1, 2, 3, 4].map((s) => ({ ...exc(s), at: undefined }));
    expect(run(obs as Observation<'nvp.exception'>[])).toHaveLength(0);
  });

  it('burstEpisodes merges windows that share an exception', () => {
    expect(burstEpisodes([0, 1, 2, 3, 4, 1000, 1001, 1002], 3, 10)).toEqual([
      { start: 0, end: 4, peak: 5 },
      { start: 5, end: 7, peak: 3 },
    ]);
  });
});

const run$ = promisify(execFile);
async function netdiag(args: string[]) {
  try {
    const r = await run$('node', [join(__dirname, '..', '..', '..', 'bin', 'netdiag.js'), ...args], { maxBuffer: 64 << 20 });
    return { code: 0, stdout: r.stdout };
  } catch (e) {
    const err = e as { code: number; stdout: string };
    return { code: err.code, stdout: err.stdout };
  }
}

describe('netdiag diagnose on CloudStack logs (built dist/)', () => {
  const cases = join(__dirname, '..', '..', 'fixtures', 'cloudstack-log', 'cases');

  it('exits 2 with a critical burst and reports it per the contract', async () => {
    const r = await netdiag(['diagnose', '--bundle', join(cases, 'log4j2-auth-pings', 'input'), '--format', 'json']);
    expect(r.code).toBe(2);
    const rep = JSON.parse(r.stdout);
    expect(rep.schema).toBe('netdiag.report/v1');
    expect(rep.status).toBe('critical');
    expect(rep.inputs).toEqual([expect.objectContaining({ type: 'cloudstack-log', host: 'mgmt-01', records: 59 })]);
    const f = rep.findings.find((x: { kind: string }) => x.kind === 'nvp_api_exception_burst');
    expect(f).toMatchObject({ severity: 'critical', host: 'mgmt-01', subject: { managementServer: 'mgmt-01' }, metrics: { count: 6, windowSeconds: 300, byStatus: { auth: 6 } } });
    expect(Array.isArray(f.subject.commands)).toBe(true);
    expect(f.evidence.length).toBeGreaterThanOrEqual(2);
    expect(f.firstSeen).toBe('2026-11-21T14:00:10.081Z');
  });

  it('exits 1 with a warning burst across a rotated set (.gz + live file) and one finding', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nd-cslog-'));
    cpSync(join(cases, 'rotation-straddle', 'input'), dir, { recursive: true });
    const r = await netdiag(['diagnose', '--bundle', dir, '--format', 'json']);
    expect(r.code).toBe(1);
    const rep = JSON.parse(r.stdout);
    const fs = rep.findings.filter((x: { kind: string }) => x.kind === 'nvp_api_exception_burst');
    expect(fs).toHaveLength(1);
    expect(fs[0].metrics).toMatchObject({ count: 6, byStatus: { '404': 6 } });
    expect(rep.inputs.map((i: { type: string }) => i.type)).toEqual(['cloudstack-log', 'cloudstack-log']);
  });

  it('uses the fast scan on a huge file (forced by NETDIAG_LOG_SCAN=fast) with the same finding', async () => {
    const prev = process.env.NETDIAG_LOG_SCAN;
    process.env.NETDIAG_LOG_SCAN = 'fast';
    try {
      const r = await netdiag(['diagnose', '--bundle', join(cases, 'log4j2-auth-pings', 'input'), '--format', 'json']);
      expect(r.code).toBe(2);
      const rep = JSON.parse(r.stdout);
      expect(rep.inputs[0].warnings.join(' ')).toMatch(/fast scan/);
      const f = rep.findings.find((x: { kind: string }) => x.kind === 'nvp_api_exception_burst');
      expect(f.metrics).toMatchObject({ count: 6, byStatus: { auth: 6 } });
      expect(f.evidence[1].source).toMatch(/management-server\.log@\d+$/);
      // And on a rotated set with a .gz member: the same single episode as the full scan.
      const rot = JSON.parse((await netdiag(['diagnose', '--bundle', join(cases, 'rotation-straddle', 'input'), '--format', 'json'])).stdout);
      const bursts = rot.findings.filter((x: { kind: string }) => x.kind === 'nvp_api_exception_burst');
      expect(bursts).toHaveLength(1);
      expect(bursts[0].metrics).toMatchObject({ count: 6, byStatus: { '404': 6 } });
    } finally {
      if (prev === undefined) delete process.env.NETDIAG_LOG_SCAN;
      else process.env.NETDIAG_LOG_SCAN = prev;
    }
  });
});
