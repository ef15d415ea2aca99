/**
 * End to end with the real binary: `netdiag serve` follows a management-server.log that the test
 * writes, rotates and appends to; the lines show up in /metrics and as an
 * nvp_api_exception_burst finding in /api/v1/findings; nothing is lost or repeated across the
 * rotation or a restart. Then a real Prometheus (Debian's package) scrapes it with rules/nvp.yml
 * and a real Alertmanager delivers the page to a webhook in the test.
 * Needs dist/ (npm test runs tsc first).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { concrete, dashboardQueries } from '../helpers/dashboards.js';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..', '..');
const NETDIAG = join(ROOT, 'bin', 'netdiag.js');
const dir = mkdtempSync(join(tmpdir(), 'nd-e2e-serve-'));
const LOG = join(dir, 'management-server.log');
const started: ChildProcess[] = [];

afterAll(() => {
  for (const c of started) if (c.exitCode === null && c.pid) process.kill(c.pid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function stamp(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '').replace('.', ',');
}

let seq = 0;
/** `n` failing CreateLogicalSwitchCommand answers (409), the last one `ageMs` ago, one every 5 s. */
function burst(n: number, ageMs = 0): string {
  const end = Date.now() - ageMs;
  let out = '';
  for (let i = 0; i < n; i++) {
    const t = end - (n - 1 - i) * 5000;
    const j = ++seq;
    out +=
      `${stamp(t)} DEBUG [c.c.a.m.AgentManagerImpl] (Work-Job-Executor-8:ctx-ddd0${1000 + j} job-${100 + j}/job-${200 + j} ctx-a2202db5) (logid:4220${1000 + j}) Details from executing class com.cloud.agent.api.CreateLogicalSwitchCommand: Message: com.cloud.utils.rest.CloudstackRESTException: Conflict: Conflict\n` +
      'Stack: com.cloud.network.nicira.NiciraNvpApiException: com.cloud.utils.rest.CloudstackRESTException: Conflict: Conflict\n' +
      '\tat com.cloud.network.nicira.NiciraNvpApi.createLogicalSwitch(NiciraNvpApi.java:210)\n' +
      `${stamp(t + 100)} DEBUG [c.c.a.ApiServlet] (qtp788117692-14:ctx-98eb${1000 + j}) (logid:034f${1000 + j}) ===START===  192.168.1.25 -- GET  command=listNetworks&response=json&listAll=true\n`;
  }
  return out;
}
const linesIn = (s: string) => s.split('\n').length - 1;

interface Serve {
  child: ChildProcess;
  url: string;
  stderr: () => string;
}

async function startServe(config: string): Promise<Serve> {
  const child = spawn(process.execPath, [NETDIAG, 'serve', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const deadline = Date.now() + 20_000;
  while (!/listening on (http:\/\/\S+)/.test(out)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`netdiag serve did not start (exit ${child.exitCode}): ${out}\n${err}`);
    await sleep(50);
  }
  return { child, url: /listening on (http:\/\/\S+)/.exec(out)![1]!, stderr: () => err };
}

async function stop(s: Serve): Promise<number | null> {
  s.child.kill('SIGTERM');
  for (let i = 0; i < 200 && s.child.exitCode === null; i++) await sleep(50);
  return s.child.exitCode;
}

async function metric(url: string, re: RegExp): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = re.exec(text);
  return m ? Number(m[1]) : 0;
}

async function until<T>(what: string, f: () => Promise<T>, ok: (v: T) => boolean, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  let v = await f();
  while (!ok(v)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last value ${JSON.stringify(v)}`);
    await sleep(200);
    v = await f();
  }
  return v;
}

const LINES = /^netdiag_log_lines_read_total\{host="e2e",log="management"\} (\d+)$/m;
const CONFLICTS = /^netdiag_nvp_api_exceptions_total\{host="e2e",cause="conflict",status_class="4xx"\} (\d+)$/m;

function writeConfig(name: string): string {
  const p = join(dir, name);
  writeFileSync(
    p,
    [
      'listen: {host: 127.0.0.1, port: 0}',
      'host: e2e',
      `stateDir: ${join(dir, 'state')}`,
      'analyzeIntervalSeconds: 1',
      'collectors:',
      '  nic: {enabled: false}',
      '  ovs: {enabled: false}',
      `  cloudstack-log: {paths: ["${LOG}"], pollMs: 50, flushIdleMs: 300}`,
      '',
    ].join('\n'),
  );
  return p;
}

describe('netdiag serve end to end', () => {
  let written = 0;
  let exceptions = 0;
  let findingId = '';
  const config = writeConfig('netdiag.yml');

  it('follows a log that appears after start: lines in /metrics, a burst in /api/v1/findings', async () => {
    const s = await startServe(config);
    try {
      const text = burst(6, 1000);
      writeFileSync(LOG, text); // created after serve started: read from its first line
      written += linesIn(text);
      exceptions += 6;
      await until('lines read', () => metric(s.url, LINES), (n) => n === written);
      expect(await metric(s.url, CONFLICTS)).toBe(exceptions);
      const findings = await until(
        'a burst finding',
        async () => (await (await fetch(`${s.url}/api/v1/findings?kind=nvp_api_exception_burst`)).json()) as { id: string; metrics: { count: number } }[],
        (f) => f.length === 1 && f[0]!.metrics.count === exceptions,
      );
      findingId = findings[0]!.id;
      expect((await fetch(`${s.url}/healthz`)).status).toBe(200);

      // Rotation (rename + create) while serve runs: the tail of the old file and the new file, nothing lost.
      const before = burst(2);
      appendFileSync(LOG, before);
      renameSync(LOG, `${LOG}.1`);
      const after = burst(3);
      writeFileSync(LOG, after);
      written += linesIn(before) + linesIn(after);
      exceptions += 5;
      await until('lines after rotation', () => metric(s.url, LINES), (n) => n >= written);
      await sleep(500);
      expect(await metric(s.url, LINES)).toBe(written); // never repeated
      expect(await metric(s.url, CONFLICTS)).toBe(exceptions);
      expect(await metric(s.url, /^netdiag_log_rotations_total\{host="e2e",log="management",reason="rotated"\} (\d+)$/m)).toBe(1);
      // The same burst grew: updated, not duplicated.
      const grown = await until(
        'the burst to grow',
        async () => (await (await fetch(`${s.url}/api/v1/findings?kind=nvp_api_exception_burst`)).json()) as { id: string; metrics: { count: number } }[],
        (f) => f.length === 1 && f[0]!.metrics.count === exceptions,
      );
      expect(grown[0]!.id).toBe(findingId);

      // copytruncate: logrotate copies then truncates in place.
      copyFileSync(LOG, `${LOG}.2`);
      writeFileSync(LOG, '');
      await sleep(300);
      const ct = burst(1);
      appendFileSync(LOG, ct);
      written += linesIn(ct);
      exceptions += 1;
      await until('lines after copytruncate', () => metric(s.url, LINES), (n) => n >= written);
      expect(await metric(s.url, LINES)).toBe(written);
    } finally {
      expect(await stop(s)).toBe(0);
    }
    expect(s.stderr()).not.toMatch(/"level":"error"/);
  }, 90_000);

  it('resumes after a restart from its checkpoint: exactly the lines written while it was down', async () => {
    const down = burst(2);
    appendFileSync(LOG, down);
    const s = await startServe(config);
    try {
      await until('the lines written while down', () => metric(s.url, LINES), (n) => n >= linesIn(down));
      await sleep(500);
      expect(await metric(s.url, LINES)).toBe(linesIn(down));
      expect(await metric(s.url, CONFLICTS)).toBe(2);
    } finally {
      expect(await stop(s)).toBe(0);
    }
  }, 60_000);

  it('exits 3 listing every config problem at once', async () => {
    const bad = join(dir, 'bad.yml');
    writeFileSync(bad, 'listen: {port: 99999}\nanalyzeIntervalSeconds: 0\ncollectors:\n  cloudstack-log: {startAt: middle}\n');
    const child = spawn(process.execPath, [NETDIAG, 'serve', '--config', bad], { stdio: ['ignore', 'pipe', 'pipe'] });
    started.push(child);
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(code).toBe(3);
    expect(err).toMatch(/listen\.port/);
    expect(err).toMatch(/analyzeIntervalSeconds/);
  }, 30_000);
});

describe('a real Prometheus and Alertmanager page on a burst', () => {
  it('NetdiagNvpApiExceptionBurst fires in Prometheus and reaches the Alertmanager webhook', async () => {
    const pdir = mkdtempSync(join(dir, 'prom-'));
    const log = join(pdir, 'management-server.log');
    const cfg = join(pdir, 'netdiag.yml');
    writeFileSync(
      cfg,
      `listen: {host: 127.0.0.1, port: 0}\nhost: mgmt-01\nstateDir: ${join(pdir, 'state')}\nanalyzeIntervalSeconds: 1\ncollectors:\n  nic: {enabled: false}\n  ovs: {enabled: false}\n  cloudstack-log: {paths: ["${log}"], pollMs: 50, flushIdleMs: 300}\n`,
    );
    const s = await startServe(cfg);
    const hooks: unknown[] = [];
    const hook: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        hooks.push(JSON.parse(body));
        res.end('ok');
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
    const hookPort = (hook.address() as AddressInfo).port;
    const free = async () => {
      const srv = createServer();
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
      const p = (srv.address() as AddressInfo).port;
      await new Promise((r) => srv.close(r));
      return p;
    };
    const amPort = await free();
    const promPort = await free();
    writeFileSync(
      join(pdir, 'alertmanager.yml'),
      `route: {receiver: hook, group_wait: 1s, group_interval: 1s, repeat_interval: 1h}\nreceivers:\n  - name: hook\n    webhook_configs: [{url: "http://127.0.0.1:${hookPort}/", send_resolved: false}]\n`,
    );
    writeFileSync(
      join(pdir, 'prometheus.yml'),
      `global: {scrape_interval: 1s, evaluation_interval: 1s}\nrule_files: ["${join(ROOT, 'rules', 'nvp.yml')}"]\nalerting: {alertmanagers: [{static_configs: [{targets: ["127.0.0.1:${amPort}"]}]}]}\nscrape_configs:\n  - job_name: netdiag\n    static_configs: [{targets: ["${new URL(s.url).host}"]}]\n`,
    );
    const am = spawn('prometheus-alertmanager', [`--config.file=${join(pdir, 'alertmanager.yml')}`, `--storage.path=${join(pdir, 'am')}`, `--web.listen-address=127.0.0.1:${amPort}`, '--cluster.listen-address='], { stdio: 'ignore' });
    started.push(am);
    const prom = spawn(
      'prometheus',
      [`--config.file=${join(pdir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(pdir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${promPort}`, '--rules.alert.resend-delay=1s', `--web.console.templates=${pdir}/none`, `--web.console.libraries=${pdir}/none`],
      { stdio: 'ignore' },
    );
    started.push(prom);
    try {
      // Prometheus must be up and scraping before the burst, so the alert's series is seen rising.
      await until('prometheus to scrape netdiag', async () => {
        try {
          const r = (await (await fetch(`http://127.0.0.1:${promPort}/api/v1/targets`)).json()) as { data: { activeTargets: { health: string }[] } };
          return r.data.activeTargets[0]?.health ?? 'none';
        } catch {
          return 'down';
        }
      }, (h) => h === 'up', 30_000);
      writeFileSync(log, burst(6));
      const alerts = await until(
        'the alert to fire',
        async () => ((await (await fetch(`http://127.0.0.1:${promPort}/api/v1/alerts`)).json()) as { data: { alerts: { labels: Record<string, string>; state: string; annotations: Record<string, string> }[] } }).data.alerts,
        (a) => a.some((x) => x.labels.alertname === 'NetdiagNvpApiExceptionBurst' && x.state === 'firing'),
        40_000,
      );
      const a = alerts.find((x) => x.labels.alertname === 'NetdiagNvpApiExceptionBurst')!;
      expect(a.labels).toMatchObject({ severity: 'warning', host: 'mgmt-01' });
      // The description quotes the burst's size from netdiag's own gauge, through Prometheus's query template.
      expect(a.annotations.description).toMatch(/on mgmt-01 \(\d+ exceptions so far\): /);
      expect(a.annotations.runbook_url).toBe(`http://${new URL(s.url).host}/findings?kind=nvp_api_exception_burst`);
      // The runbook link opens the finding.
      expect(await (await fetch(a.annotations.runbook_url!)).text()).toContain('CreateLogicalSwitchCommand');
      await until('the webhook to be paged', async () => hooks.length, (n) => n > 0, 30_000);
      expect(JSON.stringify(hooks[0])).toContain('NetdiagNvpApiExceptionBurst');
      // The NOC dashboard's queries, run by this Prometheus on what it scraped: every one is valid,
      // and the panels about this burst show it.
      const results = new Map<string, number>();
      for (const q of dashboardQueries()) {
        const r = (await (await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(concrete(q.expr))}`)).json()) as { status: string; error?: string; data: { result: unknown[] } };
        expect(r.status, `${q.panel}: ${r.error ?? ''}`).toBe('success');
        results.set(q.panel, (results.get(q.panel) ?? 0) + r.data.result.length);
      }
      for (const panel of ['Active findings', 'Active findings by kind and host', 'Collectors up', 'NVP API exceptions per second, by cause', 'Seconds since each collector last succeeded']) {
        expect(results.get(panel), panel).toBeGreaterThan(0);
      }
    } finally {
      for (const c of [prom, am]) if (c.pid && c.exitCode === null) process.kill(c.pid, 'SIGTERM');
      await new Promise((r) => hook.close(r));
      await stop(s);
    }
  }, 120_000);
});
