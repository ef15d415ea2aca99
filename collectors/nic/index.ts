/**
 * NIC counters: sysfs statistics, `ethtool -S` per driver, `ip -s -s link`, live and from bundles.
 * Emits `net.link` (core/kinds.ts) and `nic.counters` (types.ts). See README.md.
 */
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { NetdiagError } from '../../core/errors.js';
import type { InputFile } from '../../core/input.js';
import type { LinkInfo } from '../../core/kinds.js';
import type { FileCollector, LiveCollector, LiveContext, MetricSpec, ParseContext, ReadStats } from '../../core/plugin.js';
import { CounterIncreaseExport } from './export.js';
import { normaliseDriver } from './drivers.js';
import {
  ethtoolInterface,
  ethtoolSnapshot,
  NicParseError,
  parseEthtoolInfo,
  parseEthtoolStats,
  parseIpLinkJson,
  parseIpLinkText,
  parseSysfsDump,
  sysfsInterfaceHint,
  sysfsStatLines,
  SYSFS_DUMP_COMMAND,
  sysfsSnapshots,
  type IpLinkEntry,
} from './parse.js';
import { readSysfsTree } from './sysfs.js';
import { crcRelevant, ERROR_COUNTERS, type CanonicalCounter, type NicCounterSnapshot } from './types.js';

export * from './types.js';

/** Counter outputs are small; anything bigger than this is not what we think it is. */
const MAX_INPUT_BYTES = 32 * 1024 * 1024;

async function readAll(input: InputFile): Promise<string> {
  if (input.size > MAX_INPUT_BYTES && !input.gzip) throw new NetdiagError('E_INPUT_PARSE', `${input.path} is ${input.size} bytes, more than a NIC counter capture can be (limit ${MAX_INPUT_BYTES})`);
  // Small files (nearly all counter captures) are already in `head`: no second read.
  if (input.head.length >= input.size && !input.gzip) return input.head.subarray(input.header.length).toString('utf8');
  const chunks: Buffer[] = [];
  let len = 0;
  for await (const c of input.open() as Readable & AsyncIterable<Buffer>) {
    len += c.length;
    if (len > MAX_INPUT_BYTES) throw new NetdiagError('E_INPUT_PARSE', `${input.path} decompresses to more than ${MAX_INPUT_BYTES} bytes`);
    chunks.push(c);
  }
  // Without the `# command:` header lines (their length is in bytes of the decompressed content).
  return Buffer.concat(chunks).subarray(input.header.length).toString('utf8');
}

function parseError(input: InputFile, e: unknown): never {
  if (e instanceof NicParseError) throw new NetdiagError('E_INPUT_PARSE', `${input.path}: ${e.message}`, { cause: e });
  throw e;
}

function linkOf(s: { interface: string; class: string; driver?: string; bond?: string }, extra: Partial<LinkInfo> = {}): LinkInfo {
  return { interface: s.interface, class: s.class, driver: s.driver, master: s.bond, ...extra };
}

// ------------------------------------------------------------------ bundle readers

export const ethtoolStatsFile: FileCollector = {
  type: 'ethtool-stats',
  description: '`ethtool -S <if>` output (any driver; per-driver names mapped to canonical counters)',
  sniff(input) {
    if (input.header.command && /\bethtool\b.*\s(-S|--statistics)\b/.test(input.header.command)) return 1;
    const b = input.body.trimStart();
    if (/^NIC statistics:\s*\n/.test(b)) return 0.95;
    if (/^Standard stats for \S+:/.test(b)) return 0.9;
    return 0;
  },
  async read(input, ctx) {
    const text = await readAll(input);
    let parsed;
    let iface: string;
    try {
      iface = ethtoolInterface(input.header.command, input.path);
      parsed = parseEthtoolStats(text);
    } catch (e) {
      parseError(input, e);
    }
    const warnings: string[] = [];
    if (parsed.noStats) warnings.push(`${iface}: the device has no ethtool statistics (virtual device)`);
    if (parsed.duplicates.length) warnings.push(`${iface}: ${parsed.duplicates.length} counter name(s) repeated and summed, e.g. ${parsed.duplicates[0]}`);
    if (parsed.stats.size === 0) return { records: 0, skipped: parsed.skipped.length, warnings };
    const snap = ethtoolSnapshot(iface, parsed, input.header.extra.driver);
    if (input.header.extra.bond) {
      snap.bond = input.header.extra.bond;
      if (snap.class === 'physical') snap.class = 'bond_member';
    }
    const at = input.collectedAt().getTime();
    ctx.emit({ kind: 'nic.counters', at, source: input.path, data: snap });
    ctx.emit({ kind: 'net.link', at, source: input.path, data: linkOf(snap) });
    if (parsed.skipped.length) warnings.push(`${parsed.skipped.length} line(s) not of the form "name: number", e.g. ${JSON.stringify(parsed.skipped[0])}`);
    return { records: parsed.stats.size, skipped: parsed.skipped.length, warnings };
  },
};

export const ethtoolInfoFile: FileCollector = {
  type: 'ethtool-info',
  description: '`ethtool -i <if>` output (the driver of an interface)',
  sniff(input) {
    if (input.header.command && /\bethtool\b.*\s(-i|--driver)\b/.test(input.header.command)) return 1;
    return /^driver: \S+/m.test(input.body) && /^bus-info:/m.test(input.body) && /^supports-statistics:/m.test(input.body) ? 0.9 : 0;
  },
  async read(input, ctx) {
    const text = await readAll(input);
    let iface: string;
    try {
      iface = ethtoolInterface(input.header.command, input.path);
    } catch (e) {
      parseError(input, e);
    }
    const info = parseEthtoolInfo(text);
    if (!info.driver) throw new NetdiagError('E_INPUT_PARSE', `${input.path}: no "driver:" line in ethtool -i output`);
    const driver = normaliseDriver(info.driver);
    ctx.emit({
      kind: 'net.link',
      at: input.collectedAt().getTime(),
      source: input.path,
      data: { interface: iface, class: ['veth', 'tun', 'bridge', 'openvswitch', 'bonding', 'vxlan', '8021q'].includes(driver!) ? 'other' : 'physical', driver },
    });
    return { records: 1 };
  },
};

function emitIpLinks(links: IpLinkEntry[], input: InputFile, ctx: ParseContext): void {
  const at = input.collectedAt().getTime();
  for (const l of links) {
    const snap: NicCounterSnapshot = {
      interface: l.interface,
      class: l.class,
      bond: l.class === 'bond_member' ? l.master : undefined,
      source: 'ip-link',
      counters: l.counters,
      counterSources: l.counterSources,
      bits: 64,
    };
    if (Object.keys(l.counters).length) ctx.emit({ kind: 'nic.counters', at, source: input.path, data: snap });
    ctx.emit({
      kind: 'net.link',
      at,
      source: input.path,
      data: linkOf(snap, { mtu: l.mtu, operState: l.operState, parent: l.parent, tunnel: l.tunnel, carrierChanges: l.counters.carrier_changes, master: l.master }),
    });
  }
}

export const ipLinkStatsFile: FileCollector = {
  type: 'ip-link-stats',
  description: '`ip -s -s link` text or `ip -j [-d] -s [-s] link` JSON (interface counters and link state)',
  sniff(input) {
    const b = input.body.trimStart();
    if (b.startsWith('[')) return /"ifname"\s*:/.test(b) && /"stats(64)?"\s*:/.test(b) ? 0.9 : 0;
    return /^\d+:\s+\S+:\s+<[^>]*>.*\bmtu\b/.test(b) && /^\s+RX:?\s/m.test(b) ? 0.9 : 0;
  },
  async read(input, ctx) {
    const text = await readAll(input);
    let res: { links: IpLinkEntry[]; skipped: string[] };
    try {
      res = text.trimStart().startsWith('[') ? parseIpLinkJson(text) : parseIpLinkText(text);
    } catch (e) {
      parseError(input, e);
    }
    emitIpLinks(res.links, input, ctx);
    const warnings = res.skipped.length ? [`${res.skipped.length} line(s)/entries not understood, e.g. ${JSON.stringify(res.skipped[0])}`] : undefined;
    return { records: res.links.length, skipped: res.skipped.length, warnings };
  },
};

export const sysfsDumpFile: FileCollector = {
  type: 'sysfs-net-dump',
  description: `a dump of /sys/class/net/<if>/statistics: netdiag's ("# command: ${SYSFS_DUMP_COMMAND}", "<if>/statistics/<counter> <value>"), grep -r/-H ("…/net/<if>/statistics/<counter>:<value>"), head ("==> path <==") or one interface's "<counter>:<value>"`,
  sniff(input) {
    if (input.header.command === SYSFS_DUMP_COMMAND) return 1;
    const { named, bare, other } = sysfsStatLines(input.body);
    if (named >= 1 && named * 4 >= other) return 0.8;
    if (bare >= 5 && bare >= other) return 0.6;
    return 0;
  },
  async read(input, ctx) {
    const text = await readAll(input);
    const hint = sysfsInterfaceHint(input.header.command, input.path);
    const { interfaces, skipped } = parseSysfsDump(text, hint);
    if (interfaces.size === 0 && hint === undefined && sysfsStatLines(input.body).bare > 0) {
      throw new Error(
        'sysfs statistics without the interface in their paths, and neither a "# command:" line nor the file name names the interface: ' +
          'dump with the full path (grep -r . /sys/class/net/*/statistics/), add "# command: grep . /sys/class/net/<if>/statistics/*", or name the file after the interface',
      );
    }
    const at = input.collectedAt().getTime();
    for (const s of sysfsSnapshots(interfaces)) {
      ctx.emit({ kind: 'nic.counters', at, source: input.path, data: s.snapshot });
      ctx.emit({ kind: 'net.link', at, source: input.path, data: linkOf(s.snapshot, { mtu: s.mtu, operState: s.operState, carrierChanges: s.carrierChanges }) });
    }
    const warnings = skipped.length ? [`${skipped.length} line(s) not read as "<if>/<attribute> <value>" (or a grep/head dump of /sys/class/net), e.g. ${JSON.stringify(skipped[0])}`] : undefined;
    return { records: interfaces.size, skipped: skipped.length, warnings };
  },
};

// ------------------------------------------------------------------ live collector

const regex = z.string().refine((r) => {
  try {
    new RegExp(r);
    return true;
  } catch {
    return false;
  }
}, 'not a valid regular expression');

export const nicConfigSchema = z
  .object({
    /** Seconds between polls. */
    intervalSeconds: z.number().positive().default(15),
    /** Interfaces to read (regular expression on the name). */
    include: regex.default('.*'),
    /** Interfaces to skip (regular expression on the name). */
    exclude: regex.default('^lo$'),
    /** Interface classes whose counters are kept as observations (CRC logic still runs only on NICs and bond members). */
    counterClasses: z.array(z.enum(['physical', 'bond', 'bond_member', 'vlan', 'bridge', 'ovs_internal', 'tunnel', 'veth', 'tap', 'loopback', 'other'])).default(['physical', 'bond_member', 'bond']),
    /** Run `ethtool -S` on physical NICs and bond members. */
    ethtool: z.boolean().default(true),
    /** Also run `ip -j -d -s -s link` (sysfs already has the same kernel counters). */
    ipLink: z.boolean().default(false),
    /** Timeout per external command, ms. */
    commandTimeoutMs: z.number().int().positive().default(5000),
  })
  .strict();

export type NicConfig = z.infer<typeof nicConfigSchema>;

export const nicMetrics: readonly MetricSpec[] = [
  {
    name: 'netdiag_nic_errors_total',
    help: 'Receive/transmit errors counted by a physical NIC or bond member since netdiag started watching it (increases only: driver resets and counter wraps are absorbed). counter = canonical counter name (crc_errors, alignment_errors, symbol_errors, length_errors, frame_errors, rx_missed, rx_errors, tx_errors, rx_dropped).',
    type: 'counter',
    labelNames: ['host', 'interface', 'counter'],
  },
  { name: 'netdiag_nic_receive_packets_total', help: 'Packets received by a physical NIC or bond member since netdiag started watching it.', type: 'counter', labelNames: ['host', 'interface'] },
  { name: 'netdiag_nic_carrier_changes_total', help: 'Carrier (link up/down) transitions of a physical NIC or bond member since netdiag started watching it.', type: 'counter', labelNames: ['host', 'interface'] },
  { name: 'netdiag_nic_counter_resets_total', help: 'Times a NIC counter went backwards (driver reload, device reset) and was re-based.', type: 'counter', labelNames: ['host', 'interface'] },
  { name: 'netdiag_nic_poll_errors_total', help: 'NIC counter reads that failed, by source (sysfs, ethtool, ip-link).', type: 'counter', labelNames: ['host', 'source'] },
];

/** The live collector. State (last exported samples) lives in the instance, not in a global. */
export function createNicCollector(): LiveCollector<NicConfig> {
  const exported = new CounterIncreaseExport();
  const exportIncrease = (ctx: LiveContext, metric: string, labels: Record<string, string>, key: string, source: string, value: number, at: number) =>
    exported.inc(ctx.metrics, metric, labels, key, source, value, at);

  function publish(ctx: LiveContext, sysfs: NicCounterSnapshot, ethtool: NicCounterSnapshot | undefined, at: number): void {
    const host = ctx.host;
    const iface = sysfs.interface;
    const pick = (c: CanonicalCounter): [string, number] | undefined => {
      const e = ethtool?.counters[c];
      if (e !== undefined) return ['ethtool', e];
      const s = sysfs.counters[c];
      return s !== undefined ? ['sysfs', s] : undefined;
    };
    for (const c of ERROR_COUNTERS) {
      const p = pick(c);
      if (p) exportIncrease(ctx, 'netdiag_nic_errors_total', { host, interface: iface, counter: c }, `${iface}\0${c}`, p[0], p[1], at);
    }
    const rx = pick('rx_packets');
    if (rx) exportIncrease(ctx, 'netdiag_nic_receive_packets_total', { host, interface: iface }, `${iface}\0rx_packets`, rx[0], rx[1], at);
    const cc = sysfs.counters.carrier_changes;
    if (cc !== undefined) exportIncrease(ctx, 'netdiag_nic_carrier_changes_total', { host, interface: iface }, `${iface}\0carrier_changes`, 'sysfs', cc, at);
  }

  return {
    name: 'nic',
    description: 'NIC counters from sysfs, ethtool -S (per driver) and ip -s -s link',
    schema: nicConfigSchema,
    enabledByDefault: true,
    interval: (cfg) => cfg.intervalSeconds,
    metrics: nicMetrics,
    async poll(ctx, cfg, signal): Promise<ReadStats> {
      const include = new RegExp(cfg.include);
      const exclude = new RegExp(cfg.exclude);
      const wanted = (n: string) => include.test(n) && !exclude.test(n);
      const at = ctx.now();
      const warnings: string[] = [];
      let records = 0;
      let tree;
      try {
        tree = await readSysfsTree(ctx.roots.sys, wanted);
      } catch (e) {
        ctx.metrics.inc('netdiag_nic_poll_errors_total', { host: ctx.host, source: 'sysfs' });
        throw new NetdiagError('E_INPUT_READ', `NIC counters: ${(e as Error).message}`, { remedy: 'is roots.sys the sysfs mount (/sys)?' });
      }
      warnings.push(...tree.warnings);
      const source = `${ctx.roots.sys}/class/net`;
      for (const s of sysfsSnapshots(tree.interfaces)) {
        if (signal.aborted) break;
        const snap = s.snapshot;
        ctx.emit({ kind: 'net.link', host: ctx.host, at, source, data: linkOf(snap, { mtu: s.mtu, operState: s.operState, carrierChanges: s.carrierChanges }) });
        if (!cfg.counterClasses.includes(snap.class)) continue;
        ctx.emit({ kind: 'nic.counters', host: ctx.host, at, source: `${source}/${snap.interface}/statistics`, data: snap });
        records++;
        let eth: NicCounterSnapshot | undefined;
        if (cfg.ethtool && crcRelevant(snap.class)) {
          try {
            const r = await ctx.exec('ethtool', ['-S', snap.interface], { timeoutMs: cfg.commandTimeoutMs, maxBytes: 4 << 20 });
            const parsed = parseEthtoolStats(r.stdout);
            if (parsed.stats.size) {
              eth = ethtoolSnapshot(snap.interface, parsed, snap.driver);
              eth.class = snap.class;
              eth.bond = snap.bond;
              ctx.emit({ kind: 'nic.counters', host: ctx.host, at, source: `ethtool -S ${snap.interface}`, data: eth });
              records++;
            }
          } catch (e) {
            ctx.metrics.inc('netdiag_nic_poll_errors_total', { host: ctx.host, source: 'ethtool' });
            warnings.push(`ethtool -S ${snap.interface}: ${(e as Error).message}`);
          }
        }
        if (crcRelevant(snap.class)) publish(ctx, snap, eth, at);
      }
      if (cfg.ipLink) {
        try {
          const r = await ctx.exec('ip', ['-j', '-d', '-s', '-s', 'link', 'show'], { timeoutMs: cfg.commandTimeoutMs });
          for (const l of parseIpLinkJson(r.stdout).links) {
            if (!wanted(l.interface)) continue;
            ctx.emit({
              kind: 'nic.counters',
              host: ctx.host,
              at,
              source: 'ip -j -d -s -s link show',
              data: { interface: l.interface, class: l.class, bond: l.class === 'bond_member' ? l.master : undefined, source: 'ip-link', counters: l.counters, counterSources: l.counterSources, bits: 64 },
            });
            records++;
          }
        } catch (e) {
          ctx.metrics.inc('netdiag_nic_poll_errors_total', { host: ctx.host, source: 'ip-link' });
          warnings.push(`ip -j -s -s link: ${(e as Error).message}`);
        }
      }
      return { records, warnings: warnings.length ? warnings : undefined };
    },
  };
}

export const nicLiveCollector = createNicCollector();
