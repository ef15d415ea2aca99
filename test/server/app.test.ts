/**
 * The appliance and its HTTP face, in process: config errors all at once, every route, findings
 * kept by id with first/last seen, a failing collector that does not stop the others.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { observationsFromRecord, RecordAssembler } from '../../collectors/cloudstack-log/parse.js';
import type { LiveCollector } from '../../core/plugin.js';
import { Appliance, allMetricSpecs } from '../../engine/appliance.js';
import { validateConfig } from '../../engine/config.js';
import { buildApp } from '../../server/app.js';
import { PromMetrics } from '../../server/metrics.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const stateDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'nd-app-'));
  dirs.push(d);
  return d;
};

/** Log lines of a 409 burst at `t0` (ms), in the 4.5–4.19 layout. */
function burstLines(t0: number, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const ts = new Date(t0 + i * 10_000).toISOString().replace('T', ' ').replace('Z', '').replace('.', ',');
    out.push(
      `${ts} DEBUG [c.c.a.m.AgentManagerImpl] (Work-Job-Executor-8:ctx-ddd0660${i} job-${88 + i}/job-${89 + i} ctx-a2202db5) (logid:42202b1${i}) Details from executing class com.cloud.agent.api.CreateLogicalSwitchCommand: Message: com.cloud.utils.rest.CloudstackRESTException: Conflict: Conflict`,
      'Stack: com.cloud.network.nicira.NiciraNvpApiException: com.cloud.utils.rest.CloudstackRESTException: Conflict: Conflict',
      '\tat com.cloud.network.nicira.NiciraNvpApi.createLogicalSwitch(NiciraNvpApi.java:210)',
    );
  }
  return out;
}

function feed(app: Appliance, lines: string[]): void {
  const asm = new RecordAssembler();
  const emit = (rec: ReturnType<RecordAssembler['flush']>) => {
    if (rec) for (const o of observationsFromRecord(rec, { source: 'management-server.log', host: 'mgmt-01' })) app.store.add(o);
  };
  lines.forEach((l, i) => emit(asm.push(l, i + 1)));
  emit(asm.flush());
}

const failing: LiveCollector<{ intervalSeconds: number }> = {
  name: 'broken',
  description: 'always fails',
  schema: z.object({ intervalSeconds: z.number().default(0.05) }),
  enabledByDefault: true,
  interval: (c) => c.intervalSeconds,
  async poll() {
    throw new Error('ovs-vsctl: unix:/var/run/openvswitch/db.sock: database connection failed (No such file or directory)');
  },
};
let polls = 0;
const working: LiveCollector<{ intervalSeconds: number }> = {
  name: 'working',
  description: 'always works',
  schema: z.object({ intervalSeconds: z.number().default(0.05) }),
  enabledByDefault: true,
  interval: (c) => c.intervalSeconds,
  async poll() {
    polls++;
    return { records: 3 };
  },
};

describe('serve configuration', () => {
  it('reports every problem at once, each with its path', () => {
    expect(() =>
      validateConfig({ listen: { port: 70000 }, analyzeIntervalSeconds: -1, bogus: 1, collectors: { 'cloudstack-log': { pollMs: 'fast' } } }),
    ).toThrowError(/listen\.port[\s\S]*analyzeIntervalSeconds[\s\S]*bogus/);
    try {
      validateConfig({ listen: { port: 70000 }, analyzeIntervalSeconds: -1, bogus: 1 });
    } catch (e) {
      expect((e as Error).message).toMatch(/3 problem\(s\)/);
    }
    expect(() => validateConfig({ collectors: { 'cloudstack-log': { pollMs: 'fast', startAt: 'middle' } } })).toThrowError(/2 problem\(s\)[\s\S]*collectors\.cloudstack-log\.pollMs[\s\S]*collectors\.cloudstack-log\.startAt/);
  });

  it('accepts an empty config with the documented defaults', () => {
    const c = validateConfig({});
    expect(c.listen).toEqual({ host: '127.0.0.1', port: 9650 });
    expect(c.analyzeIntervalSeconds).toBe(10);
    expect(c.findingResolveAfterSeconds).toBe(300);
    expect((c.collectors as Record<string, { enabled: boolean; startAt?: string }>)['cloudstack-log']).toMatchObject({ enabled: true, startAt: 'end' });
  });
});

describe('netdiag serve routes', () => {
  it('serves findings, metrics, health and the status pages; a failing collector does not stop the others', async () => {
    let now = Date.parse('2026-11-23T01:00:00Z');
    const cfg = validateConfig({ stateDir: stateDir(), analyzeIntervalSeconds: 3600, findingResolveAfterSeconds: 60 });
    const metrics = new PromMetrics(allMetricSpecs(), { version: 'test', defaultMetrics: false });
    const appliance = new Appliance(cfg, { metrics, now: () => now, collectors: [failing, working] });
    const app = await buildApp(appliance, { metrics, apiToken: 'a-very-long-test-token-0123456789' });
    await appliance.start();
    try {
      feed(appliance, burstLines(now - 120_000, 6));
      const first = appliance.analyzeNow();
      expect(first.map((f) => f.kind)).toEqual(['nvp_api_exception_burst']);
      const id = first[0]!.id;
      expect(first[0]!.firstSeen).toBe('2026-11-23T00:58:00.000Z'); // the burst's first exception

      // Analysed again later: the same finding (same id), first seen kept.
      now += 30_000;
      feed(appliance, burstLines(now - 20_000, 2));
      const second = appliance.analyzeNow();
      expect(second).toHaveLength(1);
      expect(second[0]!.id).toBe(id);
      expect(second[0]!.firstSeen).toBe(first[0]!.firstSeen);

      let r = await app.inject('/api/v1/findings');
      expect(r.statusCode).toBe(200);
      expect(r.json()).toHaveLength(1);
      expect((await app.inject('/api/v1/findings?kind=flow_drop')).json()).toEqual([]);
      expect((await app.inject('/api/v1/findings?host=mgmt-01')).json()).toHaveLength(1);
      expect((await app.inject('/api/v1/findings?severity=bad')).statusCode).toBe(400);
      r = await app.inject(`/api/v1/findings/${encodeURIComponent(id)}`);
      expect(r.json()).toMatchObject({ id, kind: 'nvp_api_exception_burst', subject: { managementServer: 'mgmt-01' } });
      expect((await app.inject('/api/v1/findings/nope')).statusCode).toBe(404);

      // Give the polls time to run.
      await new Promise((res) => setTimeout(res, 300));
      expect(polls).toBeGreaterThan(1);
      r = await app.inject('/healthz');
      expect(r.statusCode).toBe(200);
      const health = r.json() as { collectors: { collector: string; up: boolean; errors: number; lastError?: string }[] };
      const broken = health.collectors.find((c) => c.collector === 'broken')!;
      expect(broken.up).toBe(false);
      expect(broken.errors).toBeGreaterThan(1);
      expect(broken.lastError).toContain('database connection failed');
      expect(health.collectors.find((c) => c.collector === 'working')!.up).toBe(true);

      const text = (await app.inject('/metrics')).body;
      expect(text).toMatch(/^netdiag_collector_up\{collector="broken"\} 0$/m);
      expect(text).toMatch(/^netdiag_collector_up\{collector="working"\} 1$/m);
      expect(text).toMatch(/^netdiag_collector_errors_total\{collector="broken"\} [1-9]/m);
      expect(text).toMatch(/^netdiag_findings\{kind="nvp_api_exception_burst",severity="warning"\} 1$/m);
      expect(text).toMatch(/^netdiag_finding_active\{kind="nvp_api_exception_burst",severity="warning",host="mgmt-01"\} 1$/m);
      expect(text).toMatch(/^netdiag_build_info\{version="test"\} 1$/m);

      // The runbook target lists the finding with its evidence, escaped.
      const html = (await app.inject('/findings?kind=nvp_api_exception_burst')).body;
      expect(html).toContain('CreateLogicalSwitchCommand');
      expect(html).toContain(id);
      expect(html).not.toMatch(/<script/i);
      expect((await app.inject('/')).body).toContain('broken');

      // Mutating routes need the bearer token.
      expect((await app.inject({ method: 'POST', url: '/api/v1/analyze' })).statusCode).toBe(401);
      expect((await app.inject({ method: 'POST', url: '/api/v1/analyze', headers: { authorization: 'Bearer wrong' } })).statusCode).toBe(401);
      expect((await app.inject({ method: 'POST', url: '/api/v1/analyze', headers: { authorization: 'Bearer a-very-long-test-token-0123456789' } })).statusCode).toBe(200);

      // Resolved: the burst left the store's retention and the resolve grace passed.
      now += 2 * 3600_000;
      appliance.analyzeNow();
      expect(appliance.findings()).toEqual([]);
      expect((await app.inject('/metrics')).body).toMatch(/^netdiag_findings\{kind="nvp_api_exception_burst",severity="warning"\} 0$/m);
    } finally {
      await appliance.stop();
      await app.close();
    }
    expect((await app.inject('/healthz').catch(() => undefined)) === undefined || appliance.isStopping).toBe(true);
  });

  it('refuses mutating routes when no token is configured', async () => {
    const cfg = validateConfig({ stateDir: stateDir(), collectors: { 'cloudstack-log': { enabled: false }, nic: { enabled: false }, ovs: { enabled: false } } });
    const metrics = new PromMetrics(allMetricSpecs(), { defaultMetrics: false });
    const appliance = new Appliance(cfg, { metrics, collectors: [] });
    const app = await buildApp(appliance, { metrics });
    expect((await app.inject({ method: 'POST', url: '/api/v1/analyze', headers: { authorization: 'Bearer x' } })).statusCode).toBe(403);
    await app.close();
  });
});
