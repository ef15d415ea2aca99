/**
 * The cloudstack-api collectors: live against the simulator (every listing reported with its
 * completeness, a failed or changed listing never complete), and the saved-response reader
 * (complete only when `count` equals the items present) on the shipped example bundle.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cloudstackApiResponseCollector, makeCloudStackApiCollector } from '../../../collectors/cloudstack-api/index.js';
import { memoryInput, openInput } from '../../../core/input.js';
import type { ListingStatus } from '../../../core/kinds.js';
import type { AnyObservation } from '../../../core/observation.js';
import { nullLogger, nullMetrics } from '../../../core/plugin.js';
import { recognise } from '../../../engine/pipeline.js';
import { startCloudStackSimulator, type CloudStackSimulator } from '../../../lab/cloudstack/server.js';
import { configurations, hosts, networks, NVP_DEVICE_ID, ZONE_ID } from '../../../lab/inventory.js';

const EXAMPLES = join(__dirname, '..', '..', '..', 'examples', 'bundle', 'mgmt-01');
let sim: CloudStackSimulator;
beforeAll(async () => {
  sim = await startCloudStackSimulator();
});
afterAll(() => sim.close());
beforeEach(() => sim.clearFaults());

function ctx() {
  const obs: AnyObservation[] = [];
  return { obs, c: { emit: (o: AnyObservation) => obs.push(o), metrics: nullMetrics, log: nullLogger, now: () => Date.parse('2026-11-22T21:00:00Z') } };
}
const listings = (obs: AnyObservation[]) => Object.fromEntries(obs.filter((o) => o.kind === 'orchestrator.listing').map((o) => [(o.data as ListingStatus).what, o.data as ListingStatus]));
const collector = makeCloudStackApiCollector({ client: { pageSize: 2, backoffMs: 5, readRetries: 1, rateLimitPerSecond: 0 } });
const opts = () => ({ cloudstackUrl: sim.url, apiKey: sim.apiKey, secretKey: sim.secretKey });

describe('cloudstack-api online collector', () => {
  it('lists everything, paged, and reports every listing complete', async () => {
    const { obs, c } = ctx();
    const stats = await collector.collect(opts(), c);
    expect(stats.source).toBe(sim.url);
    const l = listings(obs);
    expect(Object.keys(l).sort()).toEqual(['configurations', 'hosts', 'networks', 'nvpdevicenetworks', 'nvpdevices', 'physicalnetworks', 'zones']);
    expect(Object.values(l).every((x) => x.complete && x.source === 'cloudstack' && x.error === undefined)).toBe(true);
    expect(l.networks!.count).toBe(networks.length);
    const nets = obs.filter((o) => o.kind === 'cloudstack.network').map((o) => o.data as { id: string; broadcasturi?: string });
    expect(nets.map((n) => n.id)).toEqual(networks.map((n) => n.id)); // no duplicates from the extra listings
    expect(nets.find((n) => n.id === networks[0]!.id)!.broadcasturi).toBe(networks[0]!.broadcasturi);
    expect(obs.filter((o) => o.kind === 'cloudstack.host').map((o) => (o.data as { name: string }).name)).toEqual(hosts.map((h) => h.name));
    expect(obs.filter((o) => o.kind === 'cloudstack.nvpdevice').map((o) => (o.data as { nvpdeviceid: string }).nvpdeviceid)).toEqual([NVP_DEVICE_ID]);
    const conf = obs.filter((o) => o.kind === 'cloudstack.config').map((o) => o.data as { name: string; zoneid?: string });
    expect(conf.filter((x) => !x.zoneid).map((x) => x.name)).toEqual(configurations.map((x) => x.name));
    expect(conf.filter((x) => x.zoneid === ZONE_ID).map((x) => x.name).sort()).toEqual(['vr.private.interface.max.mtu', 'vr.public.interface.max.mtu']);
    // listNetworks was paged (2 per page) with listall=true
    expect(sim.requests.filter((r) => r.command === 'listNetworks' && r.params.listall === 'true' && r.params.page === '3').length).toBeGreaterThan(0);
  });

  it('reads project networks too (projectid=-1), once each', async () => {
    const project = { ...sim.inventory.networks[0]!, id: 'b6a1c2d3-0003-4e5f-8a9b-000000000301', name: 'project-net', projectid: 'p0000000-0000-4000-8000-000000000001', broadcasturi: 'vswitch://2050' };
    sim.inventory.networks.push(project);
    try {
      const { obs, c } = ctx();
      await collector.collect(opts(), c);
      const ids = obs.filter((o) => o.kind === 'cloudstack.network').map((o) => (o.data as { id: string }).id);
      expect(ids.filter((i) => i === project.id)).toHaveLength(1);
      expect(ids).toHaveLength(networks.length + 1);
      expect(listings(obs).networks).toMatchObject({ complete: true, count: networks.length + 1 });
    } finally {
      sim.inventory.networks.pop();
    }
  });

  it('a listing that breaks mid-paging is incomplete, keeps the rest, and fails the input', async () => {
    sim.inject({ command: 'listNetworks', status: 503, after: 1, times: Infinity });
    const { obs, c } = ctx();
    const err = await collector.collect(opts(), c).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/networks: .*503/);
    const l = listings(obs);
    expect(l.networks).toMatchObject({ complete: false, error: expect.stringMatching(/503/) });
    expect(l.hosts!.complete).toBe(true);
    expect((err as Error).message + JSON.stringify(obs)).not.toContain(sim.secretKey);
  });

  it('a listing whose count changes while paging is incomplete', async () => {
    const saved = [...sim.inventory.hosts];
    sim.inject({ command: 'listHosts', after: 1, mutate: (inv) => void inv.hosts.pop() });
    try {
      const { obs, c } = ctx();
      await expect(collector.collect(opts(), c)).rejects.toThrow(/hosts: .*count changed/);
      expect(listings(obs).hosts).toMatchObject({ complete: false });
    } finally {
      sim.inventory.hosts.splice(0, sim.inventory.hosts.length, ...saved);
    }
  });

  it('NVP devices are incomplete when the physical networks cannot be listed', async () => {
    sim.inject({ command: 'listPhysicalNetworks', status: 530, times: Infinity });
    const { obs, c } = ctx();
    await expect(collector.collect(opts(), c)).rejects.toThrow(/physicalnetworks/);
    expect(listings(obs).nvpdevices).toMatchObject({ complete: false, count: 0 });
  });

  it('a server without the NiciraNvp plugin (432) has no NVP devices, completely', async () => {
    sim.inject({ command: 'listNiciraNvpDevices', status: 432, times: Infinity });
    const { obs, c } = ctx();
    const stats = await collector.collect(opts(), c);
    expect(listings(obs).nvpdevices).toMatchObject({ complete: true, count: 0 });
    expect(stats.warnings!.join()).toMatch(/432/);
  });

  it('wrong credentials fail every listing with a 401 that names no secret', async () => {
    const { obs, c } = ctx();
    const err = (await collector.collect({ ...opts(), secretKey: 'not-the-secret-key' }, c).catch((e: Error) => e)) as Error;
    expect(err.message).toMatch(/401|unable to verify/);
    expect(err.message).not.toContain('not-the-secret-key');
    expect(Object.values(listings(obs)).every((l) => !l.complete)).toBe(true);
  });
});

describe('cloudstack-api-response (saved answers)', () => {
  it('recognises and reads the example bundle\'s saved listings as complete', async () => {
    for (const [file, kind, what, n] of [
      ['cloudstack-listNetworks.json', 'cloudstack.network', 'networks', networks.length],
      ['cloudstack-listHosts.json', 'cloudstack.host', 'hosts', hosts.length],
      ['cloudstack-listNiciraNvpDevices.json', 'cloudstack.nvpdevice', 'nvpdevices', 1],
      ['cloudstack-listConfigurations.json', 'cloudstack.config', 'configurations', configurations.length],
    ] as const) {
      const input = await openInput(join(EXAMPLES, file), 'mgmt-01');
      expect(recognise(input)?.type).toBe('cloudstack-api-response');
      const { obs, c } = ctx();
      const stats = await cloudstackApiResponseCollector.read(input, c);
      expect(stats.records).toBe(n);
      expect(obs.filter((o) => o.kind === kind)).toHaveLength(n);
      expect(listings(obs)[what]).toEqual({ source: 'cloudstack', what, complete: true, count: n });
      expect(obs[0]!.at).toBe(Date.parse('2026-11-22T21:00:05Z'));
    }
  });

  it('a saved page of several (count > items) is incomplete', async () => {
    const body = JSON.stringify({ listnetworksresponse: { count: 7, network: [{ id: 'n1', broadcasturi: 'vswitch://2046' }] } });
    const { obs, c } = ctx();
    const stats = await cloudstackApiResponseCollector.read(memoryInput('page1.json', body), c);
    expect(listings(obs).networks).toMatchObject({ complete: false, count: 1, error: expect.stringMatching(/count 7 but 1/) });
    expect(stats.warnings!.join()).toMatch(/partial/);
  });

  it('an empty answer {} is a complete empty listing; no count with items is not', async () => {
    let t = ctx();
    await cloudstackApiResponseCollector.read(memoryInput('empty.json', '{"listniciranvpdevicesresponse":{}}'), t.c);
    expect(listings(t.obs).nvpdevices).toEqual({ source: 'cloudstack', what: 'nvpdevices', complete: true, count: 0 });
    t = ctx();
    await cloudstackApiResponseCollector.read(memoryInput('nocount.json', '{"listhostsresponse":{"host":[{"id":"h1"}]}}'), t.c);
    expect(listings(t.obs).hosts).toMatchObject({ complete: false, count: 1 });
  });

  it('a saved error answer, bad JSON or an unknown envelope is a clear input error', async () => {
    const { c } = ctx();
    await expect(cloudstackApiResponseCollector.read(memoryInput('err.json', '{"listnetworksresponse":{"uuidList":[],"errorcode":401,"errortext":"unable to verify user credentials and/or request signature"}}'), c)).rejects.toThrow(/err\.json: a saved error answer \(listnetworksresponse errorcode 401/);
    await expect(cloudstackApiResponseCollector.read(memoryInput('bad.json', '{"listnetworksresponse": {'), c)).rejects.toThrow(/bad\.json is not valid JSON/);
    await expect(cloudstackApiResponseCollector.read(memoryInput('vm.json', '{"listvirtualmachinesresponse":{"count":0}}'), c)).rejects.toThrow(/not a listing netdiag reads/);
    expect(cloudstackApiResponseCollector.sniff(memoryInput('x.json', '{"results": [], "result_count": 0}'))).toBe(0);
  });

  it('CloudMonkey output (cmk list networks: no <command>response wrapper) reads the same as the raw answer', async () => {
    for (const file of ['cloudstack-listNetworks.json', 'cloudstack-listHosts.json', 'cloudstack-listNiciraNvpDevices.json', 'cloudstack-listConfigurations.json']) {
      const raw = await openInput(join(EXAMPLES, file), 'mgmt-01');
      const text = (await readFile(join(EXAMPLES, file), 'utf8')).replace(/^#.*\n/gm, '');
      const inner = Object.values(JSON.parse(text) as Record<string, Record<string, unknown>>)[0]!;
      // cmk prints Go's map order (sorted keys), indented.
      const cmk = JSON.stringify(Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : 1))), null, 2);
      const input = memoryInput(file, cmk, { mtime: raw.collectedAt() });
      expect(recognise(input)?.type, file).toBe('cloudstack-api-response');
      const a = ctx();
      const b = ctx();
      await cloudstackApiResponseCollector.read(raw, a.c);
      await cloudstackApiResponseCollector.read(input, b.c);
      expect(b.obs.map((o) => ({ ...o, source: '' }))).toEqual(a.obs.map((o) => ({ ...o, source: '' })));
    }
    // `network` items of listNiciraNvpDeviceNetworks are told apart by the command.
    const t = ctx();
    await cloudstackApiResponseCollector.read(memoryInput('x.json', '# command: cmk list niciranvpdevicenetworks nvpdeviceid=1\n{"count": 0, "network": []}'), t.c);
    expect(Object.keys(listings(t.obs))).toEqual(['nvpdevicenetworks']);
  });
});

