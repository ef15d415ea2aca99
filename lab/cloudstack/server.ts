/**
 * A CloudStack management-server API simulator: a real HTTP server of `/client/api`, seeded from
 * lab/inventory.ts, faithful where netdiag depends on it (reference/cloudstack.md §3–4):
 *
 * - Signature and expiry verified as `ApiServer.verifyRequest` does, with its own
 *   canonicalisation (a byte-wise Java `URLEncoder`, independent of orchestrator/cloudstack/sign.ts);
 *   a wrong signature, unknown api key or expired request is a 401 with CloudStack's body.
 * - Envelopes `{"<command>response": {"count": N, "<item>": [...]}}`, an empty list as `{}`,
 *   paging with `page`/`pagesize` (at most `default.page.size`, 500).
 * - Async jobs (`restartNetwork`, `updateNetwork` with MTUs, `prepareHostForMaintenance`,
 *   `cancelHostMaintenance`) pending for `jobDurationMs`, then succeeded or failed, through
 *   `queryAsyncJobResult`.
 * - 431 (cserrorcode 4350 for invalid values, 9999 for missing ones) for bad parameters, 432 for
 *   unknown commands.
 * - Faults for tests: any status (5xx, 429...), dropped connections, slow answers, failing jobs,
 *   a page that fails mid-listing, the inventory changing between pages.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import * as seed from '../inventory.js';

type Json = Record<string, unknown>;

export interface CloudStackInventory {
  zones: Json[];
  physicalNetworks: Json[];
  networks: Json[];
  hosts: Json[];
  nvpDevices: Json[];
  configurations: Json[];
  networkServiceProviders: Json[];
}

export interface CloudStackSimFault {
  /** Only commands matching (case-insensitive name or RegExp); every command when absent. */
  command?: string | RegExp;
  /** HTTP status (and errorcode) to answer; 0 drops the connection; absent = answer normally (after delay/mutate). */
  status?: number;
  /** How many matching requests get the fault (default 1; Infinity for always). */
  times?: number;
  /** Let this many matching requests through first (e.g. fail the second page). */
  after?: number;
  /** Delay before answering (a slow server). */
  delayMs?: number;
  /** Raw body instead of CloudStack's error envelope (e.g. a proxy's HTML page). */
  body?: string;
  contentType?: string;
  /** Change the inventory before answering (objects added/removed while a client pages). */
  mutate?: (inv: CloudStackInventory) => void;
}

export interface CloudStackSimJobFailure {
  command?: string | RegExp;
  errorcode?: number;
  cserrorcode?: number;
  errortext?: string;
  times?: number;
}

export interface CloudStackSimOptions {
  host?: string;
  port?: number;
  /** Serve HTTPS with this key/cert (PEM); plain HTTP otherwise (fine on loopback). */
  tls?: { key: string | Buffer; cert: string | Buffer };
  apiKey?: string;
  secretKey?: string;
  /** Replace parts of the seeded inventory. */
  inventory?: Partial<CloudStackInventory>;
  /** default.page.size (500). */
  defaultPageSize?: number;
  /** How long a job stays pending (default 300 ms). */
  jobDurationMs?: number;
  faults?: CloudStackSimFault[];
  /** Clock (tests of expiry). */
  now?: () => number;
}

export interface CloudStackSimRequest {
  command: string;
  /** Parameters without apikey/signature. */
  params: Record<string, string>;
  status: number;
}

export interface CloudStackSimulator {
  /** The API endpoint, `http://host:port/client/api`. */
  url: string;
  apiKey: string;
  secretKey: string;
  close(): Promise<void>;
  /** Every request seen, in order (no secrets). */
  requests: CloudStackSimRequest[];
  /** The live inventory (tests may change it). */
  inventory: CloudStackInventory;
  inject(f: CloudStackSimFault): void;
  clearFaults(): void;
  /** Make the next matching async job(s) fail (jobstatus 2). */
  failJobs(f: CloudStackSimJobFailure): void;
  /** Jobs by id (status 0/1/2). */
  jobs: Map<string, { jobid: string; command: string; jobstatus: number }>;
}

// ---- independent verification (ApiServer.verifyRequest) ----------------------------------

const JAVA_SAFE = new Set('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-*_');
/** java.net.URLEncoder.encode(s, "UTF-8"), byte by byte. */
function urlEncoderEncode(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const ch = String.fromCharCode(b);
    if (b < 0x80 && JAVA_SAFE.has(ch)) out += ch;
    else if (ch === ' ') out += '+';
    else out += '%' + (b < 16 ? '0' : '') + b.toString(16).toUpperCase();
  }
  return out;
}

/** The server's unsigned request: names sorted as received, values encoded, `+`→`%20`, lowercased. */
export function serverCanonicalString(params: Map<string, string>): string {
  const names = [...params.keys()].filter((n) => n.toLowerCase() !== 'signature');
  names.sort((a, b) => {
    // java.lang.String.compareTo: by UTF-16 code unit, then by length
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) if (a.charCodeAt(i) !== b.charCodeAt(i)) return a.charCodeAt(i) - b.charCodeAt(i);
    return a.length - b.length;
  });
  return names.map((n) => `${n}=${urlEncoderEncode(params.get(n)!).split('+').join('%20')}`).join('&').toLowerCase();
}

/** Parse `expires` as the server does (yyyy-MM-dd'T'HH:mm:ssZ, also an ISO `Z`). */
function parseExpires(v: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})$/.exec(v);
  if (!m) return undefined;
  const tz = m[7] === 'Z' ? 'Z' : `${m[7]!.slice(0, 3)}:${m[7]!.slice(-2)}`;
  const t = Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${tz}`);
  return Number.isNaN(t) ? undefined : t;
}

// ---- rendering ----------------------------------------------------------------------------

const ITEM_KEY: Record<string, string> = {
  listzones: 'zone',
  listphysicalnetworks: 'physicalnetwork',
  listnetworks: 'network',
  listhosts: 'host',
  listniciranvpdevices: 'niciranvpdevice',
  listniciranvpdevicenetworks: 'network',
  listconfigurations: 'configuration',
  listnetworkserviceproviders: 'networkserviceprovider',
};

const JOB_CMD: Record<string, { cls: string; type: 'Network' | 'Host' }> = {
  restartnetwork: { cls: 'org.apache.cloudstack.api.command.user.network.RestartNetworkCmd', type: 'Network' },
  updatenetwork: { cls: 'org.apache.cloudstack.api.command.user.network.UpdateNetworkCmd', type: 'Network' },
  preparehostformaintenance: { cls: 'org.apache.cloudstack.api.command.admin.host.PrepareForMaintenanceCmd', type: 'Host' },
  cancelhostmaintenance: { cls: 'org.apache.cloudstack.api.command.admin.host.CancelMaintenanceCmd', type: 'Host' },
};

/** The commands this simulator knows, by lowercased name → the name as CloudStack spells it. */
const COMMANDS = new Map(
  ['listZones', 'listPhysicalNetworks', 'listNetworks', 'listHosts', 'listNiciraNvpDevices', 'listNiciraNvpDeviceNetworks', 'listConfigurations', 'listNetworkServiceProviders', 'restartNetwork', 'updateNetwork', 'prepareHostForMaintenance', 'cancelHostMaintenance', 'queryAsyncJobResult'].map((c) => [c.toLowerCase(), c]),
);

class ApiError extends Error {
  constructor(
    readonly errorcode: number,
    readonly cserrorcode: number | undefined,
    message: string,
  ) {
    super(message);
  }
}
const invalid = (msg: string) => new ApiError(431, 4350, msg);
const badValue = (cmd: string, p: string, v: string, type: 'long' | 'integer') =>
  new ApiError(431, 9999, `Unable to execute API command ${cmd.toLowerCase()} due to invalid value. Invalid parameter ${p} value=${v} due to incorrect ${type} value format, or entity does not exist or due to incorrect parameter annotation for the field in api cmd class.`);
const missing = (cmd: string, p: string) => new ApiError(431, 9999, `Unable to execute API command ${cmd.toLowerCase()} due to missing parameter ${p}`);

const isoNoMs = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}+0000`;
const clean = (o: Json): Json => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null));

function seedInventory(): CloudStackInventory {
  const zoneName = new Map(seed.zones.map((z) => [z.id, z.name]));
  const physName = new Map(seed.physicalNetworks.map((p) => [p.id, p.name]));
  return {
    zones: seed.zones.map((z) => ({ ...z, securitygroupsenabled: false, dhcpprovider: 'VirtualRouter', localstorageenabled: false })),
    physicalNetworks: seed.physicalNetworks.map((p) => ({ ...p, zonename: zoneName.get(p.zoneid), networkspeed: '10G' })),
    networks: seed.networks.map((n) => ({
      ...n,
      zonename: zoneName.get(n.zoneid),
      physicalnetworkname: physName.get(n.physicalnetworkid),
      networkofferingname: n.broadcastdomaintype === 'Lswitch' ? 'NiciraNvpIsolatedNetworkOffering' : 'OvsIsolatedNetworkOffering',
      restartrequired: false,
      redundantrouter: false,
      acltype: 'Account',
      ispersistent: false,
    })),
    hosts: seed.hosts.map(({ dbId: _db, ...h }) => ({
      ...h,
      zonename: zoneName.get(h.zoneid),
      ...(h.type === 'Routing' ? { clusterid: 'c1a55e00-0000-4000-8000-000000000001', clustername: 'cluster-1', version: '4.19.1.0', managementserverid: '11:22:33:44:55:66', lastpinged: '1970-01-20T10:00:00+0000' } : {}),
    })),
    nvpDevices: seed.nvpDevices.map((d) => ({ ...d })),
    configurations: seed.configurations.map((c) => ({ ...c })),
    networkServiceProviders: [
      { id: 'e0e0e0e0-0000-4000-8000-000000000001', name: 'NiciraNvp', physicalnetworkid: seed.PHYSNET_STT_ID, state: 'Enabled', canenableindividualservice: true, servicelist: ['Connectivity', 'StaticNat', 'SourceNat', 'PortForwarding'] },
      { id: 'e0e0e0e0-0000-4000-8000-000000000002', name: 'VirtualRouter', physicalnetworkid: seed.PHYSNET_STT_ID, state: 'Enabled', canenableindividualservice: true, servicelist: ['Dhcp', 'Dns', 'Gateway', 'UserData'] },
      { id: 'e0e0e0e0-0000-4000-8000-000000000003', name: 'Ovs', physicalnetworkid: seed.PHYSNET_GRE_ID, state: 'Enabled', canenableindividualservice: true, servicelist: ['Connectivity'] },
      { id: 'e0e0e0e0-0000-4000-8000-000000000004', name: 'VirtualRouter', physicalnetworkid: seed.PHYSNET_GRE_ID, state: 'Enabled', canenableindividualservice: true, servicelist: ['Dhcp', 'Dns', 'Gateway', 'UserData'] },
    ],
  };
}

const matches = (m: string | RegExp | undefined, command: string) => m === undefined || (typeof m === 'string' ? m.toLowerCase() === command.toLowerCase() : m.test(command));

export async function startCloudStackSimulator(opts: CloudStackSimOptions = {}): Promise<CloudStackSimulator> {
  const apiKey = opts.apiKey ?? seed.cloudstackCredentials.apiKey;
  const secretKey = opts.secretKey ?? seed.cloudstackCredentials.secretKey;
  const now = opts.now ?? Date.now;
  const maxPage = opts.defaultPageSize ?? 500;
  const jobDuration = opts.jobDurationMs ?? 300;
  const inventory: CloudStackInventory = { ...seedInventory(), ...opts.inventory };
  const faults: (CloudStackSimFault & { seen: number; used: number })[] = (opts.faults ?? []).map((f) => ({ ...f, seen: 0, used: 0 }));
  const jobFailures: (CloudStackSimJobFailure & { used: number })[] = [];
  const requests: CloudStackSimRequest[] = [];
  interface Job {
    jobid: string;
    command: string;
    jobstatus: number;
    created: number;
    doneAt: number;
    instanceType: 'Network' | 'Host';
    instanceId: string;
    /** Runs when the job completes: the result object, or throws ApiError to fail. */
    finish: () => Json;
    failure?: CloudStackSimJobFailure;
    result?: Json;
  }
  const jobs = new Map<string, Job>();

  /** An `id`-type parameter naming no object: ParamProcessWorker's PARAM_ERROR (431, ServerApiException 9999). */
  const byId = (list: Json[], id: string, cmd: string, param = 'id') => {
    const o = list.find((x) => x.id === id);
    if (!o) throw badValue(cmd, param, id, 'long');
    return o;
  };

  const list = (cmd: string, p: Map<string, string>, items: Json[]): Json => {
    const pageS = p.get('page');
    const sizeS = p.get('pagesize');
    let page = 1;
    let size = maxPage;
    if (sizeS !== undefined) {
      size = Number(sizeS);
      if (!Number.isInteger(size) || (size < 1 && size !== -1)) throw badValue(cmd, 'pagesize', sizeS, 'integer');
      if (size > maxPage) throw invalid(`Page size can't exceed max allowed page size value: ${maxPage}`);
      if (size === -1) size = maxPage;
    }
    if (pageS !== undefined) {
      page = Number(pageS);
      if (!Number.isInteger(page) || page < 1) throw badValue(cmd, 'page', pageS, 'integer');
      if (sizeS === undefined) throw invalid('pageSize parameter is required when page is specified');
    }
    const keyword = p.get('keyword')?.toLowerCase();
    const all = keyword ? items.filter((i) => String(i.name ?? '').toLowerCase().includes(keyword)) : items;
    const slice = all.slice((page - 1) * size, page * size);
    if (all.length === 0) return {};
    return { count: all.length, [ITEM_KEY[cmd.toLowerCase()]!]: slice.map(clean) };
  };

  const filter = (items: Json[], p: Map<string, string>, fields: string[]) => items.filter((i) => fields.every((f) => !p.has(f) || String(i[f]) === p.get(f) || String(i[f]).toLowerCase() === p.get(f)!.toLowerCase()));

  const startJob = (command: string, instanceType: Job['instanceType'], instanceId: string, finish: () => Json): Json => {
    const jobid = randomUUID();
    const failure = jobFailures.find((f) => matches(f.command, command) && f.used < (f.times ?? 1));
    if (failure) failure.used++;
    jobs.set(jobid, { jobid, command, jobstatus: 0, created: now(), doneAt: now() + jobDuration, instanceType, instanceId, finish, failure });
    return { jobid };
  };

  /** A configuration value, zone-scoped when set for the zone (the lab keeps one value per name). */
  const conf = (name: string): string | undefined => inventory.configurations.find((c) => c.name === name)?.value as string | undefined;

  /**
   * updateNetwork's MTUs as NetworkMtuServiceImpl.validateMtuOnUpdate treats them: ignored unless
   * allow.end.users.to.specify.vr.mtu is true for the zone, clamped to vr.*.interface.max.mtu,
   * raised to the minimum 68; a VPC tier's public MTU is ignored. Never an error.
   */
  const mtu = (p: Map<string, string>, name: string, maxConf: string, n: Json): number | undefined => {
    const v = p.get(name);
    if (v === undefined) return undefined;
    const x = Number(v);
    if (!/^-?\d+$/.test(v) || !Number.isSafeInteger(x)) throw badValue('updateNetwork', name, v, 'integer');
    if (conf('allow.end.users.to.specify.vr.mtu') !== 'true') return undefined;
    if (name === 'publicmtu' && n.vpcid !== undefined) return undefined;
    const max = Number(conf(maxConf) ?? 1500);
    return x > max ? max : x < 68 ? 68 : x;
  };

  const handlers: Record<string, (p: Map<string, string>, cmd: string) => Json> = {
    listzones: (p, c) => list(c, p, filter(inventory.zones, p, ['id', 'name'])),
    listphysicalnetworks: (p, c) => list(c, p, filter(inventory.physicalNetworks, p, ['id', 'zoneid', 'name'])),
    listnetworks: (p, c) => {
      // projectid=-1: only project networks (the lab has none unless a test adds one with a projectid)
      const scope = p.get('projectid') === '-1' ? inventory.networks.filter((n) => n.projectid !== undefined) : inventory.networks.filter((n) => n.projectid === undefined || p.has('projectid'));
      return list(c, p, filter(scope, p, ['id', 'zoneid', 'physicalnetworkid', 'traffictype', 'type', 'vpcid', 'account', ...(p.get('projectid') === '-1' ? [] : ['projectid'])]));
    },
    listhosts: (p, c) => list(c, p, filter(inventory.hosts, p, ['id', 'zoneid', 'type', 'state', 'resourcestate', 'hypervisor', 'name'])),
    listniciranvpdevices: (p, c) => {
      if (!p.has('physicalnetworkid') && !p.has('nvpdeviceid')) throw invalid('Either physical network Id or Nicira device Id must be specified');
      if (p.has('physicalnetworkid')) byId(inventory.physicalNetworks, p.get('physicalnetworkid')!, c, 'physicalnetworkid');
      return list(c, p, filter(inventory.nvpDevices, p, ['physicalnetworkid', 'nvpdeviceid']));
    },
    listniciranvpdevicenetworks: (p, c) => {
      const id = p.get('nvpdeviceid');
      if (!id) throw missing(c, 'nvpdeviceid');
      const dev = inventory.nvpDevices.find((d) => d.nvpdeviceid === id);
      if (!dev) throw invalid(`Could not find a Nicira device with id ${id}`);
      return list(c, p, inventory.networks.filter((n) => n.physicalnetworkid === dev.physicalnetworkid && n.broadcastdomaintype === 'Lswitch'));
    },
    listconfigurations: (p, c) => {
      if (p.has('zoneid')) byId(inventory.zones, p.get('zoneid')!, c, 'zoneid');
      // with a zone id, only the zone-scoped settings (with that zone's value)
      const all = p.has('zoneid') ? inventory.configurations.filter((x) => x.scope === 'zone').map((x) => ({ ...x, id: p.get('zoneid') })) : inventory.configurations;
      return list(c, p, filter(all, p, ['name', 'category']));
    },
    listnetworkserviceproviders: (p, c) => list(c, p, filter(inventory.networkServiceProviders, p, ['physicalnetworkid', 'name', 'state'])),
    restartnetwork: (p, c) => {
      const id = p.get('id');
      if (!id) throw missing(c, 'id');
      const n = byId(inventory.networks, id, c);
      return startJob(c, 'Network', id, () => {
        if (n.state !== 'Implemented' && n.state !== 'Setup') throw new ApiError(530, undefined, `Network is not in the right state to be restarted. Correct states are: Implemented, Setup`);
        n.restartrequired = false;
        return { success: true };
      });
    },
    updatenetwork: (p, c) => {
      const id = p.get('id');
      if (!id) throw missing(c, 'id');
      const n = byId(inventory.networks, id, c);
      const pub = mtu(p, 'publicmtu', 'vr.public.interface.max.mtu', n);
      const priv = mtu(p, 'privatemtu', 'vr.private.interface.max.mtu', n);
      const name = p.get('name');
      const displaytext = p.get('displaytext');
      return startJob(c, 'Network', id, () => {
        if (pub !== undefined) n.publicmtu = pub;
        if (priv !== undefined) n.privatemtu = priv;
        if (name !== undefined) n.name = name;
        if (displaytext !== undefined) n.displaytext = displaytext;
        return { network: clean({ ...n }) };
      });
    },
    preparehostformaintenance: (p, c) => {
      const id = p.get('id');
      if (!id) throw missing(c, 'id');
      const h = byId(inventory.hosts, id, c);
      if (h.resourcestate !== 'Enabled' && h.resourcestate !== 'Disabled') throw invalid(`Cannot perform maintain when resource state is ${String(h.resourcestate)}, hostId = ${id}`);
      return startJob(c, 'Host', id, () => {
        h.resourcestate = 'PrepareForMaintenance';
        // the last VM leaves shortly after: the host reaches Maintenance
        setTimeout(() => (h.resourcestate === 'PrepareForMaintenance' ? (h.resourcestate = 'Maintenance') : undefined), jobDuration).unref();
        return { host: clean({ ...h }) };
      });
    },
    cancelhostmaintenance: (p, c) => {
      const id = p.get('id');
      if (!id) throw missing(c, 'id');
      const h = byId(inventory.hosts, id, c);
      return startJob(c, 'Host', id, () => {
        if (!['Maintenance', 'PrepareForMaintenance', 'ErrorInMaintenance'].includes(String(h.resourcestate))) throw new ApiError(530, undefined, `Cannot transit from resource state ${String(h.resourcestate)} to Enabled for host ${id}: the host is not in maintenance`);
        h.resourcestate = 'Enabled';
        return { host: clean({ ...h }) };
      });
    },
    queryasyncjobresult: (p, c) => {
      const id = p.get('jobid');
      if (!id) throw missing(c, 'jobid');
      const j = jobs.get(id);
      if (!j) throw badValue(c, 'jobid', id, 'long');
      const base = { jobid: j.jobid, accountid: 'a0000000-0000-4000-8000-000000000002', userid: 'a0000000-0000-4000-8000-000000000003', cmd: JOB_CMD[j.command.toLowerCase()]!.cls, jobinstancetype: j.instanceType, jobinstanceid: j.instanceId, created: isoNoMs(j.created) };
      if (j.jobstatus === 0 && now() < j.doneAt) return { ...base, jobstatus: 0, jobprocstatus: 0, jobresultcode: 0 };
      if (j.jobstatus === 0) {
        try {
          if (j.failure) throw new ApiError(j.failure.errorcode ?? 530, j.failure.cserrorcode, j.failure.errortext ?? `Failed to ${j.command.replace(/([A-Z])/g, ' $1').toLowerCase()}`);
          j.result = j.finish();
          j.jobstatus = 1;
        } catch (e) {
          // ApiAsyncJobDispatcher: {errorcode, errortext} (530 unless a ServerApiException said otherwise)
          const ae = e instanceof ApiError ? e : new ApiError(530, undefined, 'Command failed due to Internal Server Error');
          j.result = clean({ errorcode: ae.errorcode, cserrorcode: ae.cserrorcode, errortext: ae.message });
          j.jobstatus = 2;
        }
      }
      return { ...base, jobstatus: j.jobstatus, jobprocstatus: 0, jobresultcode: j.jobstatus === 1 ? 0 : Number(j.result!.errorcode ?? 530), jobresulttype: 'object', jobresult: j.result, completed: isoNoMs(j.doneAt) };
    },
  };

  const verify = (p: Map<string, string>): boolean => {
    const key = p.get('apikey');
    const sig = p.get('signature');
    if (!key || !sig || key !== apiKey) return false;
    if (p.get('signatureversion') === '3') {
      const exp = p.get('expires');
      if (!exp) return false; // "Missing Expires parameter -- ignoring request."
      const t = parseExpires(exp);
      if (t === undefined || t < now()) return false; // bad format / "Request expired"
    }
    // compared as Base64 text, as the server does (decoding would ignore the padding bits)
    const computed = Buffer.from(createHmac('sha1', secretKey).update(serverCanonicalString(p)).digest('base64'));
    const given = Buffer.from(sig);
    return given.length === computed.length && timingSafeEqual(given, computed);
  };

  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://sim');
    let raw = url.search.slice(1);
    if (req.method === 'POST') {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = Buffer.concat(chunks).toString('utf8');
      if (body) raw = raw ? `${raw}&${body}` : body;
    }
    // First value of each name, as the servlet's parameter map gives verifyRequest.
    const p = new Map<string, string>();
    for (const [k, v] of new URLSearchParams(raw)) if (!p.has(k)) p.set(k, v);
    const cmdRaw = p.get('command') ?? '';
    const known = COMMANDS.get(cmdRaw.toLowerCase());
    const envKey = `${cmdRaw.toLowerCase()}response`;
    const logged: Record<string, string> = {};
    for (const [k, v] of p) if (!['apikey', 'signature'].includes(k.toLowerCase())) logged[k] = v;
    const entry: CloudStackSimRequest = { command: cmdRaw, params: logged, status: 0 };
    requests.push(entry);

    const send = (status: number, body: string, type = 'application/json; charset=UTF-8') => {
      entry.status = status;
      res.writeHead(status, { 'Content-Type': type, ...(status === 429 ? { 'Retry-After': '0' } : {}) }).end(body);
    };
    const fail = (errorcode: number, cserrorcode: number | undefined, errortext: string) =>
      send(errorcode, JSON.stringify({ [envKey]: clean({ uuidList: [], errorcode, cserrorcode, errortext }) }));

    if (url.pathname !== '/client/api') {
      send(404, '<html><body><h1>HTTP Status 404 – Not Found</h1></body></html>', 'text/html');
      return;
    }
    // Faults first (a proxy or an overloaded server answers before CloudStack verifies anything).
    for (const f of faults) {
      if (!matches(f.command, cmdRaw)) continue;
      f.seen++;
      if (f.seen <= (f.after ?? 0) || f.used >= (f.times ?? 1)) continue;
      f.used++;
      if (f.delayMs) await new Promise((r) => setTimeout(r, f.delayMs));
      if (f.mutate) f.mutate(inventory);
      if (f.status === undefined) break;
      if (f.status === 0) {
        entry.status = 0;
        req.socket.destroy();
        return;
      }
      if (f.body !== undefined) send(f.status, f.body, f.contentType ?? 'text/html');
      else if (f.status === 429) fail(429, undefined, 'The number of API requests has exceeded the limit of the current account');
      else fail(f.status, f.status >= 530 ? 4250 : 9999, f.status >= 530 ? 'Command failed due to Internal Server Error' : `HTTP ${f.status}`);
      return;
    }
    if (!verify(p)) {
      fail(401, undefined, 'unable to verify user credentials and/or request signature');
      return;
    }
    if (!cmdRaw) {
      fail(431, 9999, 'Unable to execute API command due to missing parameter command');
      return;
    }
    if (!known) {
      fail(432, 9999, `Unknown API command: ${cmdRaw}`); // ApiServer.handleRequest, UNSUPPORTED_ACTION_ERROR
      return;
    }
    try {
      const result = handlers[known.toLowerCase()]!(p, known);
      send(200, JSON.stringify({ [envKey]: result }));
    } catch (e) {
      if (e instanceof ApiError) fail(e.errorcode, e.cserrorcode, e.message);
      else fail(530, 4250, 'Command failed due to Internal Server Error');
    }
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    handler(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  };
  const server: Server = opts.tls ? createHttpsServer({ key: opts.tls.key, cert: opts.tls.cert }, onRequest) : createServer(onRequest);
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `${opts.tls ? 'https' : 'http'}://${urlHost}:${port}/client/api`,
    apiKey,
    secretKey,
    requests,
    inventory,
    jobs: jobs as unknown as CloudStackSimulator['jobs'],
    inject: (f) => faults.push({ ...f, seen: 0, used: 0 }),
    clearFaults: () => void faults.splice(0),
    failJobs: (f) => void jobFailures.push({ ...f, used: 0 }),
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}
