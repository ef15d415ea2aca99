/**
 * Pure mapping of CloudStack API JSON (live answers and saved responses) to observations.
 * Only the fields netdiag uses are read; anything else is ignored.
 */
import type { CloudStackHost, CloudStackNetwork, CloudStackNvpDevice } from '../../core/kinds.js';

/** A physical network as listPhysicalNetworks returns it (fields netdiag uses). */
export interface CloudStackPhysicalNetwork {
  id: string;
  name?: string;
  isolationmethods?: string;
  state?: string;
  zoneid?: string;
}

/** A zone as listZones returns it. */
export interface CloudStackZone {
  id: string;
  name?: string;
  networktype?: string;
  allocationstate?: string;
}

declare module '../../core/observation.js' {
  interface ObservationMap {
    'cloudstack.physicalnetwork': CloudStackPhysicalNetwork;
    'cloudstack.zone': CloudStackZone;
  }
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : undefined);
const defined = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

export function networkFromApi(raw: unknown): CloudStackNetwork | undefined {
  if (!isObj(raw) || !str(raw.id)) return undefined;
  return defined({
    id: raw.id as string,
    name: str(raw.name),
    state: str(raw.state),
    broadcastdomaintype: str(raw.broadcastdomaintype),
    broadcasturi: str(raw.broadcasturi),
    zoneid: str(raw.zoneid),
    physicalnetworkid: str(raw.physicalnetworkid),
    publicmtu: num(raw.publicmtu),
    privatemtu: num(raw.privatemtu),
    account: str(raw.account),
    domain: str(raw.domain),
    vpcid: str(raw.vpcid),
  });
}

export function hostFromApi(raw: unknown): CloudStackHost | undefined {
  if (!isObj(raw) || !str(raw.id)) return undefined;
  return defined({
    id: raw.id as string,
    name: str(raw.name),
    type: str(raw.type),
    state: str(raw.state),
    resourcestate: str(raw.resourcestate),
    ipaddress: str(raw.ipaddress),
    zoneid: str(raw.zoneid),
    hypervisor: str(raw.hypervisor),
  });
}

export function nvpDeviceFromApi(raw: unknown): CloudStackNvpDevice | undefined {
  if (!isObj(raw) || !str(raw.nvpdeviceid)) return undefined;
  return defined({
    nvpdeviceid: raw.nvpdeviceid as string,
    physicalnetworkid: str(raw.physicalnetworkid),
    provider: str(raw.provider),
    niciradevicename: str(raw.niciradevicename),
    hostname: str(raw.hostname),
    transportzoneuuid: str(raw.transportzoneuuid),
    l3gatewayserviceuuid: str(raw.l3gatewayserviceuuid),
    l2gatewayserviceuuid: str(raw.l2gatewayserviceuuid),
  });
}

export function physicalNetworkFromApi(raw: unknown): CloudStackPhysicalNetwork | undefined {
  if (!isObj(raw) || !str(raw.id)) return undefined;
  return defined({ id: raw.id as string, name: str(raw.name), isolationmethods: str(raw.isolationmethods), state: str(raw.state), zoneid: str(raw.zoneid) });
}

export function zoneFromApi(raw: unknown): CloudStackZone | undefined {
  if (!isObj(raw) || !str(raw.id)) return undefined;
  return defined({ id: raw.id as string, name: str(raw.name), networktype: str(raw.networktype), allocationstate: str(raw.allocationstate) });
}

/** A configuration value; `zoneid` when it was listed for a zone (listConfigurations zoneid=...). */
export function configFromApi(raw: unknown, zoneid?: string): { name: string; value: string; scope?: string; zoneid?: string } | undefined {
  if (!isObj(raw) || !str(raw.name)) return undefined;
  const value = raw.value === undefined || raw.value === null ? '' : String(raw.value);
  return defined({ name: raw.name as string, value, scope: zoneid ? 'zone' : undefined, zoneid });
}

/** The list answers netdiag reads: envelope key → item key, listing name, observation mapping. */
export const LISTINGS = {
  listzonesresponse: { command: 'listZones', itemKey: 'zone', what: 'zones' },
  listphysicalnetworksresponse: { command: 'listPhysicalNetworks', itemKey: 'physicalnetwork', what: 'physicalnetworks' },
  listnetworksresponse: { command: 'listNetworks', itemKey: 'network', what: 'networks' },
  listhostsresponse: { command: 'listHosts', itemKey: 'host', what: 'hosts' },
  listniciranvpdevicesresponse: { command: 'listNiciraNvpDevices', itemKey: 'niciranvpdevice', what: 'nvpdevices' },
  listniciranvpdevicenetworksresponse: { command: 'listNiciraNvpDeviceNetworks', itemKey: 'network', what: 'nvpdevicenetworks' },
  listconfigurationsresponse: { command: 'listConfigurations', itemKey: 'configuration', what: 'configurations' },
} as const;
export type ListingEnvelope = keyof typeof LISTINGS;

/**
 * CloudMonkey (`cmk list networks`) prints the answer without its `<command>response` wrapper:
 * `{"count": 12, "network": [...]}` (cmd/network.go getResponseData). The item key names the listing;
 * `network` is listNetworks unless the command says listNiciraNvpDeviceNetworks.
 */
const UNWRAPPED: Record<string, ListingEnvelope> = {
  zone: 'listzonesresponse',
  physicalnetwork: 'listphysicalnetworksresponse',
  network: 'listnetworksresponse',
  host: 'listhostsresponse',
  niciranvpdevice: 'listniciranvpdevicesresponse',
  configuration: 'listconfigurationsresponse',
};
const UNWRAPPED_START = new RegExp(`^\\{\\s*(?:"count"\\s*:\\s*\\d+\\s*,\\s*)?"(${Object.keys(UNWRAPPED).join('|')})"\\s*:\\s*\\[`);

function unwrappedEnvelope(raw: Record<string, unknown>, command?: string): ListingEnvelope | undefined {
  const keys = Object.keys(raw).filter((k) => k !== 'count');
  if (keys.length !== 1 || !(keys[0]! in UNWRAPPED) || !Array.isArray(raw[keys[0]!])) return undefined;
  if (keys[0] === 'network' && /niciranvpdevicenetworks/i.test(command ?? '')) return 'listniciranvpdevicenetworksresponse';
  return UNWRAPPED[keys[0]!];
}

/** How sure we are that a text is a saved CloudStack API answer (0..1), from its first bytes. */
export function sniffCloudStackResponse(body: string): number {
  const t = body.trimStart();
  if (UNWRAPPED_START.test(t)) return 0.85;
  const m = /^\{\s*"([a-z0-9]+response)"\s*:\s*\{/.exec(t);
  if (!m) return 0;
  return m[1]! in LISTINGS ? 0.95 : 0.6;
}

export type MappedItem =
  | { kind: 'cloudstack.network'; data: CloudStackNetwork }
  | { kind: 'cloudstack.host'; data: CloudStackHost }
  | { kind: 'cloudstack.nvpdevice'; data: CloudStackNvpDevice }
  | { kind: 'cloudstack.physicalnetwork'; data: CloudStackPhysicalNetwork }
  | { kind: 'cloudstack.zone'; data: CloudStackZone }
  | { kind: 'cloudstack.config'; data: { name: string; value: string; scope?: string; zoneid?: string } };

/** Map one raw item of a listing to its observation, or undefined when it lacks its id. */
export function mapItem(envelope: ListingEnvelope, raw: unknown, zoneid?: string): MappedItem | undefined {
  switch (envelope) {
    case 'listnetworksresponse':
    case 'listniciranvpdevicenetworksresponse': {
      const d = networkFromApi(raw);
      return d && { kind: 'cloudstack.network', data: d };
    }
    case 'listhostsresponse': {
      const d = hostFromApi(raw);
      return d && { kind: 'cloudstack.host', data: d };
    }
    case 'listniciranvpdevicesresponse': {
      const d = nvpDeviceFromApi(raw);
      return d && { kind: 'cloudstack.nvpdevice', data: d };
    }
    case 'listphysicalnetworksresponse': {
      const d = physicalNetworkFromApi(raw);
      return d && { kind: 'cloudstack.physicalnetwork', data: d };
    }
    case 'listzonesresponse': {
      const d = zoneFromApi(raw);
      return d && { kind: 'cloudstack.zone', data: d };
    }
    case 'listconfigurationsresponse': {
      const d = configFromApi(raw, zoneid);
      return d && { kind: 'cloudstack.config', data: d };
    }
  }
}

export interface SavedListing {
  envelope: ListingEnvelope;
  what: string;
  items: MappedItem[];
  /** `count` of the answer (0 for CloudStack's empty `{}`), undefined when absent although items are. */
  count?: number;
  /** Items present in the file. */
  present: number;
  skipped: number;
  /** Complete only when `count` equals the items present. */
  complete: boolean;
  problem?: string;
}

/** Parse a saved list answer; throws a message naming what is wrong (not JSON, an error answer, an unknown envelope). */
export function parseSavedCloudStackResponse(text: string, source: string, zoneid?: string, command?: string): SavedListing {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source} is not valid JSON: ${(e as Error).message}`);
  }
  if (!isObj(raw)) throw new Error(`${source}: expected a JSON object like {"listnetworksresponse": {...}}`);
  const keys = Object.keys(raw).filter((k) => k.endsWith('response'));
  const cmk = keys.length === 0 ? unwrappedEnvelope(raw, command) : undefined;
  if (keys.length !== 1 && !cmk) throw new Error(`${source}: expected exactly one "<command>response" key (or CloudMonkey's {"count": N, "network": [...]}), found ${keys.length ? keys.join(', ') : 'none'}`);
  const envelope = cmk ?? keys[0]!;
  const inner = cmk ? raw : raw[envelope];
  if (!isObj(inner)) throw new Error(`${source}: "${envelope}" is not an object`);
  if (inner.errorcode !== undefined) throw new Error(`${source}: a saved error answer (${envelope} errorcode ${String(inner.errorcode)}${inner.cserrorcode !== undefined ? `, cserrorcode ${String(inner.cserrorcode)}` : ''}: ${String(inner.errortext ?? '')})`);
  if (!(envelope in LISTINGS)) throw new Error(`${source}: "${envelope}" is not a listing netdiag reads (${Object.values(LISTINGS).map((l) => l.command).join(', ')})`);
  const spec = LISTINGS[envelope as ListingEnvelope];
  const list = inner[spec.itemKey];
  if (list !== undefined && !Array.isArray(list)) throw new Error(`${source}: "${envelope}.${spec.itemKey}" is not a list`);
  const rawItems = (list as unknown[] | undefined) ?? [];
  const items: MappedItem[] = [];
  let skipped = 0;
  for (const r of rawItems) {
    const m = mapItem(envelope as ListingEnvelope, r, zoneid);
    if (m) items.push(m);
    else skipped++;
  }
  const count = typeof inner.count === 'number' ? inner.count : rawItems.length === 0 && Object.keys(inner).length === 0 ? 0 : undefined;
  let problem: string | undefined;
  if (count === undefined) problem = `no "count": cannot tell whether the ${rawItems.length} ${spec.itemKey} item(s) are all of them`;
  else if (count !== rawItems.length) problem = `count ${count} but ${rawItems.length} ${spec.itemKey} item(s) present: the saved listing is partial (one page of several?)`;
  return { envelope: envelope as ListingEnvelope, what: spec.what, items, count, present: rawItems.length, skipped, complete: problem === undefined, ...(problem ? { problem } : {}) };
}
