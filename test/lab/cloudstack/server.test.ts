/**
 * The CloudStack simulator verifies requests as the management server does: a request signed by
 * an independent implementation (the documented test vector, computed here by hand with node:crypto,
 * not with orchestrator/cloudstack/sign.ts) verifies; wrong signatures, unknown keys and expired
 * requests get CloudStack's 401 body; envelopes, paging and parameter errors are CloudStack's.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudStackSimulator, type CloudStackSimulator } from '../../../lab/cloudstack/server.js';
import { networks } from '../../../lab/inventory.js';

const APIKEY = 'plgWJfZK4gyS3mOMTVmjUVg-X-jlWlnfaUJ9GAbBbf9EdM-kAYMmAiLqzzq1ElZLYq_u38zCm0bewzGUdP66mg';
const SECRET = 'VDaACYb0LV9eNjTetIOElcVQkvJck_J_QljX_FcHRj87ZKiy0z0ty0ZsYBkoXkY9b7eq1EhwJaw7FF3akA3KBQ';

let sim: CloudStackSimulator;
beforeAll(async () => {
  sim = await startCloudStackSimulator({ apiKey: APIKEY, secretKey: SECRET, defaultPageSize: 4 });
});
afterAll(() => sim.close());

/** A hand-made signer: sorted lowercase names, encodeURIComponent (fine for these values), lowercased, HMAC-SHA1. */
function handSigned(params: [string, string][]): string {
  const sorted = [...params].sort(([a], [b]) => (a < b ? -1 : 1));
  const q = sorted.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
  const sig = createHmac('sha1', SECRET).update(q.toLowerCase()).digest('base64');
  return `${sim.url}?${q}&signature=${encodeURIComponent(sig)}`;
}

async function get(url: string): Promise<{ status: number; body: any }> {
  const r = await fetch(url);
  return { status: r.status, body: JSON.parse(await r.text()) };
}

describe('CloudStack simulator', () => {
  it('accepts the documented test vector (command=listUsers&response=json → TTpdDq/7j/J58XCRHomKoQXEQds=) and answers 432 for the command it lacks', async () => {
    const url = `${sim.url}?command=listUsers&response=json&apikey=${APIKEY}&signature=TTpdDq%2F7j%2FJ58XCRHomKoQXEQds%3D`;
    const r = await get(url);
    // the signature verified: the request reached command dispatch (listUsers is not simulated)
    expect(r.status).toBe(432);
    expect(r.body.listusersresponse).toMatchObject({ errorcode: 432, cserrorcode: 9999 });
  });

  it('answers 401 with CloudStack\'s body to a wrong signature, an unknown key, a missing signature and an expired request', async () => {
    const bad = `${sim.url}?command=listUsers&response=json&apikey=${APIKEY}&signature=TTpdDq%2F7j%2FJ58XCRHomKoQXEQdt%3D`;
    const r = await get(bad);
    expect(r).toEqual({ status: 401, body: { listusersresponse: { uuidList: [], errorcode: 401, errortext: 'unable to verify user credentials and/or request signature' } } });
    expect((await get(handSigned([['command', 'listZones'], ['response', 'json'], ['apikey', 'nope']]))).status).toBe(401);
    expect((await get(`${sim.url}?command=listZones&response=json&apikey=${APIKEY}`)).status).toBe(401);
    const past = handSigned([['command', 'listZones'], ['response', 'json'], ['apikey', APIKEY], ['signatureversion', '3'], ['expires', '2020-01-01T00:00:00+0000']]);
    expect((await get(past)).status).toBe(401);
    // signatureversion 3 without expires is refused too
    expect((await get(handSigned([['command', 'listZones'], ['response', 'json'], ['apikey', APIKEY], ['signatureversion', '3']]))).status).toBe(401);
    const future = handSigned([['command', 'listZones'], ['response', 'json'], ['apikey', APIKEY], ['signatureversion', '3'], ['expires', '2099-01-01T00:00:00+0530']]);
    const ok = await get(future);
    expect(ok.status).toBe(200);
    expect(ok.body.listzonesresponse.count).toBe(1);
  });

  it('pages listNetworks with page/pagesize up to default.page.size, with broadcasturi', async () => {
    const p1 = await get(handSigned([['command', 'listNetworks'], ['response', 'json'], ['apikey', APIKEY], ['listall', 'true'], ['page', '1'], ['pagesize', '4']]));
    const p2 = await get(handSigned([['command', 'listNetworks'], ['response', 'json'], ['apikey', APIKEY], ['listall', 'true'], ['page', '2'], ['pagesize', '4']]));
    expect(p1.body.listnetworksresponse.count).toBe(networks.length);
    const all = [...p1.body.listnetworksresponse.network, ...p2.body.listnetworksresponse.network];
    expect(all.map((n: any) => n.id)).toEqual(networks.map((n) => n.id));
    expect(all.find((n: any) => n.name === 'web-tier').broadcasturi).toMatch(/^lswitch:[0-9a-f-]{36}$/);
    expect(all.find((n: any) => n.name === 'old-project')).not.toHaveProperty('broadcasturi');
    const tooBig = await get(handSigned([['command', 'listNetworks'], ['response', 'json'], ['apikey', APIKEY], ['page', '1'], ['pagesize', '5']]));
    expect(tooBig.status).toBe(431);
    expect(tooBig.body.listnetworksresponse).toMatchObject({ errorcode: 431, cserrorcode: 4350, errortext: "Page size can't exceed max allowed page size value: 4" });
  });

  it('answers an empty list as {} and bad parameters with 431', async () => {
    const none = await get(handSigned([['command', 'listNetworks'], ['response', 'json'], ['apikey', APIKEY], ['id', 'does-not-exist']]));
    expect(none.body).toEqual({ listnetworksresponse: {} });
    const noId = await get(handSigned([['command', 'restartNetwork'], ['response', 'json'], ['apikey', APIKEY]]));
    expect(noId.status).toBe(431);
    expect(noId.body.restartnetworkresponse).toMatchObject({ errorcode: 431, cserrorcode: 9999, errortext: expect.stringContaining('missing parameter id') });
    const nvpNoArg = await get(handSigned([['command', 'listNiciraNvpDevices'], ['response', 'json'], ['apikey', APIKEY]]));
    expect(nvpNoArg.body.listniciranvpdevicesresponse).toMatchObject({ errorcode: 431, cserrorcode: 4350 });
  });

  it('serves listNetworkServiceProviders and listNiciraNvpDeviceNetworks, and takes a POSTed form too', async () => {
    const nsp = await get(handSigned([['command', 'listNetworkServiceProviders'], ['response', 'json'], ['apikey', APIKEY], ['name', 'NiciraNvp']]));
    expect(nsp.body.listnetworkserviceprovidersresponse).toMatchObject({ count: 1, networkserviceprovider: [{ name: 'NiciraNvp', state: 'Enabled' }] });
    const q = new URL(handSigned([['command', 'listNiciraNvpDeviceNetworks'], ['response', 'json'], ['apikey', APIKEY], ['nvpdeviceid', '7f3b2c1a-0000-4a00-8000-00000000d001']])).search.slice(1);
    const r = await fetch(sim.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: q });
    const body = (await r.json()) as { listniciranvpdevicenetworksresponse: { count: number; network: { broadcastdomaintype: string }[] } };
    expect(r.status).toBe(200);
    // every Lswitch network of the device's physical network, in any state (old-project is Allocated)
    expect(body.listniciranvpdevicenetworksresponse.count).toBe(4);
    expect(body.listniciranvpdevicenetworksresponse.network.every((n) => n.broadcastdomaintype === 'Lswitch')).toBe(true);
  });

  it('takes faults at start-up too (a proxy\'s HTML 502 before any verification)', async () => {
    const faulty = await startCloudStackSimulator({ faults: [{ command: 'listZones', status: 502, body: '<html><body>502 Bad Gateway</body></html>' }] });
    try {
      const r = await fetch(`${faulty.url}?command=listZones`);
      expect(r.status).toBe(502);
      expect(await r.text()).toContain('Bad Gateway');
      expect((await fetch(`${faulty.url}?command=listZones`)).status).toBe(401); // once only
    } finally {
      await faulty.close();
    }
  });

  it('records requests without the api key or signature', () => {
    const text = JSON.stringify(sim.requests);
    expect(text).not.toContain(APIKEY);
    expect(text).not.toMatch(/signature=/);
  });
});
