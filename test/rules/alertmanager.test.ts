/**
 * rules/alertmanager/routing.yml, the routing hints shipped for on-call: amtool accepts it, critical alerts
 * route to the pager and the rest to the NOC, every alert name it mentions exists in rules/*.yml
 * with the labels its inhibitions compare, and on a real Alertmanager the critical form of an
 * alert inhibits its warning form for the same subject only, and an unstable NVP control cluster
 * inhibits the management servers' exception bursts.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const run = promisify(execFile);
const RULES = join(__dirname, '..', '..', 'rules');
const CONFIG = join(RULES, 'alertmanager', 'routing.yml');
const started: ChildProcess[] = [];
const dirs: string[] = [];
afterAll(() => {
  for (const p of started) if (p.exitCode === null) p.kill('SIGTERM');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Rule { alert: string; expr: string; labels?: Record<string, string> }
const alerts: Rule[] = readdirSync(RULES)
  .filter((f) => f.endsWith('.yml'))
  .flatMap((f) => (parse(readFileSync(join(RULES, f), 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules));
const am = parse(readFileSync(CONFIG, 'utf8')) as { inhibit_rules: { source_matchers: string[]; target_matchers: string[]; equal?: string[] }[] };

/** Alert names a matcher list selects (`alertname="X"` or `alertname=~"A|B"`). */
function namesOf(matchers: string[]): string[] {
  const m = matchers.map((x) => /^alertname(=~?)"(.*)"$/.exec(x)).find(Boolean);
  if (!m) return [];
  const re = m[1] === '=~' ? new RegExp(`^(?:${m[2]})$`) : undefined;
  return alerts.map((a) => a.alert).filter((n) => (re ? re.test(n) : n === m[2]));
}

/** Labels an alert carries: its `by (...)` labels, else those of the metric it reads, plus instance. */
function labelsOf(name: string): Set<string> {
  const r = alerts.find((a) => a.alert === name)!;
  const by = /by \(([^)]*)\)/.exec(r.expr);
  const out = new Set(by ? by[1]!.split(',').map((s) => s.trim()) : ['instance', 'host', 'interface', 'bridge', 'kind', 'reason', 'controller', 'source', 'what']);
  return out;
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const p = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return p;
}

describe('Alertmanager routing hints', () => {
  it('is a valid configuration that pages for critical alerts only', async () => {
    const { stdout } = await run('amtool', ['check-config', CONFIG]);
    expect(stdout).toMatch(/SUCCESS/);
    const route = async (labels: string[]) => (await run('amtool', ['config', 'routes', 'test', `--config.file=${CONFIG}`, ...labels])).stdout.trim();
    expect(await route(['alertname=NetdiagNicCrcErrorsCritical', 'severity=critical'])).toBe('netdiag-oncall');
    expect(await route(['alertname=NetdiagNicCrcErrors', 'severity=warning'])).toBe('netdiag-noc');
    expect(await route(['alertname=NetdiagStaleOvsBridges', 'severity=info'])).toBe('netdiag-noc');
  });

  it('names only alerts that exist, and compares labels both sides carry', () => {
    for (const r of am.inhibit_rules) {
      const sources = namesOf(r.source_matchers);
      const targets = namesOf(r.target_matchers);
      expect(sources.length, JSON.stringify(r.source_matchers)).toBeGreaterThan(0);
      expect(targets.length, JSON.stringify(r.target_matchers)).toBeGreaterThan(0);
      for (const l of r.equal ?? []) for (const n of [...sources, ...targets]) expect(labelsOf(n).has(l) || l === 'instance', `${n} has no label ${l}`).toBe(true);
      // a critical alert is never silenced by a lesser one
      const sev = (n: string) => alerts.find((a) => a.alert === n)!.labels?.severity;
      for (const s of sources) for (const t of targets) expect(['critical', 'warning', 'info'].indexOf(sev(s)!)).toBeLessThanOrEqual(['critical', 'warning', 'info'].indexOf(sev(t)!));
    }
  });

  it('on a real Alertmanager: critical inhibits warning for the same interface only; an unstable cluster inhibits the bursts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nd-am-'));
    dirs.push(dir);
    const port = await freePort();
    const proc = spawn('prometheus-alertmanager', [`--config.file=${CONFIG}`, `--storage.path=${join(dir, 'am')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address='], { stdio: 'ignore' });
    started.push(proc);
    const base = `http://127.0.0.1:${port}/api/v2`;
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        if ((await fetch(`${base}/status`)).ok) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error('alertmanager did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    const now = new Date().toISOString();
    const alert = (labels: Record<string, string>) => ({ labels: { instance: 'hv-01:9650', ...labels }, annotations: {}, startsAt: now });
    const post = await fetch(`${base}/alerts`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify([
        alert({ alertname: 'NetdiagNicCrcErrorsCritical', severity: 'critical', host: 'hv-01', interface: 'eno1' }),
        alert({ alertname: 'NetdiagNicCrcErrors', severity: 'warning', host: 'hv-01', interface: 'eno1' }),
        alert({ alertname: 'NetdiagNicCrcErrors', severity: 'warning', host: 'hv-01', interface: 'eno2' }),
        alert({ alertname: 'NetdiagNvpControlClusterNotStable', severity: 'critical', instance: 'central:9650', controller: 'https://nvp' }),
        alert({ alertname: 'NetdiagNvpApiExceptionBurstCritical', severity: 'critical', instance: 'mgmt-01:9650', host: 'mgmt-01' }),
      ]),
    });
    expect(post.status).toBe(200);
    type Am = { labels: Record<string, string>; status: { state: string; inhibitedBy: string[] } };
    let got: Am[] = [];
    const until = Date.now() + 20_000;
    // Inhibition is evaluated as the alerts arrive; poll until all five are there.
    while (Date.now() < until) {
      got = (await (await fetch(`${base}/alerts`)).json()) as Am[];
      if (got.length === 5 && got.some((a) => a.status.state === 'suppressed')) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const state = (name: string, extra: Record<string, string> = {}) =>
      got.find((a) => a.labels.alertname === name && Object.entries(extra).every(([k, v]) => a.labels[k] === v))?.status.state;
    expect(state('NetdiagNicCrcErrorsCritical')).toBe('active');
    expect(state('NetdiagNicCrcErrors', { interface: 'eno1' })).toBe('suppressed');
    expect(state('NetdiagNicCrcErrors', { interface: 'eno2' })).toBe('active');
    expect(state('NetdiagNvpControlClusterNotStable')).toBe('active');
    expect(state('NetdiagNvpApiExceptionBurstCritical')).toBe('suppressed');
    proc.kill('SIGTERM');
  }, 60_000);
});
