/**
 * Pure parsers for NIC counter sources: `ethtool -S`, `ethtool -i`, `ip -s -s link` (text),
 * `ip -j [-d] -s [-s] link` (JSON) and netdiag's sysfs dump. No I/O here: the live collector and
 * the bundle readers feed text in, tests feed fixtures in.
 */
import { canonicalise, guessDriver, isVirtualDriver, normaliseDriver } from './drivers.js';
import type { CanonicalCounter, LinkClass, NicCounterSnapshot } from './types.js';

export class NicParseError extends Error {}

// ---------------------------------------------------------------- ethtool -S

export interface EthtoolStats {
  /** Every counter, keys as printed (trimmed); per-queue sections of vmxnet3 get `rxqN.`/`txqN.` prefixes. */
  stats: Map<string, number>;
  /** Lines that were not `key: number` (reported, never fatal). */
  skipped: string[];
  /** The device said it has no statistics (vxlan, tap). */
  noStats: boolean;
  /** Keys seen more than once (summed). */
  duplicates: string[];
}

const STAT_LINE = /^(\s*)(.*?):\s*(-?\d+)\s*$/;
const QUEUE_SECTION = /^(Tx|Rx) Queue#$/i;

export function parseEthtoolStats(text: string): EthtoolStats {
  const out: EthtoolStats = { stats: new Map(), skipped: [], noStats: false, duplicates: [] };
  let section: { prefix: string; indent: number } | undefined;
  for (const rawLine of text.split('\n')) {
    const line = rawLine.replace(/\r$/, '');
    if (line.trim() === '' || line.startsWith('#')) continue;
    if (/^NIC statistics:\s*$/.test(line) || /^Standard stats for \S+:\s*$/.test(line)) continue;
    if (/no stats available/i.test(line)) {
      out.noStats = true;
      continue;
    }
    if (/^Cannot get|^Cannot |: No such device|Operation not supported/.test(line)) {
      throw new NicParseError(`ethtool reported an error: ${line.trim()}`);
    }
    const m = STAT_LINE.exec(line);
    if (!m) {
      out.skipped.push(line.trim().slice(0, 200));
      continue;
    }
    const indent = m[1]!.length;
    const key = m[2]!.trim();
    const value = Number(m[3]);
    if (QUEUE_SECTION.test(key)) {
      section = { prefix: `${key[0]!.toLowerCase()}xq${value}.`, indent };
      continue;
    }
    if (section && indent <= section.indent) section = undefined;
    const full = section ? section.prefix + key : key;
    if (out.stats.has(full)) {
      out.duplicates.push(full);
      out.stats.set(full, out.stats.get(full)! + value);
    } else out.stats.set(full, value);
  }
  return out;
}

/** Kernel "standard" statistics (`ethtool -S IF --all-groups`, Documentation/networking/statistics.rst). */
const STANDARD: [string, CanonicalCounter][] = [
  ['eth-mac-FrameCheckSequenceErrors', 'crc_errors'],
  ['eth-mac-AlignmentErrors', 'alignment_errors'],
  ['eth-phy-SymbolErrorDuringCarrier', 'symbol_errors'],
  ['eth-mac-FramesReceivedOK', 'rx_packets'],
  ['eth-mac-FramesTransmittedOK', 'tx_packets'],
];

/** Build a counter snapshot from `ethtool -S` output. */
export function ethtoolSnapshot(iface: string, parsed: EthtoolStats, driverHint?: string): NicCounterSnapshot {
  const driver = normaliseDriver(driverHint) ?? guessDriver(parsed.stats.keys());
  const { counters, counterSources } = canonicalise(driver, parsed.stats);
  for (const [k, c] of STANDARD) {
    const v = parsed.stats.get(k);
    if (v !== undefined) {
      counters[c] = v;
      counterSources[c] = k;
    }
  }
  return {
    interface: iface,
    class: driver === undefined ? 'other' : isVirtualDriver(driver) ? classOfVirtualDriver(driver) : 'physical',
    driver,
    source: 'ethtool',
    counters,
    counterSources,
    raw: Object.fromEntries(parsed.stats),
  };
}

function classOfVirtualDriver(driver: string): LinkClass {
  switch (driver) {
    case 'veth':
      return 'veth';
    case 'tun':
      return 'tap';
    case 'bridge':
      return 'bridge';
    case 'openvswitch':
      return 'ovs_internal';
    case 'bonding':
      return 'bond';
    case '8021q':
      return 'vlan';
    case 'vxlan':
    case 'geneve':
      return 'tunnel';
    default:
      return 'other';
  }
}

/** The interface an `ethtool -S`/`-i` capture is about: from `# command:`, else the file name. */
export function ethtoolInterface(command: string | undefined, path: string): string {
  const m = command ? /\bethtool\s+(?:-[A-Za-z]\s+|--[a-z-]+\s+)*?(?:-S|--statistics|-i|--driver)\s+(?:--[a-z-]+\s+)*([^\s|;&>]+)/.exec(command) : null;
  if (m) return m[1]!;
  let base = path.split('/').pop() ?? path;
  base = base.replace(/\.(gz)$/i, '').replace(/\.(txt|out|log)$/i, '');
  // `ethtool-S-eno1`, `ethtool_S_eno1`, and sosreport's `sos_commands/networking/ethtool_-S_eno1`
  base = base.replace(/^ethtool[-_.]*[Si][-_.]+/i, '');
  for (let i = 0; i < 3; i++) base = base.replace(/[-_.](?:\d+|before|after|first|second|t\d+)$/i, '');
  if (/^[A-Za-z0-9_.:@-]{1,15}$/.test(base)) return base;
  throw new NicParseError(`cannot tell which interface ${path} is about: no "# command: ethtool -S <if>" header and the file name does not name one`);
}

// ---------------------------------------------------------------- ethtool -i

export interface EthtoolInfo {
  driver?: string;
  busInfo?: string;
  version?: string;
}

export function parseEthtoolInfo(text: string): EthtoolInfo {
  const info: EthtoolInfo = {};
  for (const line of text.split('\n')) {
    const m = /^([a-z-]+):\s*(.*)$/.exec(line.trim());
    if (!m) continue;
    if (m[1] === 'driver') info.driver = m[2]!.trim();
    else if (m[1] === 'bus-info') info.busInfo = m[2]!.trim() || undefined;
    else if (m[1] === 'version') info.version = m[2]!.trim() || undefined;
  }
  return info;
}

// ---------------------------------------------------------------- ip link

export interface IpLinkEntry {
  interface: string;
  class: LinkClass;
  mtu?: number;
  operState?: string;
  master?: string;
  parent?: string;
  kind?: string;
  counters: Partial<Record<CanonicalCounter, number>>;
  counterSources: Partial<Record<CanonicalCounter, string>>;
  tunnel?: { type: 'vxlan' | 'gre' | 'geneve' | 'stt'; id?: number; remote?: string; local?: string; dstPort?: number };
}

/** Classify from the name alone: the last resort when neither sysfs nor `ip -d` said what it is. */
export function classifyByName(name: string): LinkClass {
  if (name === 'lo') return 'loopback';
  if (name === 'ovs-system') return 'ovs_internal'; // the OVS kernel datapath device
  if (/^(veth|vif)/.test(name)) return 'veth';
  if (/^(vnet|tap|tun|macvtap)/.test(name)) return 'tap';
  if (/^(vxlan|gre|gretap|geneve|genev_sys|vxlan_sys|gre_sys|stt_sys|ip6tnl|sit|ipip|tunl)/.test(name)) return 'tunnel';
  if (/^bond\d/.test(name)) return 'bond';
  if (/^(br|cloudbr|virbr|xenbr|breth|cloud\d)/.test(name)) return 'bridge';
  if (/\.\d+$/.test(name) || /^vlan\d/.test(name)) return 'vlan';
  return 'physical';
}

function classifyKind(kind: string | undefined, slaveKind: string | undefined, tunType?: string): LinkClass | undefined {
  switch (kind) {
    case undefined:
      return slaveKind === 'bond' ? 'bond_member' : undefined;
    case 'bond':
      return 'bond';
    case 'bridge':
      return 'bridge';
    case 'vlan':
      return 'vlan';
    case 'veth':
      return 'veth';
    case 'tun':
      return tunType === 'tun' ? 'tap' : 'tap';
    case 'openvswitch':
      return 'ovs_internal';
    case 'vxlan':
    case 'gre':
    case 'gretap':
    case 'ip6gre':
    case 'geneve':
    case 'ipip':
    case 'sit':
      return 'tunnel';
    case 'dummy':
    case 'ifb':
    case 'macvlan':
    case 'ipvlan':
      return 'other';
    default:
      return 'other';
  }
}

const JSON_RX: [string, CanonicalCounter][] = [
  ['packets', 'rx_packets'],
  ['bytes', 'rx_bytes'],
  ['errors', 'rx_errors'],
  ['dropped', 'rx_dropped'],
  ['crc_errors', 'crc_errors'],
  ['frame_errors', 'frame_errors'],
  ['length_errors', 'length_errors'],
  ['missed_errors', 'rx_missed'],
  ['over_errors', 'rx_over_errors'],
  ['fifo_errors', 'rx_fifo_errors'],
];
const JSON_TX: [string, CanonicalCounter][] = [
  ['packets', 'tx_packets'],
  ['bytes', 'tx_bytes'],
  ['errors', 'tx_errors'],
  ['dropped', 'tx_dropped'],
  ['carrier_errors', 'tx_carrier_errors'],
  ['carrier_changes', 'carrier_changes'],
];

interface IpJsonLink {
  ifname?: unknown;
  mtu?: unknown;
  operstate?: unknown;
  master?: unknown;
  link?: unknown;
  link_type?: unknown;
  parentbus?: unknown;
  ifindex?: unknown;
  link_index?: unknown;
  link_netnsid?: unknown;
  linkinfo?: { info_kind?: string; info_slave_kind?: string; info_data?: Record<string, unknown> };
  stats64?: { rx?: Record<string, unknown>; tx?: Record<string, unknown> };
  stats?: { rx?: Record<string, unknown>; tx?: Record<string, unknown> };
}

/** `ip -j [-d] -s [-s] link` output: a JSON array of links. */
export function parseIpLinkJson(text: string): { links: IpLinkEntry[]; skipped: string[] } {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new NicParseError(`not valid JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(doc)) throw new NicParseError('expected a JSON array of links (ip -j -s link)');
  const links: IpLinkEntry[] = [];
  const skipped: string[] = [];
  for (const [i, item] of doc.entries()) {
    const l = item as IpJsonLink;
    if (!l || typeof l !== 'object' || typeof l.ifname !== 'string') {
      skipped.push(`entry ${i}: no ifname`);
      continue;
    }
    const counters: IpLinkEntry['counters'] = {};
    const counterSources: IpLinkEntry['counterSources'] = {};
    const st = l.stats64 ?? l.stats;
    const take = (side: Record<string, unknown> | undefined, map: [string, CanonicalCounter][], prefix: string) => {
      if (!side) return;
      for (const [k, c] of map) {
        const v = side[k];
        if (typeof v === 'number' && Number.isFinite(v)) {
          counters[c] = v;
          counterSources[c] = `${prefix}.${k}`;
        }
      }
    };
    take(st?.rx, JSON_RX, 'stats64.rx');
    take(st?.tx, JSON_TX, 'stats64.tx');
    const kind = l.linkinfo?.info_kind;
    const slaveKind = l.linkinfo?.info_slave_kind;
    let cls = classifyKind(kind, slaveKind, typeof l.linkinfo?.info_data?.type === 'string' ? (l.linkinfo.info_data.type as string) : undefined);
    if (cls === undefined) {
      if (l.link_type === 'loopback') cls = 'loopback';
      else if (l.linkinfo || typeof l.parentbus === 'string') cls = typeof l.parentbus === 'string' || l.link_type === 'ether' ? 'physical' : 'other';
      else if (l.link_netnsid !== undefined || (typeof l.link_index === 'number' && l.link_index !== l.ifindex && l.link === undefined)) cls = 'veth';
      else cls = classifyByName(l.ifname);
    }
    if (cls === 'physical' && typeof l.master === 'string' && slaveKind === 'bond') cls = 'bond_member';
    const entry: IpLinkEntry = {
      interface: l.ifname,
      class: cls,
      mtu: typeof l.mtu === 'number' ? l.mtu : undefined,
      operState: typeof l.operstate === 'string' ? l.operstate.toLowerCase() : undefined,
      master: typeof l.master === 'string' ? l.master : undefined,
      parent: typeof l.link === 'string' && !/^if\d+$/.test(l.link) ? l.link : undefined,
      kind,
      counters,
      counterSources,
    };
    if (kind === 'vxlan') {
      const d = l.linkinfo?.info_data ?? {};
      // `ip -d` prints a VXLAN's underlay device (`dev eth1`) as info_data.link, not as the top-level link.
      if (entry.parent === undefined && typeof d.link === 'string' && !/^if\d+$/.test(d.link)) entry.parent = d.link;
      entry.tunnel = {
        type: 'vxlan',
        id: typeof d.id === 'number' ? d.id : undefined,
        remote: typeof d.remote === 'string' ? d.remote : undefined,
        local: typeof d.local === 'string' ? d.local : undefined,
        dstPort: typeof d.port === 'number' ? d.port : undefined,
      };
    }
    links.push(entry);
  }
  return { links, skipped };
}

/** Column names of `ip -s -s link` text blocks → canonical counters (iproute2 5.x/6.x and older). */
const TEXT_COLUMNS: Record<string, Record<string, CanonicalCounter>> = {
  'RX:': { bytes: 'rx_bytes', packets: 'rx_packets', errors: 'rx_errors', dropped: 'rx_dropped', missed: 'rx_missed', overrun: 'rx_over_errors' },
  'RX errors:': { length: 'length_errors', crc: 'crc_errors', frame: 'frame_errors', fifo: 'rx_fifo_errors', overrun: 'rx_over_errors', missed: 'rx_missed' },
  'TX:': { bytes: 'tx_bytes', packets: 'tx_packets', errors: 'tx_errors', dropped: 'tx_dropped', carrier: 'tx_carrier_errors' },
  'TX errors:': { transns: 'carrier_changes' },
};

const TEXT_LINK_HEADER = /^(\d+):\s+([^:@\s]+)(?:@([^:\s]+))?:\s+<([^>]*)>(.*)$/;

/** `ip -s -s link` (or `ip -s link`) text output. */
export function parseIpLinkText(text: string): { links: IpLinkEntry[]; skipped: string[] } {
  const links: IpLinkEntry[] = [];
  const skipped: string[] = [];
  let cur: IpLinkEntry | undefined;
  let pending: { block: string; columns: string[] } | undefined;
  for (const rawLine of text.split('\n')) {
    const line = rawLine.replace(/\r$/, '');
    if (line.trim() === '' || line.startsWith('#')) continue;
    const h = TEXT_LINK_HEADER.exec(line);
    if (h) {
      const rest = h[5]!;
      const name = h[2]!;
      const parent = h[3] && !/^if\d+$/.test(h[3]) && h[3] !== 'NONE' ? h[3] : undefined;
      const master = /\bmaster (\S+)/.exec(rest)?.[1];
      cur = {
        interface: name,
        class: classifyByName(name),
        mtu: Number(/\bmtu (\d+)/.exec(rest)?.[1]) || undefined,
        operState: /\bstate (\S+)/.exec(rest)?.[1]?.toLowerCase(),
        master,
        parent,
        counters: {},
        counterSources: {},
      };
      if (/^vnet|^tap/.test(name) === false && h[3] && /^if\d+$/.test(h[3]) && cur.class === 'physical') cur.class = 'veth';
      links.push(cur);
      pending = undefined;
      continue;
    }
    if (!cur) {
      skipped.push(line.trim().slice(0, 200));
      continue;
    }
    const t = line.trim();
    if (pending) {
      const values = t.split(/\s+/);
      if (values.every((v) => /^\d+$/.test(v))) {
        const map = TEXT_COLUMNS[pending.block]!;
        pending.columns.forEach((col, i) => {
          const c = map[col];
          if (c && values[i] !== undefined) {
            cur!.counters[c] = Number(values[i]);
            cur!.counterSources[c] = `${pending!.block} ${col}`;
          }
        });
        pending = undefined;
        continue;
      }
      pending = undefined;
    }
    const block = Object.keys(TEXT_COLUMNS).find((b) => t.startsWith(b));
    if (block) {
      pending = { block, columns: t.slice(block.length).trim().split(/\s+/) };
      continue;
    }
    if (/^(link\/|alias |altname |vf |bond|bridge|vxlan|veth|openvswitch|tun |vlan )/.test(t) || /^\w+ /.test(t)) continue;
    skipped.push(t.slice(0, 200));
  }
  return { links, skipped };
}

// ---------------------------------------------------------------- sysfs dump

/**
 * The sysfs dump netdiag writes (`netdiag collect`, and the live collector's view): one line per
 * attribute, `<iface>/<attribute path> <value>`, e.g. `eno1/statistics/rx_crc_errors 17`,
 * `eno1/driver ixgbe` (basename of the device/driver link), `eno1/master bond0`,
 * `eno1/devtype vlan` (uevent DEVTYPE), `bond0/bonding/slaves eno1 eno2`, `br0/bridge 1`.
 *
 * The reader also takes the dumps admins make by hand of the same files:
 * - `grep -r . /sys/class/net/*\/statistics/` or `grep -H . …`: `/sys/class/net/eth0/statistics/rx_crc_errors:17`
 *   (any prefix up to `net/<iface>/`, e.g. `/sys/devices/…/net/eth0/…`);
 * - the full path and the value with a blank between (`for f in …; do echo $f $(cat $f); done`);
 * - `head /sys/class/net/eth0/statistics/*`: `==> PATH <==` and the value on the next line;
 * - one interface's statistics without the interface in the path (`cd …/eth0/statistics; grep . *`
 *   gives `rx_crc_errors:17`): the interface then comes from `defaultInterface` (the `# command:`
 *   line or the file name, see `sysfsInterfaceHint`).
 * See README.md "Sysfs dump format".
 */
export const SYSFS_DUMP_COMMAND = 'netdiag sysfs-dump';

/** The counters every interface has under `statistics/` (Documentation/ABI/testing/sysfs-class-net-statistics). */
export const SYSFS_STATISTICS = new Set([
  'collisions', 'multicast', 'rx_bytes', 'rx_compressed', 'rx_crc_errors', 'rx_dropped', 'rx_errors', 'rx_fifo_errors',
  'rx_frame_errors', 'rx_length_errors', 'rx_missed_errors', 'rx_nohandler', 'rx_over_errors', 'rx_packets',
  'tx_aborted_errors', 'tx_bytes', 'tx_carrier_errors', 'tx_compressed', 'tx_dropped', 'tx_errors', 'tx_fifo_errors',
  'tx_heartbeat_errors', 'tx_packets', 'tx_window_errors',
]);

export interface SysfsInterface {
  name: string;
  attrs: Map<string, string>;
  statistics: Map<string, number>;
}

/** One dump line split into interface (undefined when the path does not name one), attribute path and value. */
export interface SysfsLine {
  iface?: string;
  path: string;
  value: string;
}

const HEAD_MARK = /^==> (.+) <==$/;

/** Plain one-value attributes of an interface directory that a dump may carry without the interface. */
const PLAIN_SYSFS_ATTRS = new Set(['mtu', 'operstate', 'carrier_changes', 'type', 'ifindex', 'iflink']);

/** Split `PATH VALUE` / `PATH:VALUE` and find the interface in PATH. Undefined when the line is neither. */
export function splitSysfsLine(line: string): SysfsLine | undefined {
  // grep's form first: the path has no blank, and the first colon after it ends the path.
  let m = /^([^\s:]+):(.*)$/.exec(line);
  if (!m || !m[1]!.includes('/') && !SYSFS_STATISTICS.has(m[1]!)) m = /^(\S+)(?:\s+(.*))?$/.exec(line);
  if (!m) return undefined;
  const [, full, value = ''] = m;
  return { ...splitSysfsPath(full!), value: value.trim() };
}

/** `/sys/class/net/eth0/statistics/rx_packets` → eth0 + statistics/rx_packets; `statistics/rx_packets` → no interface. */
export function splitSysfsPath(full: string): { iface?: string; path: string } {
  const net = /(?:^|\/)net\/([^/\s]{1,64})\/(.+)$/.exec(full);
  if (net) return { iface: net[1]!, path: net[2]! };
  if (full.startsWith('statistics/')) return { path: full };
  if (SYSFS_STATISTICS.has(full)) return { path: `statistics/${full}` };
  const rel = /^([^/\s]{1,64})\/(.+)$/.exec(full);
  if (rel) return { iface: rel[1]!, path: rel[2]! };
  return { path: full };
}

/**
 * Which interface a one-interface dump belongs to, from the command that made it
 * (`grep . /sys/class/net/eth0/statistics/*`) or the file name (`sysfs-statistics-eth0.txt`).
 */
export function sysfsInterfaceHint(command: string | undefined, fileName: string): string | undefined {
  const fromCommand = command ? /\/net\/([^/\s*]{1,64})\//.exec(command)?.[1] : undefined;
  if (fromCommand) return fromCommand;
  const base = fileName.replace(/^.*[\\/]/, '').replace(/\.(gz|txt|log|out|dump)$/g, '').replace(/\.(gz|txt|log|out|dump)$/g, '');
  const words = new Set(['sys', 'sysfs', 'class', 'net', 'statistics', 'stats', 'stat', 'counters', 'nic', 'dump', 'grep', 'cat', 'head', 'before', 'after']);
  const tokens = base.split(/[-_]+/).map((t) => t.replace(/\.\d+$/, '')).filter((t) => t !== '' && !words.has(t.toLowerCase()) && !/^\d+$/.test(t) && !/^\d{4}-?\d\d/.test(t));
  // Interface names nearly always end in a number (eth0, eno1, ens1f0np0, bond0, vnet3): a lone word is not trusted.
  return tokens.length === 1 && (/\d/.test(tokens[0]!) || tokens[0] === 'lo') ? tokens[0] : undefined;
}

export function parseSysfsDump(text: string, defaultInterface?: string): { interfaces: Map<string, SysfsInterface>; skipped: string[] } {
  const interfaces = new Map<string, SysfsInterface>();
  const skipped: string[] = [];
  let headPath: string | undefined;
  for (const rawLine of text.split('\n')) {
    const line = rawLine.replace(/\r$/, '');
    if (line.trim() === '' || line.startsWith('#')) continue;
    const mark = HEAD_MARK.exec(line);
    if (mark) {
      headPath = mark[1]!;
      continue;
    }
    let parsed: SysfsLine | undefined;
    if (headPath !== undefined) {
      parsed = { ...splitSysfsPath(headPath), value: line.trim() };
      headPath = undefined;
    } else parsed = splitSysfsLine(line);
    // Without the interface in the path only the statistics and plain attributes can be placed.
    const name = parsed?.iface ?? (parsed && (parsed.path.startsWith('statistics/') || PLAIN_SYSFS_ATTRS.has(parsed.path)) ? defaultInterface : undefined);
    if (!parsed || name === undefined || parsed.path === '') {
      skipped.push(line.slice(0, 200));
      continue;
    }
    let iface = interfaces.get(name);
    if (!iface) interfaces.set(name, (iface = { name, attrs: new Map(), statistics: new Map() }));
    if (parsed.path.startsWith('statistics/')) {
      if (!/^\d+$/.test(parsed.value)) {
        skipped.push(line.slice(0, 200));
        continue;
      }
      iface.statistics.set(parsed.path.slice('statistics/'.length), Number(parsed.value));
    } else iface.attrs.set(parsed.path, parsed.value);
  }
  for (const [name, iface] of interfaces) if (iface.statistics.size === 0 && iface.attrs.size === 0) interfaces.delete(name);
  return { interfaces, skipped };
}

/** How many lines of a dump's head are sysfs statistics, with and without the interface in the path. */
export function sysfsStatLines(body: string): { named: number; bare: number; other: number } {
  let named = 0;
  let bare = 0;
  let other = 0;
  let headPath: string | undefined;
  for (const line of body.split('\n', 400)) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const mark = HEAD_MARK.exec(line);
    if (mark) {
      headPath = mark[1];
      continue;
    }
    const l = headPath !== undefined ? { ...splitSysfsPath(headPath), value: line.trim() } : /^\s/.test(line) ? undefined : splitSysfsLine(line);
    headPath = undefined;
    const stat = l?.path.startsWith('statistics/') && /^\d+$/.test(l.value) ? l.path.slice('statistics/'.length) : undefined;
    if (stat !== undefined && l!.iface !== undefined && /^[a-z0-9_]+$/.test(stat)) named++;
    else if (stat !== undefined && SYSFS_STATISTICS.has(stat)) bare++;
    else other++;
  }
  return { named, bare, other };
}

const SYSFS_STATS: [string, CanonicalCounter][] = [
  ['rx_packets', 'rx_packets'],
  ['tx_packets', 'tx_packets'],
  ['rx_bytes', 'rx_bytes'],
  ['tx_bytes', 'tx_bytes'],
  ['rx_errors', 'rx_errors'],
  ['tx_errors', 'tx_errors'],
  ['rx_dropped', 'rx_dropped'],
  ['tx_dropped', 'tx_dropped'],
  ['rx_crc_errors', 'crc_errors'],
  ['rx_frame_errors', 'frame_errors'],
  ['rx_length_errors', 'length_errors'],
  ['rx_missed_errors', 'rx_missed'],
  ['rx_over_errors', 'rx_over_errors'],
  ['rx_fifo_errors', 'rx_fifo_errors'],
  ['tx_carrier_errors', 'tx_carrier_errors'],
];

const ARPHRD_TUNNELS = new Set(['768', '769', '776', '778', '823']); // ipip, ip6tnl, sit, gre, ip6gre

/** Classify one interface from its sysfs attributes (the dump or a live tree). */
export function classifySysfs(iface: SysfsInterface, all: ReadonlyMap<string, SysfsInterface>): LinkClass {
  const a = iface.attrs;
  const devtype = a.get('devtype');
  if (iface.name === 'lo' || a.get('type') === '772') return 'loopback';
  if (a.has('bonding/slaves') || devtype === 'bond') return 'bond';
  if (a.has('bridge') || devtype === 'bridge') return 'bridge';
  if (devtype === 'vlan') return 'vlan';
  if (devtype === 'vxlan' || devtype === 'geneve' || ARPHRD_TUNNELS.has(a.get('type') ?? '')) return 'tunnel';
  if (a.has('tun_flags')) return 'tap';
  const master = a.get('master');
  const masterIsBond = master !== undefined && (all.get(master)?.attrs.has('bonding/slaves') || a.has('bonding_slave'));
  if (a.has('device') || a.get('driver')) return masterIsBond || a.has('bonding_slave') ? 'bond_member' : 'physical';
  if (a.has('bonding_slave')) return 'bond_member';
  if (master === 'ovs-system' || a.get('driver') === 'openvswitch') return 'ovs_internal';
  if (a.get('iflink') !== undefined && a.get('ifindex') !== undefined && a.get('iflink') !== a.get('ifindex')) return 'veth';
  const byName = classifyByName(iface.name);
  return byName === 'physical' ? 'other' : byName;
}

/** Snapshot + link info for every interface in a sysfs dump/tree. */
export function sysfsSnapshots(interfaces: ReadonlyMap<string, SysfsInterface>): { snapshot: NicCounterSnapshot; mtu?: number; operState?: string; carrierChanges?: number }[] {
  const out: { snapshot: NicCounterSnapshot; mtu?: number; operState?: string; carrierChanges?: number }[] = [];
  for (const iface of interfaces.values()) {
    const counters: NicCounterSnapshot['counters'] = {};
    const counterSources: NicCounterSnapshot['counterSources'] = {};
    for (const [k, c] of SYSFS_STATS) {
      const v = iface.statistics.get(k);
      if (v !== undefined) {
        counters[c] = v;
        counterSources[c] = `statistics/${k}`;
      }
    }
    const cc = iface.attrs.get('carrier_changes');
    const carrierChanges = cc !== undefined && /^\d+$/.test(cc) ? Number(cc) : undefined;
    if (carrierChanges !== undefined) {
      counters.carrier_changes = carrierChanges;
      counterSources.carrier_changes = 'carrier_changes';
    }
    const cls = classifySysfs(iface, interfaces);
    const master = iface.attrs.get('master');
    out.push({
      snapshot: {
        interface: iface.name,
        class: cls,
        driver: normaliseDriver(iface.attrs.get('driver') || undefined),
        bond: cls === 'bond_member' ? master : undefined,
        source: 'sysfs',
        counters,
        counterSources,
        bits: 64,
      },
      mtu: Number(iface.attrs.get('mtu')) || undefined,
      operState: iface.attrs.get('operstate') || undefined,
      carrierChanges,
    });
  }
  return out;
}
