import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startNvpSimulator, type NvpSimulator } from '../../../lab/nvp/server.js';
import { FOREIGN_LSWITCH, LEAKED_LSWITCH_OLD, lswitches, LSWITCH_WEB, nvpCredentials } from '../../../lab/inventory.js';
import { NvpApiError, NvpClient, type NvpClientOptions } from '../../../orchestrator/nvp/client.js';

let sim: NvpSimulator;
const clients: NvpClient[] = [];
const mk = (o: Partial<NvpClientOptions> = {}) => {
  const c = new NvpClient({ url: sim.url, user: sim.user, password: sim.password, backoffMs: 5, timeoutMs: 2000, ...o });
  clients.push(c);
  return c;
};
async function failure(p: Promise<unknown>): Promise<NvpApiError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(NvpApiError);
    const err = e as NvpApiError;
    // the password never reaches a message
    expect(`${err.message} ${err.remedy ?? ''}`).not.toContain(nvpCredentials.password);
    return err;
  }
  throw new Error('expected the call to fail');
}

beforeAll(async () => {
  sim = await startNvpSimulator();
});
afterAll(async () => {
  await sim.close();
});
afterEach(() => {
  sim.clearFaults();
  sim.rejectSessions(false);
  sim.setPassword(nvpCredentials.password);
  sim.setClusterStatus('stable');
});

describe('NvpClient session', () => {
  it('logs in once with the form and reuses the session cookie', async () => {
    const before = sim.logins();
    const c = mk();
    await c.controlClusterStatus();
    await c.listLogicalSwitches();
    expect(sim.logins() - before).toBe(1);
    const mine = sim.requests.filter((r) => r.path !== '/ws.v1/login').slice(-2);
    expect(mine.every((r) => r.hadSession && r.status === 200)).toBe(true);
  });

  it('re-logs in once when the session expired (401) and then succeeds', async () => {
    const c = mk();
    await c.controlClusterStatus();
    const before = sim.logins();
    sim.expireSessions();
    const st = await c.controlClusterStatus();
    expect(st.cluster_status).toBe('stable');
    expect(sim.logins() - before).toBe(1);
    expect(sim.requests.slice(-3).map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      'GET /ws.v1/control-cluster/status 401',
      'POST /ws.v1/login 200',
      'GET /ws.v1/control-cluster/status 200',
    ]);
  });

  it('gives up with an auth error on a 401 right after a re-login (401 loop)', async () => {
    const c = mk();
    await c.controlClusterStatus();
    sim.rejectSessions(true);
    const before = sim.logins();
    const err = await failure(c.controlClusterStatus());
    expect(err.kind).toBe('auth');
    expect(err.code).toBe('E_AUTH');
    expect(err.status).toBe(401);
    expect(err.message).toMatch(/two consecutive failed attempts/);
    expect(sim.logins() - before).toBe(1);
  });

  it('reports a refused login (wrong password) as an auth error without the password', async () => {
    sim.setPassword('rotated-elsewhere');
    const err = await failure(mk({ password: nvpCredentials.password }).listLogicalSwitches());
    expect(err.kind).toBe('auth');
    expect(err.message).toMatch(/login as "admin".*refused \(HTTP 401\)/);
  });

  it('refuses credentials in the URL and a missing password', () => {
    expect(() => new NvpClient({ url: 'https://u:p@nvp.example', user: 'a', password: 'b' })).toThrow(/must not carry credentials/);
    expect(() => new NvpClient({ url: sim.url, user: 'a', password: '' })).toThrow(/user and password are both required/);
  });
});

describe('NvpClient lists', () => {
  it('pages through _page_cursor until the controller has no more', async () => {
    const c = mk({ pageLength: 2 });
    const list = await c.listLogicalSwitches();
    expect(list.pages).toBe(3);
    expect(list.items.map((s) => s.uuid).sort()).toEqual(lswitches.map((s) => s.uuid).sort());
    expect(list.resultCount).toBe(lswitches.length);
    expect(list.consistent).toBe(true);
    const pages = sim.requests.filter((r) => r.path === '/ws.v1/lswitch').slice(-3);
    expect(pages[0]!.query._page_cursor).toBeUndefined();
    expect(pages[1]!.query._page_cursor).toMatch(/^[0-9a-f]+$/);
    expect(pages.every((p) => p.query.fields === '*' && p.query._page_length === '2')).toBe(true);
  });

  it('filters by CloudStack tag scope', async () => {
    const list = await mk().listLogicalSwitches({ tagScope: 'cs_account' });
    expect(list.items.map((s) => s.uuid)).not.toContain(FOREIGN_LSWITCH);
    expect(list.items).toHaveLength(lswitches.length - 1);
    const web = list.items.find((s) => s.uuid === LSWITCH_WEB)!;
    expect(web.tags).toEqual([{ scope: 'cs_account', tag: 'ROOT-admin' }]);
    expect(web.transport_zones?.[0]?.transport_type).toBe('stt');
  });

  it('lists ports with their VIF attachments', async () => {
    const ports = await mk().listLogicalSwitchPorts(LEAKED_LSWITCH_OLD);
    expect(ports.items).toHaveLength(1);
    expect(ports.items[0]!._relations?.LogicalPortAttachment).toMatchObject({ type: 'VifAttachment', vif_uuid: 'd1c10003-0000-4000-8000-0000000000c1' });
    expect(sim.requests.at(-1)!.query.relations).toBe('LogicalPortAttachment');
  });

  it('retries a read on 503 and succeeds', async () => {
    sim.inject({ match: 'GET /ws.v1/lswitch', status: 503, times: 2 });
    const list = await mk().listLogicalSwitches();
    expect(list.items).toHaveLength(lswitches.length);
    expect(sim.requests.slice(-3).map((r) => r.status)).toEqual([503, 503, 200]);
  });

  it('retries a page whose connection dropped mid-paging', async () => {
    sim.inject({ match: 'GET /ws.v1/lswitch', status: 0, after: 1 });
    const list = await mk({ pageLength: 2 }).listLogicalSwitches();
    expect(list.items).toHaveLength(lswitches.length);
  });

  it('gives up on a persistent 503 with an unavailable error', async () => {
    sim.inject({ match: 'GET /ws.v1/control-cluster', status: 503, times: Infinity });
    const err = await failure(mk({ readRetries: 2 }).controlClusterStatus());
    expect(err.kind).toBe('unavailable');
    expect(err.status).toBe(503);
    expect(sim.requests.filter((r) => r.path === '/ws.v1/control-cluster/status').slice(-3).map((r) => r.status)).toEqual([503, 503, 503]);
  });

  it('maps a text/html 404 to not_found with the page text', async () => {
    const err = await failure(mk().listLogicalSwitchPorts('00000000-0000-4000-8000-000000000000'));
    expect(err.kind).toBe('not_found');
    expect(err.message).toMatch(/HTTP 404 — 404 Not Found Not Found/);
    expect(err.message).not.toContain('<');
  });

  it('reads control-cluster status, stable and degraded', async () => {
    const c = mk();
    expect((await c.controlClusterStatus()).cluster_status).toBe('stable');
    sim.setClusterStatus('degraded');
    const st = await c.controlClusterStatus();
    expect(st.cluster_status).toBe('degraded');
    expect(st.configured_roles?.find((r) => r.role === 'api_provider')?.majority_version).toBe('3.2.1');
  });

  it('times out a slow controller', async () => {
    sim.inject({ match: 'control-cluster', status: 200, delayMs: 400, body: '{}' });
    const err = await failure(mk({ timeoutMs: 100, readRetries: 0 }).controlClusterStatus());
    expect(err.kind).toBe('timeout');
    expect(err.code).toBe('E_TIMEOUT');
  });

  it('reports a controller that is not there as a transport error', async () => {
    const dead = await startNvpSimulator();
    const url = dead.url;
    await dead.close();
    const err = await failure(new NvpClient({ url, user: 'admin', password: nvpCredentials.password, readRetries: 0 }).listLogicalSwitches());
    expect(err.kind).toBe('transport');
    expect(err.message).toMatch(/ECONNREFUSED/);
  });
});

describe('NvpClient writes', () => {
  it('deletes a switch (204), then 404 on a second delete; never retries a write', async () => {
    const local = await startNvpSimulator();
    try {
      const c = new NvpClient({ url: local.url, user: local.user, password: local.password, backoffMs: 5 });
      await c.deleteLogicalSwitch(LEAKED_LSWITCH_OLD);
      expect(local.lswitchUuids()).not.toContain(LEAKED_LSWITCH_OLD);
      expect((await failure(c.deleteLogicalSwitch(LEAKED_LSWITCH_OLD))).kind).toBe('not_found');

      local.inject({ match: 'DELETE', status: 409 });
      const conflict = await failure(c.deleteLogicalSwitch(LSWITCH_WEB));
      expect(conflict.kind).toBe('conflict');
      expect(conflict.status).toBe(409);
      local.inject({ match: 'DELETE', status: 503 });
      expect((await failure(c.deleteLogicalSwitch(LSWITCH_WEB))).kind).toBe('unavailable');
      expect(local.requests.filter((r) => r.method === 'DELETE').map((r) => r.status)).toEqual([204, 404, 409, 503]);
      expect(local.lswitchUuids()).toContain(LSWITCH_WEB);
    } finally {
      await local.close();
    }
  });
});

describe('NvpClient over TLS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nd-nvp-tls-'));
  let tls: NvpSimulator;
  beforeAll(async () => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore', timeout: 30_000 });
    tls = await startNvpSimulator({ tls: { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) } });
  });
  afterAll(async () => {
    await tls.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('verifies the controller with a CA file', async () => {
    const c = new NvpClient({ url: tls.url, user: tls.user, password: tls.password, caFile: join(dir, 'cert.pem') });
    expect(tls.url).toMatch(/^https:/);
    expect((await c.controlClusterStatus()).cluster_status).toBe('stable');
  });

  it('refuses an unknown certificate, and accepts it only with insecure (with a warning)', async () => {
    const err = await failure(new NvpClient({ url: tls.url, user: tls.user, password: tls.password, readRetries: 0 }).controlClusterStatus());
    expect(err.kind).toBe('transport');
    expect(err.message).toMatch(/self.signed|certificate/i);
    const warnings: string[] = [];
    const c = new NvpClient({ url: tls.url, user: tls.user, password: tls.password, insecure: true, log: { debug() {}, info() {}, warn: (m) => warnings.push(m), error() {} } });
    expect(warnings.join()).toMatch(/TLS verification .* is OFF/);
    expect((await c.controlClusterStatus()).cluster_status).toBe('stable');
  });
});
