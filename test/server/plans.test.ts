/**
 * The appliance's plan routes: `serve` shows the plans for its active findings (JSON and on the
 * findings page), and applies one only over an authenticated POST — a dry run unless the body
 * says {"confirm": true}; applying it again changes nothing. Both simulators stand in for
 * CloudStack and NVP.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orchestratorLiveCollector } from '../../collectors/orchestrator-live/index.js';
import type { Plan, PlanSet } from '../../core/plan.js';
import { Appliance, allMetricSpecs } from '../../engine/appliance.js';
import { validateConfig } from '../../engine/config.js';
import { startCloudStackSimulator } from '../../lab/cloudstack/server.js';
import { LEAKED_LSWITCH_OLD } from '../../lab/inventory.js';
import { startNvpSimulator, type NvpSimulator } from '../../lab/nvp/server.js';
import { buildApp } from '../../server/app.js';
import { PromMetrics } from '../../server/metrics.js';

const TOKEN = 'plan-route-token-0123456789';
let cs: Awaited<ReturnType<typeof startCloudStackSimulator>>;
let nvp: NvpSimulator;
let stateDir: string;
beforeAll(async () => {
  cs = await startCloudStackSimulator({ host: '127.0.0.1', port: 0 });
  nvp = await startNvpSimulator({ host: '127.0.0.1', port: 0 });
  stateDir = mkdtempSync(join(tmpdir(), 'nd-plans-'));
});
afterAll(async () => {
  await Promise.allSettled([cs?.close(), nvp?.close()]);
  rmSync(stateDir, { recursive: true, force: true });
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('plan routes of serve', () => {
  it('lists plans, dry-runs and applies one only with the token and {"confirm": true}', async () => {
    const cfg = validateConfig({
      stateDir,
      host: 'mgmt-01',
      analyzeIntervalSeconds: 3600,
      orchestrator: { cloudstackUrl: cs.url, apiKey: cs.apiKey, secretKey: cs.secretKey, nvpUrl: nvp.url, nvpUser: nvp.user, nvpPassword: nvp.password },
      collectors: { orchestrator: { intervalSeconds: 0.3 } },
      analyzers: { stale_logical_switch: { graceSeconds: 1 } },
    });
    const metrics = new PromMetrics(allMetricSpecs(), { defaultMetrics: false });
    const appliance = new Appliance(cfg, { metrics, collectors: [orchestratorLiveCollector], env: {} });
    await appliance.start();
    const app = await buildApp(appliance, { metrics, apiToken: TOKEN });
    const noToken = await buildApp(appliance, { metrics });
    try {
      // unreferenced for longer than the grace period, across polls
      const deadline = Date.now() + 15_000;
      while (!appliance.analyzeNow().some((f) => f.subject.lswitch === LEAKED_LSWITCH_OLD)) {
        if (Date.now() > deadline) throw new Error('the leaked switch was never raised');
        await sleep(200);
      }
      const set = (await app.inject({ method: 'GET', url: '/api/v1/plans' })).json() as PlanSet;
      expect(set.schema).toBe('netdiag.plans/v1');
      const plan = set.plans.find((p) => p.steps.some((s) => s.action === 'deleteLogicalSwitch' && s.params.uuid === LEAKED_LSWITCH_OLD)) as Plan;
      expect(plan).toBeDefined();
      expect(((await app.inject({ method: 'GET', url: `/api/v1/plans/${plan.id}` })).json() as Plan).id).toBe(plan.id);
      expect((await app.inject({ method: 'GET', url: '/api/v1/plans/plan-none' })).statusCode).toBe(404);
      const page = (await app.inject({ method: 'GET', url: '/findings?kind=stale_logical_switch' })).body;
      expect(page).toContain(`/api/v1/plans/${plan.id}`);

      const url = `/api/v1/plans/${plan.id}/apply`;
      const auth = { authorization: `Bearer ${TOKEN}` };
      const deletes = () => nvp.requests.filter((r) => r.method === 'DELETE').length;
      expect((await noToken.inject({ method: 'POST', url, payload: { confirm: true } })).statusCode).toBe(403);
      expect((await app.inject({ method: 'POST', url, payload: { confirm: true } })).statusCode).toBe(401);
      expect((await app.inject({ method: 'POST', url, headers: { authorization: 'Bearer wrong-token-0000000000' }, payload: { confirm: true } })).statusCode).toBe(401);
      expect((await app.inject({ method: 'POST', url, headers: auth, payload: { confirm: 'yes' } })).statusCode).toBe(400);
      expect(deletes()).toBe(0);

      const dry = await app.inject({ method: 'POST', url, headers: auth, payload: {} });
      expect(dry.statusCode).toBe(200);
      expect(dry.json()).toMatchObject({ status: 'dry-run', dryRun: true });
      expect(deletes()).toBe(0);

      // two confirmations at once: one runs, the other is told to wait
      const [done, twin] = (
        await Promise.all([
          app.inject({ method: 'POST', url, headers: auth, payload: { confirm: true } }),
          app.inject({ method: 'POST', url, headers: auth, payload: { confirm: true } }),
        ])
      ).sort((a, b) => a.statusCode - b.statusCode);
      expect(twin.statusCode).toBe(409);
      expect(twin.json().error).toMatch(/being applied right now/);
      expect(done.statusCode).toBe(200);
      expect(done.json()).toMatchObject({ status: 'applied' });
      expect(nvp.lswitchUuids()).not.toContain(LEAKED_LSWITCH_OLD);
      expect(deletes()).toBe(1);

      // the finding may live until the next poll; applying again changes nothing
      const again = await app.inject({ method: 'POST', url, headers: auth, payload: { confirm: true } });
      if (again.statusCode === 200) expect(again.json()).toMatchObject({ status: 'applied' });
      else expect(again.statusCode).toBe(404); // the finding (and its plan) already cleared
      expect(deletes()).toBe(1);
      for (const secret of [cs.secretKey, cs.apiKey, nvp.password]) expect(dry.body + done.body + again.body).not.toContain(secret);
      const text = await metrics.text();
      expect(text).toMatch(/^netdiag_plan_applies_total\{kind="stale_logical_switch",status="dry-run"\} 1$/m);
      expect(text).toMatch(/^netdiag_plan_applies_total\{kind="stale_logical_switch",status="applied"\} [12]$/m);
    } finally {
      await Promise.allSettled([app.close(), noToken.close()]);
      await appliance.stop();
    }
  });
});
