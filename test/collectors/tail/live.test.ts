/**
 * cloudstackLogLive.run against a real management-server.log being appended to (and rotated):
 * NVP exceptions become observations, a stack trace is flushed after the idle time, metrics are
 * counted through a recording sink, and a restart resumes from the checkpoint in stateDir.
 */
import { appendFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { AnyObservation } from '../../../core/observation.js';
import type { LiveContext, MetricsSink } from '../../../core/plugin.js';
import { cloudstackLogLive, logLabel } from '../../../collectors/cloudstack-log/live.js';
import { liveCollectors } from '../../../collectors/index.js';
import { recordingSink } from '../../helpers/metrics.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function recording() {
  const { sink, counts } = recordingSink();
  const sum = (name: string) => [...counts].filter(([k]) => k.startsWith(`${name}{`)).reduce((a, [, v]) => a + v, 0);
  return { sink, counts, sum };
}

function context(stateDir: string, obs: AnyObservation[], sink: MetricsSink, warnings: string[]): LiveContext {
  return {
    emit: (o) => obs.push(o),
    metrics: sink,
    log: { debug() {}, info() {}, warn: (m) => warnings.push(m), error: (m) => warnings.push(m) },
    exec: async () => {
      throw new Error('no commands expected');
    },
    host: 'mgmt-01',
    roots: { sys: '/sys', proc: '/proc' },
    stateDir,
    now: () => Date.now(),
  } as LiveContext;
}

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(10);
  }
}

const ts = (s: number) => `2026-11-21 10:00:${String(s).padStart(2, '0')},000`;
const routine = (s: number) => `${ts(s)} DEBUG [c.c.a.ApiServlet] (qtp788117692-14:ctx-98ebcb82) (logid:034fba54) ===START===  192.168.1.25 -- GET  command=listNetworks&response=json`;
const nvpError = (s: number) => [
  `${ts(s)} ERROR [c.c.n.r.NiciraNvpResource] (DirectAgent-28:ctx-a9daa0d9) (logid:42202b12) CreateLogicalSwitchCommand failed`,
  'com.cloud.network.nicira.NiciraNvpApiException: Unexpected status code: 409',
  '\tat com.cloud.network.nicira.NiciraNvpApi.executeCreateObject(NiciraNvpApi.java:120)',
  '\tat com.cloud.network.resource.NiciraNvpResource.executeRequest(NiciraNvpResource.java:88)',
];

describe('cloudstackLogLive', () => {
  it('is registered, with the documented defaults', () => {
    expect(liveCollectors).toContain(cloudstackLogLive);
    const cfg = cloudstackLogLive.schema.parse({});
    expect(cfg).toMatchObject({ pollMs: 250, flushIdleMs: 2000, startAt: 'end' });
    expect(cfg.paths).toContain('/var/log/cloudstack/management/management-server.log');
    expect(cfg.paths).toContain('/var/log/cloudstack/agent/agent.log');
    expect(() => cloudstackLogLive.schema.parse({ pollMs: 'fast' })).toThrow();
    expect(logLabel('/x/management-server.log')).toBe('management');
    expect(logLabel('/x/agent.log')).toBe('agent');
    expect(logLabel('/x/messages')).toBe('other');
    for (const m of cloudstackLogLive.metrics ?? []) expect(m.name).toMatch(/^netdiag_/);
    const names = (cloudstackLogLive.metrics ?? []).map((m) => m.name);
    expect(new Set(names).size).toBe(names.length); // declared once
  });

  it('emits nvp.exception from appended lines, flushes a stack trace after idle, counts metrics, survives rotation and resumes after a restart', async () => {
    const d = mkdtempSync(join(tmpdir(), 'nd-tail-live-'));
    dirs.push(d);
    const state = join(d, 'state');
    const log = join(d, 'management-server.log');
    const missing = join(d, 'agent.log'); // never created: waited for, not an error
    // History before the first start is not replayed (startAt: end).
    writeFileSync(log, `${nvpError(1).join('\n')}\n${routine(2)}\n`);

    const obs: AnyObservation[] = [];
    const warnings: string[] = [];
    const rec = recording();
    const cfg = cloudstackLogLive.schema.parse({ paths: [log, missing], pollMs: 20, flushIdleMs: 200 });
    const ac = new AbortController();
    const running = cloudstackLogLive.run!(context(state, obs, rec.sink, warnings), cfg, ac.signal);
    await sleep(150);

    // A stack trace with no record after it: only the idle flush completes it.
    appendFileSync(log, `${routine(10)}\n${nvpError(11).join('\n')}\n`);
    const t0 = Date.now();
    await until(() => obs.some((o) => o.kind === 'nvp.exception'));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
    const exc = obs.filter((o) => o.kind === 'nvp.exception');
    expect(exc).toHaveLength(1);
    expect(exc[0]!.host).toBe('mgmt-01');
    expect(JSON.stringify(exc[0])).toContain('409');

    // Rotation (rename + create) while following: the old file's last record still arrives.
    appendFileSync(log, `${nvpError(20).join('\n')}\n`);
    renameSync(log, `${log}.1`);
    appendFileSync(log, `${routine(21)}\n${nvpError(22).join('\n')}\n${routine(23)}\n`);
    await until(() => obs.filter((o) => o.kind === 'nvp.exception').length === 3);
    await until(() => rec.sum('netdiag_log_lines_read_total') === 15);
    expect(rec.counts.get('netdiag_log_lines_read_total{"host":"mgmt-01","log":"management"}')).toBe(15);
    expect(rec.sum('netdiag_log_bytes_read_total')).toBeGreaterThan(500);
    expect(rec.sum('netdiag_nvp_api_exceptions_total')).toBe(3);
    expect(rec.sum('netdiag_log_rotations_total')).toBe(1);
    ac.abort();
    await running;
    expect(warnings).toEqual([]);

    // Restart: lines appended while down arrive, nothing seen before is repeated.
    appendFileSync(log, `${nvpError(30).join('\n')}\n${routine(31)}\n`);
    const obs2: AnyObservation[] = [];
    const rec2 = recording();
    const ac2 = new AbortController();
    const running2 = cloudstackLogLive.run!(context(state, obs2, rec2.sink, warnings), cfg, ac2.signal);
    await until(() => obs2.some((o) => o.kind === 'nvp.exception'));
    await sleep(300);
    ac2.abort();
    await running2;
    expect(obs2.filter((o) => o.kind === 'nvp.exception')).toHaveLength(1);
    expect(rec2.sum('netdiag_log_lines_read_total')).toBe(5);
    expect(warnings).toEqual([]);
  });

  it('logs, counts and retries a path that cannot be followed while the other paths go on', async () => {
    const d = mkdtempSync(join(tmpdir(), 'nd-tail-live-'));
    dirs.push(d);
    const log = join(d, 'management-server.log');
    const bad = join(d, 'agent.log');
    mkdirSync(bad); // a directory where a log should be
    writeFileSync(log, '');
    const obs: AnyObservation[] = [];
    const warnings: string[] = [];
    const rec = recording();
    const cfg = cloudstackLogLive.schema.parse({ paths: [bad, log], pollMs: 20, flushIdleMs: 100 });
    const ac = new AbortController();
    const running = cloudstackLogLive.run!(context(join(d, 'state'), obs, rec.sink, warnings), cfg, ac.signal);
    await sleep(100);
    appendFileSync(log, `${nvpError(1).join('\n')}\n`);
    await until(() => obs.some((o) => o.kind === 'nvp.exception'));
    ac.abort();
    await running; // the retry backoff ends on abort
    expect(warnings.some((w) => /retrying/.test(w))).toBe(true);
    expect(rec.counts.get('netdiag_log_follow_errors_total{"host":"mgmt-01","log":"agent"}')).toBeGreaterThanOrEqual(1);
  });

  it('never checkpoints past a record it has not emitted yet', async () => {
    const d = mkdtempSync(join(tmpdir(), 'nd-tail-live-'));
    dirs.push(d);
    const state = join(d, 'state');
    const log = join(d, 'management-server.log');
    writeFileSync(log, '');
    const obs: AnyObservation[] = [];
    const warnings: string[] = [];
    const rec = recording();
    const cfg = cloudstackLogLive.schema.parse({ paths: [log], pollMs: 20, flushIdleMs: 60_000, checkpointSeconds: 0.05 });
    const ac = new AbortController();
    const running = cloudstackLogLive.run!(context(state, obs, rec.sink, warnings), cfg, ac.signal);
    await sleep(100);
    const first = `${routine(1)}\n${routine(2)}\n`;
    appendFileSync(log, `${first}${nvpError(3).join('\n')}\n`);
    await until(() => rec.sum('netdiag_log_lines_read_total') === 6);
    await sleep(100); // > checkpointSeconds: the next line triggers a checkpoint
    appendFileSync(log, `\tat more.Frames(X.java:1)\n`); // keeps the record open
    await until(() => rec.sum('netdiag_log_lines_read_total') === 7);
    await sleep(200);
    const { readdirSync, readFileSync } = await import('node:fs');
    const cpFile = readdirSync(state).find((n) => n.endsWith('.json'))!;
    const cp = JSON.parse(readFileSync(join(state, cpFile), 'utf8')) as { pos: number; lineNo: number };
    expect(obs.filter((o) => o.kind === 'nvp.exception')).toHaveLength(0); // still open
    expect(cp).toMatchObject({ pos: Buffer.byteLength(first), lineNo: 2 });
    ac.abort();
    await running;
    expect(obs.filter((o) => o.kind === 'nvp.exception')).toHaveLength(1); // emitted on stop
    const after = JSON.parse(readFileSync(join(state, cpFile), 'utf8')) as { pos: number };
    expect(after.pos).toBe(readFileSync(log).length);
  });
});
