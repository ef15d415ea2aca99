/**
 * End to end: both simulators seeded from lab/inventory.ts + real ovs-vsctl captures of hv-01 and
 * hv-02 → `node bin/netdiag.js diagnose ... --format json` reports exactly `expectedLeaks`, and
 * nothing stale when the CloudStack listing fails (the failure shown in `inputs`).
 * Needs `dist/` (npx tsc -p tsconfig.json).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudStackSimulator } from '../../lab/cloudstack/server.js';
import { startNvpSimulator, type NvpSimulator } from '../../lab/nvp/server.js';
import { expectedLeaks } from '../../lab/inventory.js';

const run = promisify(execFile);
const NETDIAG = join(__dirname, '..', '..', 'bin', 'netdiag.js');
const BUNDLE = join(__dirname, '..', 'fixtures', 'orchestrator', 'bundle');

interface Report {
  status: string;
  inputs: { path: string; type: string; records: number; error?: string }[];
  findings: { kind: string; host?: string; subject: Record<string, unknown>; evidence: { excerpt: string }[] }[];
}

async function diagnose(args: string[]): Promise<{ code: number; report: Report; stdout: string; stderr: string }> {
  let code = 0;
  let stdout = '';
  let stderr = '';
  try {
    ({ stdout, stderr } = await run('node', [NETDIAG, 'diagnose', ...args, '--format', 'json'], { maxBuffer: 64 << 20, timeout: 60_000 }));
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    ({ code, stdout, stderr } = err);
  }
  return { code, stdout, stderr, report: JSON.parse(stdout) as Report };
}

/** A proxy in front of the CloudStack simulator that answers 503 to the commands `failing` names. */
async function faultyProxy(target: string, failing: RegExp): Promise<{ url: string; hits: () => number; close(): Promise<void> }> {
  const t = new URL(target);
  let hits = 0;
  const server: Server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    if (failing.test(u.searchParams.get('command') ?? '')) {
      hits++;
      res.writeHead(503, { 'Content-Type': 'text/html' }).end('<html><body><h1>503 Service Unavailable</h1></body></html>');
      return;
    }
    const fwd = request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    fwd.on('error', () => res.writeHead(502).end());
    req.pipe(fwd);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${t.pathname}`,
    hits: () => hits,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

let cs: Awaited<ReturnType<typeof startCloudStackSimulator>>;
let nvp: NvpSimulator;
beforeAll(async () => {
  cs = await startCloudStackSimulator({ host: '127.0.0.1', port: 0 });
  nvp = await startNvpSimulator({ host: '127.0.0.1', port: 0, maxPageLength: 2 });
});
afterAll(async () => {
  await Promise.allSettled([cs?.close(), nvp?.close()]);
});

const orchestratorArgs = (csUrl = cs.url) => ['--cloudstack-url', csUrl, '--api-key', cs.apiKey, '--secret-key', cs.secretKey, '--nvp-url', nvp.url, '--nvp-user', nvp.user, '--nvp-password', nvp.password];
const stale = (r: Report) => r.findings.filter((f) => f.kind === 'stale_logical_switch' || f.kind === 'stale_ovs_bridge');

describe('orchestrator end to end (CloudStack + NVP simulators, hv-01/hv-02 OVS captures)', () => {
  it('reports exactly the seeded leaks', async () => {
    const { code, report, stdout, stderr } = await diagnose(['--bundle', BUNDLE, ...orchestratorArgs()]);
    const inputErrors = report.inputs.filter((i) => i.error);
    expect(inputErrors).toEqual([]);
    expect(report.inputs.map((i) => i.type)).toEqual(expect.arrayContaining(['nvp-api', 'cloudstack-api', 'ovs-vsctl-json']));
    const ls = report.findings.filter((f) => f.kind === 'stale_logical_switch').map((f) => f.subject.lswitch);
    expect(ls.sort()).toEqual([...expectedLeaks.lswitches].sort());
    const ovs = report.findings.filter((f) => f.kind === 'stale_ovs_bridge');
    expect([...new Set(ovs.filter((f) => !f.subject.port).map((f) => f.subject.bridge))]).toEqual(expectedLeaks.ovsBridges);
    expect(ovs.filter((f) => f.subject.port).map((f) => f.subject.port)).toEqual(expectedLeaks.ovsTunnelPorts);
    expect(ovs.filter((f) => !f.subject.port).map((f) => f.host).sort()).toEqual(['hv-01', 'hv-02']);
    // the VIF of the leaked switch's port is evidence
    expect(JSON.stringify(report.findings.find((f) => f.subject.lswitch === expectedLeaks.lswitches[0]))).toContain('d1c10003-0000-4000-8000-0000000000c1');
    expect(report.status).toBe('warning');
    expect(code).toBe(1);
    // NVP was paged (2 per page) and secrets never reach the output
    expect(nvp.requests.filter((r) => r.path === '/ws.v1/lswitch' && r.query._page_cursor).length).toBeGreaterThanOrEqual(2);
    for (const secret of [nvp.password, cs.secretKey, cs.apiKey]) expect(stdout + stderr).not.toContain(secret);
  });

  it('pages with the sizes the config file sets, and finds the same leaks', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nd-orch-cfg-'));
    try {
      const cfg = join(dir, 'netdiag.yml');
      writeFileSync(cfg, 'orchestrator:\n  cloudstackPageSize: 3\n  cloudstackRateLimitPerSecond: 200\n  nvpPageLength: 1\n');
      const csBefore = cs.requests.length;
      const nvpBefore = nvp.requests.length;
      const { report } = await diagnose(['--bundle', BUNDLE, ...orchestratorArgs(), '--config', cfg]);
      expect(report.inputs.filter((i) => i.error)).toEqual([]);
      expect(report.findings.filter((f) => f.kind === 'stale_logical_switch').map((f) => f.subject.lswitch).sort()).toEqual([...expectedLeaks.lswitches].sort());
      const networks = cs.requests.slice(csBefore).filter((r) => r.command === 'listNetworks');
      expect(networks.length).toBeGreaterThan(1);
      expect(new Set(networks.map((r) => r.params.pagesize))).toEqual(new Set(['3']));
      const lswitch = nvp.requests.slice(nvpBefore).filter((r) => r.path === '/ws.v1/lswitch');
      expect(new Set(lswitch.map((r) => String(r.query._page_length)))).toEqual(new Set(['1']));
      // A bad value is a config error naming the field, before anything is called.
      writeFileSync(cfg, 'orchestrator:\n  cloudstackPageSize: 0\n  nvpPageLength: 5000\n');
      const bad = await run('node', [NETDIAG, 'diagnose', '--bundle', BUNDLE, '--config', cfg]).catch((e: { code: number; stderr: string }) => e);
      expect((bad as { code: number }).code).toBe(3);
      expect((bad as { stderr: string }).stderr).toMatch(/orchestrator\.cloudstackPageSize/);
      expect((bad as { stderr: string }).stderr).toMatch(/orchestrator\.nvpPageLength/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('calls nothing stale when the CloudStack network listing fails, and shows the failure in inputs', async () => {
    const proxy = await faultyProxy(cs.url, /^listNetworks$/i);
    try {
      const { code, report } = await diagnose(['--bundle', BUNDLE, ...orchestratorArgs(proxy.url)]);
      expect(proxy.hits()).toBeGreaterThan(0);
      expect(stale(report)).toEqual([]);
      const csInput = report.inputs.find((i) => i.type === 'cloudstack-api')!;
      expect(csInput.error).toMatch(/503|unavailable/i);
      expect(report.findings.some((f) => f.kind === 'orchestrator_listing_incomplete' && f.subject.source === 'cloudstack')).toBe(true);
      expect(code).toBe(3);
    } finally {
      await proxy.close();
    }
  });

  it('calls nothing stale when the CloudStack network listing is only partial', async () => {
    // the first listNetworks call (listall=true) succeeds, the next (projectid=-1) fails: partial
    cs.inject({ command: 'listNetworks', status: 530, after: 1, times: Infinity });
    try {
      const { report } = await diagnose(['--bundle', BUNDLE, ...orchestratorArgs()]);
      expect(stale(report)).toEqual([]);
      expect(report.inputs.find((i) => i.type === 'cloudstack-api')!.error).toMatch(/networks: .*530/);
    } finally {
      cs.clearFaults();
    }
  });

  it('calls no switch stale when CloudStack\'s NVP devices cannot be listed', async () => {
    const proxy = await faultyProxy(cs.url, /^listNiciraNvpDevices$/i);
    try {
      const { report } = await diagnose([...orchestratorArgs(proxy.url)]);
      expect(report.findings.filter((f) => f.kind === 'stale_logical_switch')).toEqual([]);
    } finally {
      await proxy.close();
    }
  });

  it('reports a control cluster that is not stable, with the listings still read', async () => {
    nvp.setClusterStatus('degraded');
    try {
      const { code, report } = await diagnose([...orchestratorArgs()]);
      expect(report.findings.find((f) => f.kind === 'nvp_control_cluster_unstable')?.evidence[0]!.excerpt).toMatch(/cluster_status=degraded/);
      expect(code).toBe(2);
    } finally {
      nvp.setClusterStatus('stable');
    }
  });
});

describe('netdiag lab', () => {
  it('starts both simulators, prints their URLs and credentials, and stops on SIGTERM', async () => {
    const { spawn } = await import('node:child_process');
    const child = spawn('node', [NETDIAG, 'lab', '--nvp-port', '0', '--cloudstack-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`netdiag lab did not start: ${out}`)), 20_000);
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('Ctrl-C')) {
            clearTimeout(timer);
            resolve();
          }
        });
        child.on('exit', (c) => reject(new Error(`netdiag lab exited ${c}: ${out}`)));
      });
      const nvpUrl = /NVP controller\s+(\S+)/.exec(out)![1]!;
      expect(/CloudStack API\s+(http:\/\/127\.0\.0\.1:\d+\S*)/.test(out)).toBe(true);
      expect(out).toContain('nvp-lab-password');
      const login = await fetch(`${nvpUrl}/ws.v1/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'username=admin&password=nvp-lab-password' });
      expect(login.status).toBe(200);
      const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
