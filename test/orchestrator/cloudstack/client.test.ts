/**
 * CloudStackClient against the real simulator (lab/cloudstack/server.ts) over HTTP and HTTPS:
 * signing with expiry, envelopes, paging, async jobs, every fault (5xx, 429, slow answers,
 * dropped connections, failing jobs, a listing that breaks or changes mid-paging), typed errors,
 * retries only for reads, the rate limit, TLS with a CA file, and no secret in any error.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startCloudStackSimulator, type CloudStackSimulator } from '../../../lab/cloudstack/server.js';
import { hosts, networks, NVP_DEVICE_ID, PHYSNET_STT_ID } from '../../../lab/inventory.js';
import { CloudStackClient, type CloudStackClientOptions } from '../../../orchestrator/cloudstack/client.js';
import {
  API_ERROR_CODES,
  CloudStackApiError,
  CloudStackAuthError,
  CloudStackJobError,
  CloudStackMethodNotAllowedError,
  CloudStackParamError,
  CloudStackRateLimitError,
  CloudStackServerError,
  CloudStackTimeoutError,
  CloudStackTransportError,
  CloudStackUnsupportedError,
  CS_EXCEPTION_CODES,
  cloudStackErrorFor,
} from '../../../orchestrator/cloudstack/errors.js';

let sim: CloudStackSimulator;
beforeAll(async () => {
  sim = await startCloudStackSimulator({ defaultPageSize: 500, jobDurationMs: 150 });
});
afterAll(() => sim.close());
beforeEach(() => {
  sim.clearFaults();
  sim.requests.length = 0;
});

const client = (o: Partial<CloudStackClientOptions> = {}) => new CloudStackClient({ url: sim.url, apiKey: sim.apiKey, secretKey: sim.secretKey, backoffMs: 5, rateLimitPerSecond: 0, ...o });
const count = (cmd: string) => sim.requests.filter((r) => r.command === cmd).length;

async function caught(p: Promise<unknown>): Promise<CloudStackApiError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(CloudStackApiError);
    const err = e as CloudStackApiError;
    for (const s of [sim.apiKey, sim.secretKey]) expect(`${err.message} ${err.remedy} ${String(err.stack)}`).not.toContain(s);
    expect(err.message).not.toMatch(/signature=|apikey=/i);
    return err;
  }
  throw new Error('expected a failure');
}

describe('CloudStackClient', () => {
  it('signs with signatureversion 3 and expires, and unwraps the envelope', async () => {
    const z = await client().request<{ count: number; zone: { name: string }[] }>('listZones');
    expect(z.zone[0]!.name).toBe('zone-1');
    expect(sim.requests[0]!.params).toMatchObject({ command: 'listZones', response: 'json', signatureversion: '3', expires: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000$/) });
  });

  it('signs values Java-encoded: spaces, ! \' ( ) * ~ and non-ASCII verify', async () => {
    const r = await client().request<Record<string, unknown>>('listConfigurations', { keyword: "mtu !'()*~ é" });
    expect(r).toEqual({});
    expect(sim.requests[0]!.status).toBe(200);
  });

  it('a wrong secret is a typed 401 without the secret in the message', async () => {
    const err = await caught(client({ secretKey: 'wrong-secret-value' }).request('listZones'));
    expect(err).toBeInstanceOf(CloudStackAuthError);
    expect(err).toMatchObject({ status: 401, errorcode: 401, apiError: 'UNAUTHORIZED', code: 'E_AUTH', command: 'listZones' });
    expect(err.message).toContain('unable to verify user credentials');
    expect(err.message).not.toContain('wrong-secret-value');
  });

  it('an expired request (clock skew) is refused', async () => {
    const err = await caught(client({ now: () => Date.now() - 3600_000 }).request('listZones'));
    expect(err).toBeInstanceOf(CloudStackAuthError);
  });

  it('pages until count, with every network and its broadcasturi', async () => {
    const l = await client({ pageSize: 2 }).listPaged<{ id: string; broadcasturi?: string }>('listNetworks', 'network', { listall: true });
    expect(l).toMatchObject({ complete: true, count: networks.length, pages: 3 });
    expect(l.items.map((n) => n.id)).toEqual(networks.map((n) => n.id));
    expect(sim.requests.map((r) => r.params.page)).toEqual(['1', '2', '3']);
    expect(await client().list('listNiciraNvpDevices', 'niciranvpdevice', { physicalnetworkid: 'x' }).catch((e) => e)).toBeInstanceOf(CloudStackParamError);
  });

  it('an empty list ({}) is complete with no items', async () => {
    expect(await client().listPaged('listNetworks', 'network', { id: 'nope' })).toEqual({ items: [], count: 0, pages: 1, complete: true });
  });

  it('a listing that breaks mid-paging fails (after retries) instead of returning part', async () => {
    sim.inject({ command: 'listNetworks', status: 503, after: 1, times: Infinity });
    const err = await caught(client({ pageSize: 2, readRetries: 2 }).list('listNetworks', 'network'));
    expect(err).toBeInstanceOf(CloudStackServerError);
    expect(err.status).toBe(503);
    expect(count('listNetworks')).toBe(1 + 3);
  });

  it('a listing whose objects change while paging is reported incomplete', async () => {
    sim.inject({ command: 'listNetworks', after: 1, mutate: (inv) => void inv.networks.shift() });
    const saved = [...sim.inventory.networks];
    try {
      const l = await client({ pageSize: 2 }).listPaged('listNetworks', 'network');
      expect(l.complete).toBe(false);
      expect(l.problem).toMatch(/count changed from 6 to 5/);
      await expect(client({ pageSize: 2 }).list('listNetworks', 'network')).resolves.toHaveLength(5);
    } finally {
      sim.inventory.networks.splice(0, sim.inventory.networks.length, ...saved);
    }
  });

  it('retries reads on 5xx, 429 and dropped connections', async () => {
    sim.inject({ command: 'listHosts', status: 530, times: 1 });
    sim.inject({ command: 'listHosts', status: 429, times: 1 });
    sim.inject({ command: 'listHosts', status: 0, times: 1 });
    sim.inject({ command: 'listHosts', status: 502, times: 1, body: '<html><body>502 Bad Gateway</body></html>' });
    const h = await client({ readRetries: 4 }).list('listHosts', 'host');
    expect(h).toHaveLength(hosts.length);
    expect(count('listHosts')).toBe(5);
  });

  it('gives up on reads after the bounded retries, with the typed error', async () => {
    sim.inject({ command: 'listZones', status: 429, times: Infinity });
    const err = await caught(client({ readRetries: 2 }).request('listZones'));
    expect(err).toBeInstanceOf(CloudStackRateLimitError);
    expect(err.apiError).toBe('API_LIMIT_EXCEED');
    expect(count('listZones')).toBe(3);
  });

  it('never retries a write', async () => {
    sim.inject({ command: 'restartNetwork', status: 503, times: Infinity });
    const err = await caught(client({ readRetries: 5 }).runAsync('restartNetwork', { id: networks[0]!.id }));
    expect(err).toBeInstanceOf(CloudStackServerError);
    expect(count('restartNetwork')).toBe(1);
    sim.clearFaults();
    sim.inject({ command: 'updateNetwork', status: 0, times: Infinity });
    expect(await caught(client().runAsync('updateNetwork', { id: networks[0]!.id, publicmtu: 1450 }))).toBeInstanceOf(CloudStackTransportError);
    expect(count('updateNetwork')).toBe(1);
  });

  it('times out slow answers, and retries them only for reads', async () => {
    sim.inject({ command: 'listZones', delayMs: 400, times: 1 });
    const z = await client({ timeoutMs: 150 }).list('listZones', 'zone');
    expect(z).toHaveLength(1);
    expect(count('listZones')).toBe(2);
    sim.inject({ command: 'listZones', delayMs: 400, times: Infinity });
    const err = await caught(client({ timeoutMs: 100, readRetries: 0 }).request('listZones'));
    expect(err).toBeInstanceOf(CloudStackTimeoutError);
    expect(err.code).toBe('E_TIMEOUT');
  });

  it('runs async jobs through queryAsyncJobResult (pending, then succeeded)', async () => {
    const net = networks.find((n) => n.name === 'gre-app')!;
    type Net = { network: { id: string; publicmtu: number; privatemtu: number } };
    // allow.end.users.to.specify.vr.mtu=false (the lab default): CloudStack ignores the MTUs
    expect((await client().runAsync<Net>('updateNetwork', { id: net.id, publicmtu: 1450, privatemtu: 1400 }, { pollMs: 50 })).network).toMatchObject({ publicmtu: 1500, privatemtu: 1500 });
    const allow = sim.inventory.configurations.find((c) => c.name === 'allow.end.users.to.specify.vr.mtu')!;
    allow.value = 'true';
    try {
      const r = await client().runAsync<Net>('updateNetwork', { id: net.id, publicmtu: 1450, privatemtu: 1400 }, { pollMs: 50 });
      expect(r.network).toMatchObject({ id: net.id, publicmtu: 1450, privatemtu: 1400 });
      // above vr.*.interface.max.mtu: clamped to it, below 68: raised to 68 (validateMtuOnUpdate)
      expect((await client().runAsync<Net>('updateNetwork', { id: net.id, publicmtu: 9000, privatemtu: 20 }, { pollMs: 50 })).network).toMatchObject({ publicmtu: 1500, privatemtu: 68 });
    } finally {
      allow.value = 'false';
    }
    expect(count('queryAsyncJobResult')).toBeGreaterThanOrEqual(2); // at least one pending poll
    expect(await client().runAsync('restartNetwork', { id: net.id, cleanup: false }, { pollMs: 50 })).toEqual({ success: true });
    const host = hosts[0]!;
    expect(await client().runAsync<{ host: { resourcestate: string } }>('prepareHostForMaintenance', { id: host.id }, { pollMs: 50 })).toMatchObject({ host: { resourcestate: 'PrepareForMaintenance' } });
    expect(await client().runAsync<{ host: { resourcestate: string } }>('cancelHostMaintenance', { id: host.id }, { pollMs: 50 })).toMatchObject({ host: { resourcestate: 'Enabled' } });
  });

  it('a failed job is a CloudStackJobError with the job\'s errortext', async () => {
    sim.failJobs({ command: 'restartNetwork', errorcode: 530, errortext: 'Failed to restart network' });
    const err = await caught(client().runAsync('restartNetwork', { id: networks[0]!.id }, { pollMs: 50 }));
    expect(err).toBeInstanceOf(CloudStackJobError);
    expect(err).toMatchObject({ errorcode: 530, errortext: 'Failed to restart network', jobid: expect.any(String) });
    // a job that fails on the object's state (old-project is Allocated)
    const err2 = await caught(client().runAsync('restartNetwork', { id: networks.find((n) => n.name === 'old-project')!.id }, { pollMs: 50 }));
    expect(err2.message).toMatch(/not in the right state/);
  });

  it('a job past its deadline is a timeout naming the job', async () => {
    const slow = await startCloudStackSimulator({ jobDurationMs: 5000 });
    try {
      const c = new CloudStackClient({ url: slow.url, apiKey: slow.apiKey, secretKey: slow.secretKey, rateLimitPerSecond: 0 });
      const err = await caught(c.runAsync('restartNetwork', { id: networks[0]!.id }, { deadlineMs: 300, pollMs: 50 }));
      expect(err).toBeInstanceOf(CloudStackTimeoutError);
      expect((err as CloudStackTimeoutError).jobid).toBeDefined();
    } finally {
      await slow.close();
    }
  });

  it('bad parameters are 431 (4350 for invalid values) and unknown commands 432', async () => {
    const e1 = await caught(client().request('listNetworks', { page: 1, pagesize: 501 }));
    expect(e1).toBeInstanceOf(CloudStackParamError);
    expect(e1).toMatchObject({ errorcode: 431, cserrorcode: 4350, exception: 'InvalidParameterValueException', apiError: 'PARAM_ERROR' });
    const e0 = await caught(client().runAsync('updateNetwork', { id: 'no-such-network', publicmtu: 1450 }));
    expect(e0).toMatchObject({ errorcode: 431, cserrorcode: 9999, errortext: expect.stringContaining('Invalid parameter id value=no-such-network') });
    expect(await caught(client().runAsync('updateNetwork', { id: networks[0]!.id, publicmtu: 'big' }))).toBeInstanceOf(CloudStackParamError);
    const e2 = await caught(client().request('listNiciraNvpDeviceNetworks'));
    expect(e2).toMatchObject({ errorcode: 431, cserrorcode: 9999, exception: 'ServerApiException' });
    expect((await client().list('listNiciraNvpDeviceNetworks', 'network', { nvpdeviceid: NVP_DEVICE_ID })).length).toBe(4);
    const e3 = await caught(client().request('listBananas'));
    expect(e3).toBeInstanceOf(CloudStackUnsupportedError);
    expect(e3.apiError).toBe('UNSUPPORTED_ACTION_ERROR');
    expect(await client().list('listNiciraNvpDevices', 'niciranvpdevice', { physicalnetworkid: PHYSNET_STT_ID })).toHaveLength(1);
  });

  it('maps every errorcode and cserrorcode of §3.3 to a typed error', () => {
    const classOf: Record<number, unknown> = { 401: CloudStackAuthError, 411: CloudStackAuthError, 405: CloudStackMethodNotAllowedError, 429: CloudStackRateLimitError, 430: CloudStackParamError, 431: CloudStackParamError, 432: CloudStackUnsupportedError };
    for (const code of Object.keys(API_ERROR_CODES).map(Number)) {
      const e = cloudStackErrorFor({ command: 'x', status: code, errorcode: code });
      expect(e).toBeInstanceOf((classOf[code] ?? CloudStackServerError) as typeof CloudStackApiError);
      expect(e.apiError).toBe((API_ERROR_CODES as Record<number, string>)[code]);
    }
    for (const cs of [4250, 4260, 4285, 4405, 4300, 4425, 4330, 4465, 4350, 4490, 4365, 4505, 4380, 4520, 4480, 9999]) {
      expect(cloudStackErrorFor({ command: 'x', status: 530, errorcode: 530, cserrorcode: cs }).exception).toBe(CS_EXCEPTION_CODES[cs]);
    }
    expect(cloudStackErrorFor({ command: 'x', status: 536, errorcode: 536 }).retryable).toBe(false);
    expect(cloudStackErrorFor({ command: 'x', status: 530, errorcode: 530 }).retryable).toBe(true);
  });

  it('keeps to the client-side rate limit: a burst of one second\'s worth, then rate per second', async () => {
    const c = client({ rateLimitPerSecond: 10 });
    const t0 = Date.now();
    await Promise.all(Array.from({ length: 10 }, () => c.request('listZones')));
    expect(Date.now() - t0).toBeLessThan(500);
    const t1 = Date.now();
    await Promise.all(Array.from({ length: 4 }, () => c.request('listZones')));
    expect(Date.now() - t1).toBeGreaterThanOrEqual(4 * 100 - 30);
  });
});

describe('CloudStackClient over TLS', () => {
  let dir: string;
  let tls: CloudStackSimulator;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'netdiag-cs-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore', timeout: 30_000 });
    tls = await startCloudStackSimulator({ tls: { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) } });
  });
  afterAll(async () => {
    await tls?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const tlsClient = (o: Partial<CloudStackClientOptions>) => new CloudStackClient({ url: tls.url, apiKey: tls.apiKey, secretKey: tls.secretKey, readRetries: 0, rateLimitPerSecond: 0, ...o });

  it('verifies the server with a CA file', async () => {
    expect(await tlsClient({ caFile: join(dir, 'cert.pem') }).list('listZones', 'zone')).toHaveLength(1);
  });
  it('refuses an unknown CA', async () => {
    const err = await tlsClient({}).request('listZones').catch((e) => e);
    expect(err).toBeInstanceOf(CloudStackTransportError);
    expect(err.message).toMatch(/self[- ]signed|certificate/i);
  });
  it('skips verification only when asked, with a warning', async () => {
    const warnings: string[] = [];
    const c = tlsClient({ insecure: true, log: { debug() {}, info() {}, error() {}, warn: (m) => warnings.push(m) } });
    expect(warnings.join()).toMatch(/TLS verification is OFF/);
    expect(await c.list('listZones', 'zone')).toHaveLength(1);
  });
});
