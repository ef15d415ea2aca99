/**
 * `serve` reads CloudStack and NVP live: the appliance polls both simulators on a schedule, a
 * leaked switch is raised only after it stayed unreferenced for the grace period, a switch that
 * is cleaned up (or referenced again) drops out with the next poll, a failing CloudStack listing
 * silences stale detection and shows in the listing gauge, and without an orchestrator URL the
 * collector is not started at all.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orchestratorLiveCollector } from '../../../collectors/orchestrator-live/index.js';
import { Appliance, allMetricSpecs } from '../../../engine/appliance.js';
import { validateConfig } from '../../../engine/config.js';
import { startCloudStackSimulator } from '../../../lab/cloudstack/server.js';
import { expectedLeaks, LEAKED_LSWITCH_OLD } from '../../../lab/inventory.js';
import { startNvpSimulator, type NvpSimulator } from '../../../lab/nvp/server.js';
import { NvpClient } from '../../../orchestrator/nvp/client.js';
import { PromMetrics } from '../../../server/metrics.js';

let cs: Awaited<ReturnType<typeof startCloudStackSimulator>>;
let nvp: NvpSimulator;
const dirs: string[] = [];
beforeAll(async () => {
  cs = await startCloudStackSimulator({ host: '127.0.0.1', port: 0 });
  nvp = await startNvpSimulator({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await Promise.allSettled([cs?.close(), nvp?.close()]);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function appliance(orchestrator: Record<string, unknown>) {
  const stateDir = mkdtempSync(join(tmpdir(), 'nd-orch-live-'));
  dirs.push(stateDir);
  const cfg = validateConfig({
    stateDir,
    host: 'mgmt-01',
    analyzeIntervalSeconds: 3600, // analysed by hand below
    findingResolveAfterSeconds: 0.1,
    orchestrator,
    collectors: { orchestrator: { intervalSeconds: 0.3 } },
    analyzers: { stale_logical_switch: { graceSeconds: 1 } },
  });
  const metrics = new PromMetrics(allMetricSpecs(), { defaultMetrics: false });
  // Only this collector: the host's own OVS, NICs and logs are not part of this test.
  const app = new Appliance(cfg, { metrics, collectors: [orchestratorLiveCollector], env: {} });
  return { app, metrics };
}

/** Wait until a whole new snapshot landed: every listing status in the store is newer than now. */
async function nextSnapshot(app: Appliance): Promise<void> {
  const t0 = Date.now();
  const deadline = t0 + 15_000;
  for (;;) {
    const at = app.store.get('orchestrator.listing').map((o) => o.at ?? 0);
    if (at.length > 0 && Math.min(...at) > t0) return;
    if (Date.now() > deadline) throw new Error('the orchestrator collector did not poll');
    await sleep(20);
  }
}

const stale = (app: Appliance) =>
  app
    .analyzeNow()
    .filter((f) => f.kind === 'stale_logical_switch')
    .map((f) => f.subject.lswitch as string)
    .sort();

describe('orchestrator live collector in serve', () => {
  it('raises leaked switches after the grace period, drops them when cleaned up, and stays silent while CloudStack fails', async () => {
    const { app, metrics } = appliance({ cloudstackUrl: cs.url, apiKey: cs.apiKey, secretKey: cs.secretKey, nvpUrl: nvp.url, nvpUser: nvp.user, nvpPassword: nvp.password });
    await app.start();
    try {
      await nextSnapshot(app);
      expect(app.collectorHealth()).toEqual([expect.objectContaining({ collector: 'orchestrator', mode: 'poll', up: true })]);
      // First sight: unreferenced, but not yet for the whole grace period.
      expect(stale(app)).toEqual([]);
      await sleep(1100);
      await nextSnapshot(app);
      expect(stale(app)).toEqual([...expectedLeaks.lswitches].sort());
      const f = app.findings().find((x) => x.subject.lswitch === LEAKED_LSWITCH_OLD)!;
      expect(f.metrics.unreferencedSeconds).toBeGreaterThanOrEqual(1);
      let text = await metrics.text();
      expect(text).toMatch(new RegExp(`^netdiag_stale_logical_switches ${expectedLeaks.lswitches.length}$`, 'm'));
      expect(text).toMatch(/^netdiag_orchestrator_listing_complete\{source="cloudstack",what="networks"\} 1$/m);
      expect(text).toMatch(/^netdiag_orchestrator_records\{source="nvp"\} [1-9]/m);

      // An admin deletes the leaked switch in NVP: gone with the next poll (not kept until retention).
      const admin = new NvpClient({ url: nvp.url, user: nvp.user, password: nvp.password });
      await admin.deleteLogicalSwitch(LEAKED_LSWITCH_OLD);
      await nextSnapshot(app);
      await sleep(150); // past findingResolveAfterSeconds
      expect(stale(app)).toEqual(expectedLeaks.lswitches.filter((u) => u !== LEAKED_LSWITCH_OLD).sort());

      // CloudStack's network listing fails: nothing is called stale, and the gauge says why.
      cs.inject({ command: 'listNetworks', status: 530, times: Infinity });
      await nextSnapshot(app);
      await sleep(150);
      expect(stale(app)).toEqual([]);
      text = await metrics.text();
      expect(text).toMatch(/^netdiag_orchestrator_listing_complete\{source="cloudstack",what="networks"\} 0$/m);
      expect(text).toMatch(/^netdiag_orchestrator_poll_failures_total\{source="cloudstack"\} [1-9]/m);
      expect(app.collectorHealth()[0]!.lastError).toMatch(/cloudstack/i);
      for (const secret of [cs.secretKey, cs.apiKey, nvp.password]) expect(JSON.stringify(app.collectorHealth()) + text).not.toContain(secret);
    } finally {
      cs.clearFaults();
      await app.stop();
    }
  });

  it('is not started when no orchestrator is configured', async () => {
    const { app } = appliance({});
    await app.start();
    try {
      expect(app.collectorHealth()).toEqual([]);
    } finally {
      await app.stop();
    }
  });
});
