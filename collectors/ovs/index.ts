/**
 * Open vSwitch: flow tables, port maps and the OVSDB inventory, polled live on a hypervisor or
 * read from a bundle. One parser per output form (parse.ts), shared by both paths.
 */
import { z } from 'zod';
import { describeError } from '../../core/errors.js';
import type { Exec, ExecOptions } from '../../core/exec.js';
import { forEachLine, type InputFile } from '../../core/input.js';
import type { OvsBridgeInfo, OvsInterfaceInfo } from '../../core/kinds.js';
import type { AnyObservation } from '../../core/observation.js';
import type { FileCollector, LiveCollector, LiveContext, MetricSpec, ParseContext, ReadStats } from '../../core/plugin.js';
import './model.js';
import type { NicCounterSnapshot } from '../nic/types.js';
import { DpdkCounterExport, ovsdbNicSnapshot } from './nic-stats.js';
import {
  bridgeFromCommand,
  bridgeFromFileName,
  bridgeRow,
  type DumpFlowsResult,
  type FlowEntry,
  interfaceRow,
  isOfctlShow,
  isVsctlShow,
  markIncomplete,
  type OvsdbBridgeRow,
  type OvsdbInterfaceRow,
  type OvsdbList,
  type OvsdbPortRow,
  parseDumpFlows,
  parseDumpFlowsLine,
  parseOfctlShow,
  parseOvsdbList,
  parseOvsdbListText,
  parseVsctlShow,
  portRow,
} from './parse.js';

const FLOW_LINE = /^\s*cookie=0x[0-9a-f]+, (?:duration=[\d.]+s, )?table=\d+, /m;
const NO_STATS_FLOW_LINE = /^\s*(?:table=\d+, )?priority=\d+\S* actions=\S/m;
const REPLY = /^(?:NXST_FLOW|OFPST_FLOW) reply\b/m;
/** `ovs-appctl bridge/dump-flows BRIDGE`: no cookie, `table_id=` (absent for table 0), `,actions=`. */
const APPCTL_FLOW_LINE = /^(?:table_id=\d+, )?duration=[\d.]+s, n_packets=\d+, n_bytes=\d+, (?:n_offload_packets=\d+, n_offload_bytes=\d+, )?\S*actions=/m;

function protocolOf(command: string | undefined, dumped?: string): string | undefined {
  if (dumped) return dumped;
  const m = /(?:-O\s*|--protocols[= ])(OpenFlow1\d)/.exec(command ?? '');
  return m?.[1];
}

function bridgeOf(input: Pick<InputFile, 'path' | 'header'>): string | undefined {
  return bridgeFromCommand(input.header.command) ?? bridgeFromFileName(input.path);
}

export const dumpFlowsFile: FileCollector = {
  type: 'ovs-dump-flows',
  description: '`ovs-ofctl dump-flows BRIDGE` output (OpenFlow 1.0/1.3, with or without --names, reply header, # command: header) and `ovs-appctl bridge/dump-flows BRIDGE`',
  sniff(input) {
    if (/\bovs-(?:ofctl\b.*\bdump-flows|appctl\b.*\bbridge\/dump-flows)\b/.test(input.header.command ?? '')) return 0.95;
    if (FLOW_LINE.test(input.body)) return 0.9;
    if (REPLY.test(input.body)) return 0.85;
    if (APPCTL_FLOW_LINE.test(input.body)) return 0.85;
    if (NO_STATS_FLOW_LINE.test(input.body)) return 0.6;
    return 0;
  },
  async read(input, ctx) {
    const res: Omit<DumpFlowsResult, 'flows'> = { skipped: [], skippedLines: 0, errors: [], names: false };
    const flows: FlowEntry[] = [];
    let skipped = 0;
    await forEachLine(input.open(), (line, lineNo, truncated) => {
      if (truncated) {
        skipped++;
        return;
      }
      const f = parseDumpFlowsLine(line, lineNo, res);
      if (f) flows.push(f);
    });
    markIncomplete(res, flows.length);
    skipped += res.skippedLines + (res.undecodedLines ?? 0);
    const warnings: string[] = [];
    let bridge = bridgeOf(input);
    if (!bridge) {
      bridge = 'unknown';
      warnings.push(`${input.path}: no bridge in a "# command:" header or the file name; flows reported under bridge "unknown"`);
    }
    for (const s of res.skipped.slice(0, 5)) warnings.push(`${input.path}:${s.line}: not a flow entry, kept out: ${s.text}`);
    const source = input.header.command ? `${input.path} (${input.header.command})` : input.path;
    if (flows.length === 0 && res.errors.length > 0) {
      const error = res.incomplete ?? res.errors.join(' | ');
      ctx.emit({ kind: 'ovs.poll_failure', host: input.host, at: input.collectedAt().getTime(), source, data: { bridge, command: 'dump-flows', error } });
      warnings.push(`${input.path}: the capture holds no flows, only errors: ${error}`);
      return { records: 0, skipped, warnings };
    }
    ctx.emit({
      kind: 'ovs.flows',
      host: input.host,
      at: input.collectedAt().getTime(),
      source,
      data: { bridge, flows, protocol: protocolOf(input.header.command, res.protocol), names: res.names },
    });
    if (res.incomplete) {
      // What was read is checked; the rest of the table is a blind spot the report must show.
      ctx.emit({ kind: 'ovs.poll_failure', host: input.host, at: input.collectedAt().getTime(), source, data: { bridge, command: 'dump-flows', error: res.incomplete, partial: true } });
      warnings.push(`${input.path}: incomplete dump, ${flows.length} flow(s) read: ${res.incomplete}${res.undecodedLines ? ` (${res.undecodedLines} hex-dump lines not decodable)` : ''}`);
    }
    return { records: flows.length, skipped, ...(warnings.length ? { warnings } : {}) };
  },
};

export const ofctlShowFile: FileCollector = {
  type: 'ovs-ofctl-show',
  description: '`ovs-ofctl show BRIDGE` output (the OpenFlow port map)',
  sniff(input) {
    if (/\bovs-ofctl\b.*\bshow\b/.test(input.header.command ?? '')) return 0.95;
    return isOfctlShow(input.body) ? 0.9 : 0;
  },
  async read(input, ctx) {
    const text = (await readAll(input)).slice(input.header.length);
    const show = parseOfctlShow(text);
    // The LOCAL port carries the bridge's own name.
    const bridge = bridgeFromCommand(input.header.command) ?? show.ports.find((p) => p.ofport === 65534)?.name ?? bridgeFromFileName(input.path);
    if (!bridge) throw new Error(`${input.path}: ovs-ofctl show output without a LOCAL port, "# command:" header or bridge file name`);
    ctx.emit({ kind: 'ovs.portmap', host: input.host, at: input.collectedAt().getTime(), source: input.path, data: { bridge, ports: show.ports } });
    return { records: show.ports.length };
  },
};

export const listBrFile: FileCollector = {
  type: 'ovs-vsctl-list-br',
  description: '`ovs-vsctl list-br` output (bridge names; recognised by its "# command:" header only, plain names are too ambiguous)',
  sniff(input) {
    return /\bovs-vsctl\b.*\blist-br\b/.test(input.header.command ?? '') ? 0.95 : 0;
  },
  async read(input, ctx) {
    const text = (await readAll(input)).slice(input.header.length);
    const at = input.collectedAt().getTime();
    let records = 0;
    const bad: string[] = [];
    for (const line of text.split('\n')) {
      const name = line.trim();
      if (name === '') continue;
      if (!/^[^\s"',]+$/.test(name)) {
        bad.push(name.slice(0, 80));
        continue;
      }
      ctx.emit({ kind: 'ovs.bridge', host: input.host, at, source: input.path, data: { name, otherConfig: {}, externalIds: {}, ports: [] } });
      records++;
    }
    return { records, ...(bad.length ? { skipped: bad.length, warnings: bad.slice(0, 5).map((b) => `${input.path}: not a bridge name, kept out: ${b}`) } : {}) };
  },
};

export const vsctlShowFile: FileCollector = {
  type: 'ovs-vsctl-show',
  description: '`ovs-vsctl show` output (bridges, ports, tunnel options and interface errors)',
  sniff(input) {
    if (/\bovs-vsctl\b.*\bshow\b/.test(input.header.command ?? '')) return 0.95;
    return isVsctlShow(input.body) ? 0.9 : 0;
  },
  async read(input, ctx) {
    const text = (await readAll(input)).slice(input.header.length);
    const show = parseVsctlShow(text);
    const at = input.collectedAt().getTime();
    for (const b of show.bridges) {
      const data: OvsBridgeInfo = { name: b.name, otherConfig: {}, externalIds: {}, ports: b.ports };
      if (b.datapathType) data.datapathType = b.datapathType;
      ctx.emit({ kind: 'ovs.bridge', host: input.host, at, source: input.path, data });
    }
    for (const i of show.interfaces) {
      const data: OvsInterfaceInfo = { name: i.name, bridge: i.bridge, type: i.type, options: i.options, externalIds: {} };
      if (i.error) data.error = i.error;
      ctx.emit({ kind: 'ovs.interface', host: input.host, at, source: input.path, data });
    }
    return { records: show.bridges.length + show.interfaces.length };
  },
};

/** Emit the rows of one OVSDB listing (JSON or list format) as observations. */
function emitListing(input: InputFile, list: OvsdbList, ctx: ParseContext): ReadStats {
  const at = input.collectedAt().getTime();
  if (list.table === 'unknown' || list.table === 'Open_vSwitch') return { records: 0, warnings: [`${input.path}: OVSDB table ${list.table} is not used by netdiag`] };
  const emitted = emitOvsdb(
    list.table === 'Interface' ? list.rows.map(interfaceRow) : [],
    list.table === 'Bridge' ? list.rows.map(bridgeRow) : [],
    list.table === 'Port' ? list.rows.map(portRow) : [],
    (o) => ctx.emit({ ...o, host: input.host, at, source: input.path } as AnyObservation),
  );
  return { records: emitted };
}

export const vsctlJsonFile: FileCollector = {
  type: 'ovs-vsctl-json',
  description: '`ovs-vsctl --format=json list Interface|Bridge|Port` output',
  sniff(input) {
    const b = input.body.trimStart();
    if (/^\{"data":\[/.test(b) && (/"headings":\[/.test(b) || /^\{"data":\[\[\["uuid","/.test(b))) return 0.9;
    return 0;
  },
  async read(input, ctx) {
    const text = (await readAll(input)).slice(input.header.length);
    let list;
    try {
      list = parseOvsdbList(text);
    } catch (e) {
      throw new Error(`${input.path}: ${(e as Error).message}`);
    }
    return emitListing(input, list, ctx);
  },
};

export const vsctlListFile: FileCollector = {
  type: 'ovs-vsctl-list',
  description: '`ovs-vsctl list Interface|Bridge|Port` in the default list format (as sosreport saves it)',
  sniff(input) {
    return /^_uuid\s*: [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\s*$/m.test(input.body.trimStart().split('\n', 1)[0] ?? '') ? 0.9 : 0;
  },
  async read(input, ctx) {
    const text = (await readAll(input)).slice(input.header.length);
    let list;
    try {
      list = parseOvsdbListText(text);
    } catch (e) {
      throw new Error(`${input.path}: ${(e as Error).message}`);
    }
    return emitListing(input, list, ctx);
  },
};

async function readAll(input: InputFile): Promise<string> {
  if (!input.gzip && input.size <= input.head.length) return input.head.toString('utf8');
  const chunks: Buffer[] = [];
  for await (const c of input.open() as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

type Partial1 = Pick<AnyObservation, 'kind' | 'data'>;

/**
 * Turn OVSDB rows into observations. With all three tables (the live poll) interfaces get their
 * bridge and bridges their port names here; rows read from separate files are joined later through
 * `ovs.dbref` (model.ts `ovsInventory`).
 */
export function emitOvsdb(ifaces: OvsdbInterfaceRow[], bridges: OvsdbBridgeRow[], ports: OvsdbPortRow[], emit: (o: Partial1) => void): number {
  const portByUuid = new Map(ports.map((p) => [p.uuid, p]));
  const ifaceBridge = new Map<string, string>();
  let n = 0;
  for (const b of bridges) {
    const portNames: string[] = [];
    for (const pu of b.portUuids) {
      const p = portByUuid.get(pu);
      if (!p) continue;
      portNames.push(p.name);
      for (const iu of p.interfaceUuids) ifaceBridge.set(iu, b.name);
    }
    const data: OvsBridgeInfo = { name: b.name, otherConfig: b.otherConfig, externalIds: b.externalIds, ports: portNames };
    if (b.datapathType) data.datapathType = b.datapathType;
    emit({ kind: 'ovs.bridge', data });
    emit({ kind: 'ovs.dbref', data: { table: 'Bridge', uuid: b.uuid, name: b.name, refs: b.portUuids } });
    n++;
  }
  for (const p of ports) {
    emit({ kind: 'ovs.dbref', data: { table: 'Port', uuid: p.uuid, name: p.name, refs: p.interfaceUuids } });
    n++;
  }
  for (const i of ifaces) {
    const { uuid, ...rest } = i;
    const data: OvsInterfaceInfo = { ...rest };
    const br = ifaceBridge.get(uuid);
    if (br) data.bridge = br;
    emit({ kind: 'ovs.interface', data });
    emit({ kind: 'ovs.dbref', data: { table: 'Interface', uuid, name: i.name, refs: [] } });
    // A DPDK port's counters exist only here; a NIC's repeat the kernel's (the analyzer prefers those).
    const nic = ovsdbNicSnapshot(data);
    if (nic) emit({ kind: 'nic.counters', data: nic });
    n++;
  }
  return n;
}

// ---- live ---------------------------------------------------------------------------------------

export const ovsConfigSchema = z
  .object({
    /** Seconds between polls. */
    intervalSeconds: z.number().positive().default(30),
    /** Timeout of each ovs-vsctl / ovs-ofctl command, seconds. */
    timeoutSeconds: z.number().positive().default(10),
    vsctlPath: z.string().default('ovs-vsctl'),
    ofctlPath: z.string().default('ovs-ofctl'),
    /** OVS_RUNDIR for the commands (bridge management sockets, default db.sock); unset = the system's. */
    rundir: z.string().optional(),
    /** OVSDB remote for ovs-vsctl (`unix:/path/db.sock`); default: OVS's own default. */
    db: z.string().optional(),
    /** Poll only these bridges (default: every bridge `ovs-vsctl list-br` returns). */
    bridges: z.array(z.string()).optional(),
    /** Largest dump-flows output read, bytes (a 200k-flow table is about 30 MB). */
    maxOutputBytes: z.number().int().positive().default(256 * 1024 * 1024),
  })
  .strict();

export type OvsConfig = z.infer<typeof ovsConfigSchema>;

export const ovsMetrics: readonly MetricSpec[] = [
  { name: 'netdiag_ovs_polls_total', help: 'OVS polls run', type: 'counter', labelNames: ['host'] },
  { name: 'netdiag_ovs_poll_failures_total', help: 'OVS commands that failed during a poll, by bridge and command', type: 'counter', labelNames: ['host', 'bridge', 'command'] },
  { name: 'netdiag_ovs_flow_entries', help: 'OpenFlow entries in the last dump of each bridge', type: 'gauge', labelNames: ['host', 'bridge'] },
  { name: 'netdiag_ovs_poll_duration_seconds', help: 'Wall time of the last OVS poll', type: 'gauge', labelNames: ['host'] },
];

/** Why a first dump-flows attempt should be retried with OpenFlow 1.3. */
const NEEDS_OF13 = /version negotiation failed|OFPBRC_BAD_VERSION|peer supports version 0x0[4-6]|parse error in reply|bad instructions|OFPBAC_UNSUPPORTED_ORDER|decode error/i;

/** The protocol to ask a bridge in first: one restricted to OpenFlow 1.1+ refuses 1.0. */
export function firstProtocol(row: OvsdbBridgeRow | undefined): string | undefined {
  if (!row || row.protocols.length === 0 || row.protocols.includes('OpenFlow10')) return undefined;
  return row.protocols.includes('OpenFlow13') ? 'OpenFlow13' : row.protocols[row.protocols.length - 1];
}

/**
 * `ovs-ofctl dump-flows BRIDGE`, asking again in OpenFlow 1.3 when 1.0 is refused or cannot print
 * the table (a decode error: 1.0 has no words for 1.1+ instructions). Throws when no dump came;
 * an incomplete one is returned with `result.incomplete` set. Shared by the poll and `netdiag collect`.
 */
export async function dumpFlows(exec: Exec, cfg: OvsConfig, base: ExecOptions, br: string, proto?: string): Promise<{ stdout: string; result: DumpFlowsResult; proto?: string; warnings: string[] }> {
  const warnings: string[] = [];
  const opts = { ...base, maxBytes: cfg.maxOutputBytes };
  const run = (p?: string) => exec(cfg.ofctlPath, [...(p ? ['-O', p] : []), 'dump-flows', br], opts);
  let r;
  try {
    r = await run(proto);
  } catch (e) {
    if (proto || !NEEDS_OF13.test(describeError(e))) throw e;
    proto = 'OpenFlow13';
    r = await run(proto);
  }
  if (r.truncated) throw new Error(`dump-flows output exceeded maxOutputBytes=${cfg.maxOutputBytes}`);
  let stdout = r.stdout;
  let result = parseDumpFlows(stdout);
  if (result.incomplete && !proto) {
    // OpenFlow 1.0 cannot print an OpenFlow 1.1+ instruction list: ovs-ofctl exits 0 but stops
    // at "***decode error***". Ask again in 1.3, which prints every flow; if that fails too,
    // keep what 1.0 printed (reported as incomplete by the caller).
    try {
      const r13 = await run('OpenFlow13');
      const d13 = r13.truncated ? undefined : parseDumpFlows(r13.stdout);
      if (d13 && (!d13.incomplete || d13.flows.length > result.flows.length)) {
        result = d13;
        stdout = r13.stdout;
        proto = 'OpenFlow13';
      }
    } catch (e) {
      warnings.push(`${br}: dump-flows -O OpenFlow13 after a decode error: ${describeError(e)}`);
    }
  }
  return { stdout, result, ...(proto ? { proto } : {}), warnings };
}

export async function pollOvs(ctx: LiveContext, cfg: OvsConfig, signal?: AbortSignal, dpdk = new DpdkCounterExport()): Promise<ReadStats> {
  const started = ctx.now();
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (cfg.rundir) env.OVS_RUNDIR = cfg.rundir;
  const base: ExecOptions = { timeoutMs: cfg.timeoutSeconds * 1000, env };
  const vsctlArgs = (args: string[]) => [...(cfg.db ? [`--db=${cfg.db}`] : []), `--timeout=${Math.ceil(cfg.timeoutSeconds)}`, ...args];
  const warnings: string[] = [];
  let records = 0;
  const emit = (o: Pick<AnyObservation, 'kind' | 'data'>, source: string) => {
    ctx.emit({ ...o, host: ctx.host, at: ctx.now(), source } as AnyObservation);
  };
  const fail = (command: string, bridge: string | undefined, e: unknown, partial = false) => {
    const error = describeError(e);
    warnings.push(`${bridge ? `${bridge}: ` : ''}${command}${partial ? ' (incomplete)' : ''}: ${error}`);
    ctx.metrics.inc('netdiag_ovs_poll_failures_total', { host: ctx.host, bridge: bridge ?? '', command });
    emit({ kind: 'ovs.poll_failure', data: { ...(bridge ? { bridge } : {}), command, error, ...(partial ? { partial } : {}) } }, `${command}${bridge ? ` ${bridge}` : ''}`);
  };
  ctx.metrics.inc('netdiag_ovs_polls_total', { host: ctx.host });

  // OVSDB: Bridge, Port, Interface in one go each; one failing table does not stop the rest.
  const tables: Record<string, Record<string, unknown>[]> = {};
  for (const t of ['Bridge', 'Port', 'Interface']) {
    if (signal?.aborted) break;
    try {
      const r = await ctx.exec(cfg.vsctlPath, vsctlArgs(['--format=json', 'list', t]), base);
      tables[t] = parseOvsdbList(r.stdout).rows;
    } catch (e) {
      fail(`list ${t}`, undefined, e);
    }
  }
  const bridgeRows = (tables.Bridge ?? []).map(bridgeRow);
  const ifaceRows = (tables.Interface ?? []).map(interfaceRow);
  const dpdkPorts = new Set(ifaceRows.filter((i) => i.type === 'dpdk').map((i) => i.name));
  records += emitOvsdb(ifaceRows, bridgeRows, (tables.Port ?? []).map(portRow), (o) => {
    emit(o, `${cfg.vsctlPath} --format=json list`);
    if (o.kind !== 'nic.counters') return;
    const snap = o.data as NicCounterSnapshot;
    if (dpdkPorts.has(snap.interface)) dpdk.publish(ctx.metrics, ctx.host, snap, ctx.now());
  });

  let bridges: string[];
  try {
    const r = await ctx.exec(cfg.vsctlPath, vsctlArgs(['list-br']), base);
    bridges = r.stdout.split('\n').map((s) => s.trim()).filter(Boolean);
  } catch (e) {
    fail('list-br', undefined, e);
    bridges = bridgeRows.map((b) => b.name);
  }
  if (cfg.bridges) bridges = bridges.filter((b) => cfg.bridges!.includes(b));

  for (const br of bridges) {
    if (signal?.aborted) break;
    const row = bridgeRows.find((b) => b.name === br);
    // Bridges restricted to OpenFlow 1.1+ refuse 1.0: ask with -O straight away, or retry.
    let proto = firstProtocol(row);
    const ofctl = (args: string[], opts: ExecOptions = base) => ctx.exec(cfg.ofctlPath, [...(proto ? ['-O', proto] : []), ...args], opts);
    try {
      const dumped = await dumpFlows(ctx.exec, cfg, base, br, proto);
      const d = dumped.result;
      proto = dumped.proto;
      warnings.push(...dumped.warnings);
      for (const s of d.skipped.slice(0, 3)) warnings.push(`${br}: dump-flows line ${s.line} not understood: ${s.text}`);
      emit({ kind: 'ovs.flows', data: { bridge: br, flows: d.flows, protocol: d.protocol ?? proto, names: d.names } }, `${cfg.ofctlPath}${proto ? ` -O ${proto}` : ''} dump-flows ${br}`);
      ctx.metrics.set('netdiag_ovs_flow_entries', { host: ctx.host, bridge: br }, d.flows.length);
      records += d.flows.length;
      if (d.incomplete) fail('dump-flows', br, d.incomplete, true);
    } catch (e) {
      fail('dump-flows', br, e);
    }
    try {
      const r = await ofctl(['show', br]);
      const show = parseOfctlShow(r.stdout);
      emit({ kind: 'ovs.portmap', data: { bridge: br, ports: show.ports } }, `${cfg.ofctlPath} show ${br}`);
      records += show.ports.length;
    } catch (e) {
      fail('show', br, e);
    }
  }
  ctx.metrics.set('netdiag_ovs_poll_duration_seconds', { host: ctx.host }, (ctx.now() - started) / 1000);
  return { records, ...(warnings.length ? { warnings } : {}) };
}

/** Increases of DPDK ports' counters between polls (the collector's only state). */
const dpdkExport = new DpdkCounterExport();

export const ovsLiveCollector: LiveCollector<OvsConfig> = {
  name: 'ovs',
  description: 'polls every OVS bridge: ovs-ofctl dump-flows and show, and the OVSDB Bridge/Port/Interface tables',
  schema: ovsConfigSchema,
  enabledByDefault: true,
  interval: (cfg) => cfg.intervalSeconds,
  poll: (ctx, cfg, signal) => pollOvs(ctx, cfg, signal, dpdkExport),
  metrics: ovsMetrics,
  // A flow table can hold 200k entries; rates need only the last two dumps of each bridge.
  retainLatest: [
    { kind: 'ovs.flows', keep: 2, groupBy: (o) => `${o.host ?? ''}\u0000${(o.data as { bridge: string }).bridge}` },
    { kind: 'ovs.portmap', keep: 2, groupBy: (o) => `${o.host ?? ''}\u0000${(o.data as { bridge: string }).bridge}` },
  ],
};

export const ovsFileCollectors: readonly FileCollector[] = [dumpFlowsFile, ofctlShowFile, vsctlShowFile, vsctlJsonFile, vsctlListFile, listBrFile];

/** Read a captured file directly (tests, tools): the same path `diagnose` takes. */
export async function readCaptured(path: string, collector: FileCollector, ctx: ParseContext, host?: string): Promise<ReadStats> {
  const { openInput } = await import('../../core/input.js');
  return collector.read(await openInput(path, host), ctx);
}
