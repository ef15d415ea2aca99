/**
 * The OVS collector's private observation kinds and the pure helpers analyzers use to read them:
 * joining OVSDB rows into one inventory per host, the latest flow snapshot per bridge, and per-flow
 * packet rates from two snapshots (counter resets of re-added flows handled by core/counters.ts).
 */
import { counterDelta } from '../../core/counters.js';
import type { OvsBridgeInfo, OvsInterfaceInfo } from '../../core/kinds.js';
import type { Observation, ObservationReader } from '../../core/observation.js';
import type { FlowEntry, OfPort } from './parse.js';

/** One `ovs-ofctl dump-flows` of one bridge: every entry, not one observation per flow. */
export interface OvsFlowSnapshot {
  bridge: string;
  flows: FlowEntry[];
  /** OpenFlow version of the dump when known (`OF1.3`), or the `-O` option used. */
  protocol?: string;
  /** Ports were printed by name (`--names`). */
  names: boolean;
}

/** The port map of one bridge from `ovs-ofctl show`. */
export interface OvsPortMap {
  bridge: string;
  ports: OfPort[];
}

/** A failed poll or an unusable captured output: netdiag's own blind spot, reported. */
export interface OvsPollFailure {
  bridge?: string;
  /** `list-br`, `dump-flows`, `show`, `list Interface`... */
  command: string;
  error: string;
  /** Some output was read (e.g. flows before a decode error): what was read is in other observations. */
  partial?: boolean;
}

/** Uuid references from `ovs-vsctl --format=json list Bridge|Port|Interface`, to join files read apart. */
export interface OvsDbRef {
  table: 'Bridge' | 'Port' | 'Interface';
  uuid: string;
  name: string;
  /** Bridge → port uuids; Port → interface uuids. */
  refs: string[];
}

declare module '../../core/observation.js' {
  interface ObservationMap {
    'ovs.flows': OvsFlowSnapshot;
    'ovs.portmap': OvsPortMap;
    'ovs.poll_failure': OvsPollFailure;
    'ovs.dbref': OvsDbRef;
  }
}

export const hostKey = (host: string | undefined): string => host ?? '';

export interface HostOvs {
  bridges: Map<string, OvsBridgeInfo>;
  interfaces: Map<string, OvsInterfaceInfo>;
}

/**
 * Everything OVSDB told us, per host, merged across sources (`ovs-vsctl show`, the JSON listings,
 * the live poll): later observations fill or override fields, port membership is the union, and
 * an interface's bridge comes from its own record, the Bridge → Port → Interface uuids, or the
 * bridge's port list.
 */
export function ovsInventory(obs: ObservationReader): Map<string, HostOvs> {
  const out = new Map<string, HostOvs>();
  const get = (h: string | undefined) => {
    const k = hostKey(h);
    let v = out.get(k);
    if (!v) out.set(k, (v = { bridges: new Map(), interfaces: new Map() }));
    return v;
  };
  const byTime = <T extends { at?: number }>(xs: readonly T[]) => [...xs].sort((a, b) => (a.at ?? 0) - (b.at ?? 0));
  for (const o of byTime(obs.get('ovs.bridge'))) {
    const h = get(o.host);
    const prev = h.bridges.get(o.data.name);
    h.bridges.set(o.data.name, {
      name: o.data.name,
      otherConfig: { ...(prev?.otherConfig ?? {}), ...o.data.otherConfig },
      externalIds: { ...(prev?.externalIds ?? {}), ...o.data.externalIds },
      datapathType: o.data.datapathType ?? prev?.datapathType,
      ports: [...new Set([...(prev?.ports ?? []), ...o.data.ports])],
    });
  }
  for (const o of byTime(obs.get('ovs.interface'))) {
    const h = get(o.host);
    const prev = h.interfaces.get(o.data.name);
    const merged: OvsInterfaceInfo = { ...(prev ?? {}), ...stripUndefined(o.data) } as OvsInterfaceInfo;
    merged.options = { ...(prev?.options ?? {}), ...o.data.options };
    merged.externalIds = { ...(prev?.externalIds ?? {}), ...o.data.externalIds };
    if (o.data.type === '' && prev?.type) merged.type = prev.type;
    h.interfaces.set(o.data.name, merged);
  }
  // Join the uuid references of JSON listings read as separate files.
  const refsByHost = new Map<string, Observation<'ovs.dbref'>[]>();
  for (const o of obs.get('ovs.dbref')) {
    const k = hostKey(o.host);
    (refsByHost.get(k) ?? refsByHost.set(k, []).get(k)!).push(o);
  }
  for (const [k, refs] of refsByHost) {
    const h = get(k === '' ? undefined : k);
    const ports = new Map<string, OvsDbRef>();
    const ifaces = new Map<string, string>();
    for (const r of refs) {
      if (r.data.table === 'Port') ports.set(r.data.uuid, r.data);
      else if (r.data.table === 'Interface') ifaces.set(r.data.uuid, r.data.name);
    }
    for (const r of refs) {
      if (r.data.table !== 'Bridge') continue;
      const b = h.bridges.get(r.data.name) ?? { name: r.data.name, otherConfig: {}, externalIds: {}, ports: [] };
      h.bridges.set(r.data.name, b);
      for (const pu of r.data.refs) {
        const p = ports.get(pu);
        if (!p) continue;
        if (!b.ports.includes(p.name)) b.ports.push(p.name);
        for (const iu of p.refs) {
          const iname = ifaces.get(iu);
          const i = iname ? h.interfaces.get(iname) : undefined;
          if (i && !i.bridge) i.bridge = r.data.name;
        }
      }
    }
  }
  for (const h of out.values()) {
    for (const b of h.bridges.values()) {
      for (const p of b.ports) {
        const i = h.interfaces.get(p);
        if (i && !i.bridge) i.bridge = b.name;
      }
    }
  }
  return out;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

/** Flow identity across polls: table + priority + match + cookie. */
export const flowKey = (f: FlowEntry): string => `${f.table}|${f.priority}|${f.match}|${f.cookie}`;

export interface FlowView {
  entry: FlowEntry;
  /** Packets since the previous snapshot (re-added flows counted from zero). */
  packetsIncrease?: number;
  packetsPerSecond?: number;
  /** The flow was re-added between the snapshots (duration or counter went down). */
  reset?: boolean;
}

export interface BridgeFlows {
  host?: string;
  bridge: string;
  at?: number;
  source: string;
  protocol?: string;
  flows: FlowView[];
  /** Seconds between the two snapshots a rate came from. */
  intervalSeconds?: number;
  snapshots: number;
}

/** The latest flow snapshot of every host+bridge, with rates against the snapshot before it. */
/** The table OVS keeps its hidden flows in (ofproto's TBL_INTERNAL = N_TABLES - 1). */
export const OVS_INTERNAL_TABLE = 254;

export function latestFlows(obs: ObservationReader): BridgeFlows[] {
  const groups = new Map<string, Observation<'ovs.flows'>[]>();
  for (const o of obs.get('ovs.flows')) {
    const k = `${hostKey(o.host)}\u0000${o.data.bridge}`;
    (groups.get(k) ?? groups.set(k, []).get(k)!).push(o);
  }
  const out: BridgeFlows[] = [];
  for (const list of groups.values()) {
    list.sort((a, b) => (a.at ?? 0) - (b.at ?? 0));
    const cur = list[list.length - 1]!;
    let prev: Observation<'ovs.flows'> | undefined;
    for (let i = list.length - 2; i >= 0; i--) {
      if (list[i]!.at !== undefined && cur.at !== undefined && list[i]!.at! < cur.at) {
        prev = list[i];
        break;
      }
    }
    const prevByKey = new Map<string, FlowEntry>();
    if (prev) for (const f of prev.data.flows) prevByKey.set(flowKey(f), f);
    const bf: BridgeFlows = { host: cur.host, bridge: cur.data.bridge, at: cur.at, source: cur.source, protocol: cur.data.protocol, flows: [], snapshots: list.length };
    if (prev && cur.at !== undefined && prev.at !== undefined) bf.intervalSeconds = (cur.at - prev.at) / 1000;
    for (const f of cur.data.flows) {
      // OVS's hidden internal table (TBL_INTERNAL, 254; `ovs-appctl bridge/dump-flows` prints it):
      // its drops and controller outputs are how OVS works, no rule anyone installed.
      if (f.table === OVS_INTERNAL_TABLE) continue;
      const v: FlowView = { entry: f };
      const p = prevByKey.get(flowKey(f));
      if (p && prev && f.packets !== undefined && p.packets !== undefined && cur.at !== undefined && prev.at !== undefined) {
        const readded = f.durationSeconds !== undefined && p.durationSeconds !== undefined && f.durationSeconds < p.durationSeconds;
        // A re-added flow restarted from zero: treat the previous sample as 0 at the re-add time.
        const d = readded
          ? counterDelta({ value: 0, at: Math.max(prev.at, cur.at - (f.durationSeconds ?? 0) * 1000) }, { value: f.packets, at: cur.at })
          : counterDelta({ value: p.packets, at: prev.at }, { value: f.packets, at: cur.at }, 64);
        v.packetsIncrease = d.increase;
        v.reset = readded || d.reset;
        if (readded) v.packetsPerSecond = (cur.at - prev.at) > 0 ? d.increase / ((cur.at - prev.at) / 1000) : undefined;
        else v.packetsPerSecond = d.ratePerSecond;
      } else if (!p && prev && f.packets !== undefined && f.durationSeconds !== undefined && cur.at !== undefined && prev.at !== undefined && f.durationSeconds * 1000 < cur.at - prev.at + 1000) {
        // New since the previous poll: everything it counted happened in the interval.
        v.packetsIncrease = f.packets;
        v.packetsPerSecond = f.packets / Math.max(1, (cur.at - prev.at) / 1000);
      }
      bf.flows.push(v);
    }
    out.push(bf);
  }
  return out;
}

export interface PortRef {
  ofport?: number;
  name?: string;
  iface?: OvsInterfaceInfo;
}

export interface BridgePorts {
  /** Where the map came from; `none` means absence cannot be judged. */
  source: 'ofctl-show' | 'ovsdb' | 'none';
  byNumber: Map<number, PortRef>;
  byName: Map<string, PortRef>;
}

/** The ports of one bridge: `ovs-ofctl show` when captured, else OVSDB Interface ofports. */
export function bridgePorts(obs: ObservationReader, inv: Map<string, HostOvs>, host: string | undefined, bridge: string): BridgePorts {
  const res: BridgePorts = { source: 'none', byNumber: new Map(), byName: new Map() };
  const h = inv.get(hostKey(host));
  const ifaces = [...(h?.interfaces.values() ?? [])].filter((i) => i.bridge === bridge);
  for (const i of ifaces) {
    const ref: PortRef = { name: i.name, iface: i };
    if (i.ofport !== undefined) ref.ofport = i.ofport;
    res.byName.set(i.name, ref);
  }
  const shows = obs.get('ovs.portmap').filter((o) => hostKey(o.host) === hostKey(host) && o.data.bridge === bridge);
  shows.sort((a, b) => (a.at ?? 0) - (b.at ?? 0));
  const show = shows[shows.length - 1];
  if (show) {
    res.source = 'ofctl-show';
    for (const p of show.data.ports) {
      const ref: PortRef = { ofport: p.ofport, name: p.name, iface: h?.interfaces.get(p.name) };
      res.byNumber.set(p.ofport, ref);
      res.byName.set(p.name, ref);
    }
  } else if (ifaces.some((i) => i.ofport !== undefined)) {
    res.source = 'ovsdb';
    for (const i of ifaces) if (i.ofport !== undefined && i.ofport > 0) res.byNumber.set(i.ofport, { ofport: i.ofport, name: i.name, iface: i });
  }
  return res;
}
