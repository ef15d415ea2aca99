/**
 * Pure parsing of CloudStack management-server and agent logs (every 4.x layout) into records,
 * and of records into observations. No I/O here: the file collector (batch and fast path) and
 * the live follower in `serve` all feed lines into the same `RecordAssembler` and call the same
 * `observationsFromRecord`, so they agree by construction.
 *
 * Timestamps: log4j `%d{ISO8601}` has no zone. We treat it as UTC (the appliance cannot know the
 * management server's zone); only differences between times matter to the analyzers.
 * syslog/journald short timestamps have no year: the caller passes `syslogYear`.
 */
import { redact } from '../../core/errors.js';
import type { AnyObservation } from '../../core/observation.js';

export interface LogRecord {
  at?: number;
  level?: string;
  category?: string;
  thread?: string;
  ndc: string[];
  jobs: string[];
  logid?: string;
  message: string;
  continuation: string[];
  layout: string;
  /** Line number of the first line (1-based); 0 when unknown (the fast scan of a huge file). */
  lineNo: number;
  /** Byte offset of the first line in the (decompressed) file, when the reader knows it. */
  offset?: number;
  /** The first line verbatim (cut to MAX_KEPT_LINE), for evidence. */
  raw?: string;
}

// ---------------------------------------------------------------------------------------------
// Line classification

const TS = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:[,.](\d{1,3}))?\s+/;
/** `LEVEL [category] (thread:ndc) (logid:x)? message`; padding may be lost (one space). */
const LOG4J = /^(TRACE|DEBUG|INFO|WARN|ERROR|FATAL)\s+\[([^\]]*)\]\s+\(([^()]*)\)(?:\s+\(logid:([^()]*)\))?\s?(.*)$/s;
/** ovstunnel.py / cloudstack_pluginlib: `%(asctime)s - %(message)s`. */
const OVSTUNNEL = /^- (.*)$/s;
const MONTHS: Record<string, number> = { Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 };
/** syslog / journalctl short: `Sep 03 01:12:08 host java[2720]: payload` (also `cloudstack-management[..]`). */
const SYSLOG = /^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\S+) ([\w.@/-]+)(?:\[(\d+)\])?: ?(.*)$/s;
/** journalctl -o short-iso: `2023-09-03T01:12:08+0000 host java[2720]: payload`. */
const SYSLOG_ISO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}) (\S+) ([\w.@/-]+)(?:\[(\d+)\])?: ?(.*)$/s;

export interface LineHead {
  at?: number;
  level?: string;
  category?: string;
  thread?: string;
  ndcRaw?: string;
  logid?: string;
  message: string;
  layout: string;
}

// Consecutive lines share their day: Date.UTC once per day, the time of day by arithmetic (the
// same value Date.UTC gives, out-of-range fields rolling over alike).
let lastDayKey = -1;
let lastDayMs = 0;
function tsFrom(m: RegExpExecArray, i: number): number {
  const y = Number(m[i]);
  const mo = Number(m[i + 1]);
  const d = Number(m[i + 2]);
  const dayKey = y * 10000 + mo * 100 + d;
  if (dayKey !== lastDayKey) {
    lastDayMs = Date.UTC(y, mo - 1, d);
    lastDayKey = dayKey;
  }
  const frac = m[i + 6];
  const ms = frac ? Number(frac.length === 3 ? frac : frac.padEnd(3, '0')) : 0;
  return lastDayMs + Number(m[i + 3]) * 3_600_000 + Number(m[i + 4]) * 60_000 + Number(m[i + 5]) * 1000 + ms;
}

function log4jHead(rest: string, at: number | undefined, dated: boolean): LineHead | undefined {
  const m = LOG4J.exec(rest);
  if (!m) return undefined;
  const tn = m[3]!;
  const colon = tn.indexOf(':');
  const thread = colon === -1 ? tn : tn.slice(0, colon);
  const ndcRaw = colon === -1 ? '' : tn.slice(colon + 1);
  const hasLogid = m[4] !== undefined;
  let layout: string;
  if (!dated) layout = 'pasted';
  else if (ndcRaw.startsWith('[')) layout = 'log4j2';
  else if (hasLogid) layout = 'log4j1-logid';
  else layout = '4.0';
  return {
    at,
    level: m[1],
    category: m[2],
    thread: thread || undefined,
    ndcRaw,
    logid: m[4] || undefined,
    message: m[5] ?? '',
    layout,
  };
}

/**
 * Does this line start a new record? Returns its parsed head, or undefined for a continuation
 * (stack frame, `Caused by:`, `Stack:`, command output) or garbage.
 */
export function parseLineHead(line: string, syslogYear?: number): LineHead | undefined {
  const c = line.charCodeAt(0);
  if (c >= 48 && c <= 57) {
    const t = TS.exec(line);
    if (t) {
      const at = tsFrom(t, 1);
      const rest = line.slice(t[0].length);
      const h = log4jHead(rest, at, true);
      if (h) return h;
      const o = OVSTUNNEL.exec(rest);
      if (o) return { at, message: o[1]!, layout: 'ovstunnel' };
      return { at, message: rest, layout: 'unknown' };
    }
    const s = SYSLOG_ISO.exec(line);
    if (s) return syslogPayload(tsFrom(s, 1), s[10]!);
    return undefined;
  }
  if (c >= 65 && c <= 90) {
    // Pasted lines without their timestamp keep `LEVEL [category] (thread:ndc)`.
    const h = log4jHead(line, undefined, false);
    if (h) return h;
    const s = SYSLOG.exec(line);
    if (s) {
      const at = syslogYear === undefined ? undefined : Date.UTC(syslogYear, MONTHS[s[1]!]!, Number(s[2]), Number(s[3]), Number(s[4]), Number(s[5]));
      return syslogPayload(at, s[9]!);
    }
  }
  return undefined;
}

function syslogPayload(at: number | undefined, payload: string): LineHead | undefined {
  // The CONSOLE pattern has no date. Lines that are not a log4j head are continuations
  // (journald splits a stack trace into one entry per line, often without the tab).
  const h = log4jHead(payload, at, true);
  if (!h) return undefined;
  h.layout = 'syslog';
  return h;
}

/** For a syslog/journald line that is not a record start: its payload (a continuation). */
export function syslogContinuation(line: string): string | undefined {
  const c = line.charCodeAt(0);
  if (c >= 65 && c <= 90) {
    const s = SYSLOG.exec(line);
    if (s) return s[9]!;
  } else if (c >= 48 && c <= 57) {
    const s = SYSLOG_ISO.exec(line);
    if (s) return s[10]!;
  }
  return undefined;
}

/** Lines that are binary junk (NUL or many control characters): never attached to a record. */
export function isBinaryLine(line: string): boolean {
  if (line.indexOf('\u0000') !== -1) return true;
  let bad = 0;
  const n = Math.min(line.length, 256);
  for (let i = 0; i < n; i++) {
    const ch = line.charCodeAt(i);
    if ((ch < 32 && ch !== 9) || ch === 0xfffd) bad++;
  }
  return n > 0 && bad * 8 > n;
}

export function parseNdc(raw: string | undefined): string[] {
  if (!raw) return [];
  let s = raw.trim();
  if (s === 'null' || s === '' || s === '[]') return [];
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  return s.split(/[\s,]+/).filter((x) => x.length > 0 && x !== 'null');
}

export function jobsFromNdc(ndc: readonly string[]): string[] {
  const jobs: string[] = [];
  for (const e of ndc) {
    if (!e.startsWith('job-')) continue;
    for (const part of e.split('/')) {
      const m = /^job-(\d+)$/.exec(part);
      if (m && !jobs.includes(m[1]!)) jobs.push(m[1]!);
    }
  }
  return jobs;
}

// ---------------------------------------------------------------------------------------------
// Record assembly

/** Longest message or continuation line kept (characters); the rest is cut. */
export const MAX_KEPT_LINE = 4096;

export class RecordAssembler {
  private open: LogRecord | undefined;
  private readonly maxCont: number;
  private readonly syslogYear?: number;
  private _garbage = 0;
  private _dropped = 0;

  constructor(opts: { maxContinuationLines?: number; syslogYear?: number } = {}) {
    this.maxCont = opts.maxContinuationLines ?? 100;
    this.syslogYear = opts.syslogYear;
  }

  /** Lines that were neither a record start nor a continuation of one. */
  get garbageLines(): number {
    return this._garbage;
  }

  /** Continuation lines dropped because a record exceeded `maxContinuationLines`. */
  get droppedContinuationLines(): number {
    return this._dropped;
  }

  /** Feed one line (`offset`: its byte offset, when known); returns the record this line completed. */
  push(line: string, lineNo: number, offset?: number): LogRecord | undefined {
    if (line.length > 0 && line.charCodeAt(line.length - 1) === 13) line = line.slice(0, -1);
    const head = parseLineHead(line, this.syslogYear);
    if (head) {
      const done = this.open;
      const ndc = parseNdc(head.ndcRaw);
      this.open = {
        at: head.at,
        level: head.level,
        category: head.category,
        thread: head.thread,
        ndc,
        jobs: jobsFromNdc(ndc),
        logid: head.logid,
        message: cut(head.message),
        continuation: [],
        layout: head.layout,
        lineNo,
        ...(offset !== undefined ? { offset } : {}),
        raw: cut(line),
      };
      return done;
    }
    if (!this.open || isBinaryLine(line)) {
      if (line.trim().length > 0 || !this.open) this._garbage++;
      return undefined;
    }
    const payload = this.open.layout === 'syslog' ? syslogContinuation(line) ?? line : line;
    if (this.open.continuation.length < this.maxCont) this.open.continuation.push(cut(payload));
    else this._dropped++;
    return undefined;
  }

  flush(): LogRecord | undefined {
    const r = this.open;
    this.open = undefined;
    return r;
  }
}

function cut(s: string): string {
  return s.length > MAX_KEPT_LINE ? s.slice(0, MAX_KEPT_LINE) : s;
}

// ---------------------------------------------------------------------------------------------
// Observations

/** Why an NVP API call failed, from the exception message. */
export type NvpCause = 'auth' | 'not_found' | 'conflict' | 'server_error' | 'transport' | 'retry_exhausted' | 'other';
export const NVP_CAUSES: readonly NvpCause[] = ['auth', 'not_found', 'conflict', 'server_error', 'transport', 'retry_exhausted', 'other'];

/** Where in the log the exception was seen. */
export type NvpVia = 'client' | 'answer' | 'stack';

export interface NvpExceptionEvent {
  cause: NvpCause;
  /** HTTP status when the message gives it (or the old client's status text maps to one). */
  status?: number;
  /** Agent command simple name, e.g. CreateLogicalSwitchCommand. */
  command?: string;
  /** `client`: the REST client's own ERROR; `answer`: an agent Answer's details; `stack`: a logged stack trace. */
  via: NvpVia;
  /** The exception message (first relevant line, trimmed). */
  message: string;
  level?: string;
  category?: string;
  thread?: string;
  jobs: string[];
  logid?: string;
  /** Network named by the message: display text, `Ntwk[id|...]` id or lswitch uuid. */
  network?: string;
  /** The management server (the host the log came from). */
  managementServer?: string;
  layout: string;
  /** Line of the record's first line (absent when only the byte offset is known). */
  line?: number;
  offset?: number;
  /** The record's first line and a few following lines, verbatim (bounded). */
  excerpt: string;
}

export interface NvpCommandFailureEvent {
  /** The command, or the operation for messages without one (e.g. `CreateLogicalRouter`). */
  command: string;
  message: string;
  level?: string;
  category?: string;
  thread?: string;
  jobs: string[];
  logid?: string;
  network?: string;
  managementServer?: string;
  line?: number;
  offset?: number;
  excerpt: string;
}

export interface NvpRetryEvent {
  command: string;
  remaining: number;
  thread?: string;
  jobs: string[];
  logid?: string;
  managementServer?: string;
  line?: number;
  offset?: number;
}

/** Controller cluster health as seen by the management server's pings (§2.6). */
export interface NvpControllerEvent {
  state: 'unstable' | 'status_failed';
  clusterStatus?: string;
  managementServer?: string;
  line?: number;
  offset?: number;
  excerpt: string;
}

/**
 * A network operation the NVP element/guru starts (`entering NiciraNvpElement implement function
 * for network X`), so the analyzer can name the networks of a burst through the job ids.
 */
export interface NvpNetworkOpEvent {
  op: 'implement' | 'shutdown' | 'design' | 'other';
  network: string;
  state?: string;
  thread?: string;
  jobs: string[];
  logid?: string;
  line?: number;
  offset?: number;
}

/** ovstunnel.py failures on a KVM host (§5.3). */
export interface OvsTunnelEvent {
  event: 'rollback' | 'command_error' | 'bridge_missing' | 'openvswitch_down' | 'unknown_command';
  bridge?: string;
  message: string;
  line?: number;
  offset?: number;
  excerpt: string;
}

declare module '../../core/observation.js' {
  interface ObservationMap {
    'nvp.exception': NvpExceptionEvent;
    'nvp.command_failure': NvpCommandFailureEvent;
    'nvp.retry': NvpRetryEvent;
    'nvp.controller': NvpControllerEvent;
    'ovstunnel.event': OvsTunnelEvent;
    'nvp.network_op': NvpNetworkOpEvent;
  }
}

/**
 * A record can only yield an observation when its text holds one of these. The fast path
 * searches the raw bytes for them and decodes only the records around a hit, so this list and
 * `observationsFromRecord` must stay in step (observationsFromRecord checks it first).
 */
export const CANDIDATE_NEEDLES: readonly string[] = ['Nicira', 'Retryi'];
// Short needles with an uncommon first letter on purpose: Buffer.indexOf runs at memchr speed for
// them (measured: 'Retryi' 0.1 s/GiB, 'Retrying ' 0.6 s/GiB).

/** Needles of the ovstunnel.log events. */
export const OVSTUNNEL_NEEDLES: readonly string[] = ['Rolling back', 'error code', "Can't find bridge", 'Openvswitch running: NO', 'Unknown command', 'No command to execute'];

const STATUS_TEXT: Record<string, number> = {
  'bad request': 400,
  unauthorized: 401,
  forbidden: 403,
  'not found': 404,
  'method not allowed': 405,
  conflict: 409,
  'internal server error': 500,
  'bad gateway': 502,
  'service unavailable': 503,
  'gateway timeout': 504,
};

/** Old and new client's exception messages (§2.2). Order matters: first match wins. */
const NVP_MESSAGE =
  /(Two consecutive failed attempts to authenticate[^\n]*|Failed to authenticate against REST server|(?:Nicira NVP|REST Service) API login failed[^\n]*|Connection to NVP Failed|API call to (?:Nicira )?REST Service Failed|Unable to build REST Service URI|Failed to close response object[^\n]*|Reached max executions limit of \d+|Unexpec(?:ted|etd) status code: \d{3}|Conflict: [^\n]*|Could not execute request[^\n]*|API call to Nicira NVP Controller Failed|(?:HttpException|IOException) caught while trying to connect to the Nicira NVP Controller|Failed to (?:create|retrieve|update|delete) object : [^\n]*|Could not deserialize response to JSON[^\n]*|Unexpected response from API|Expected 1 LogicalSwitchPort, but got \d+|Unable to build Nicira API URL|Hostname\/credentials are null or empty|Failed to (?:en|de)code json (?:request|response) body|Requesting unknown method type|host, adminuser and adminpass may not be null)/;

export function classifyNvpMessage(text: string): { cause: NvpCause; status?: number } {
  let status: number | undefined;
  const sc = /Unexpec(?:ted|etd) status code: (\d{3})/.exec(text);
  if (sc) status = Number(sc[1]);
  else {
    const old = /Failed to (?:create|retrieve|update|delete) object : ([A-Za-z ]{3,40}?)\s*$/m.exec(text);
    if (old) status = STATUS_TEXT[old[1]!.trim().toLowerCase()];
    else if (/Conflict: /.test(text)) status = 409;
    else {
      const lf = /(?:Nicira NVP|REST Service) API login failed :? ?([A-Za-z ]{3,40}?)\s*$/m.exec(text);
      if (lf) status = STATUS_TEXT[lf[1]!.trim().toLowerCase()];
    }
  }
  let cause: NvpCause;
  if (/Two consecutive failed attempts to authenticate|Failed to authenticate against REST server|API login failed/.test(text) || status === 401 || status === 403) cause = 'auth';
  else if (/Reached max executions limit/.test(text)) cause = 'retry_exhausted';
  else if (status === 409) cause = 'conflict';
  else if (status === 404) cause = 'not_found';
  else if (status !== undefined && status >= 500) cause = 'server_error';
  else if (/Could not execute request|API call to Nicira NVP Controller Failed|Connection to NVP Failed|API call to (?:Nicira )?REST Service Failed|IOException|HttpException|ConnectException|SocketTimeoutException|SSLException|UnknownHostException/.test(text)) cause = 'transport';
  else cause = 'other';
  return status === undefined ? { cause } : { cause, status };
}

/**
 * A single-line DEBUG/INFO record can only yield an observation when its message matches this
 * (retry, command failure, element operation, controller health, exception, Answer details).
 */
const MAYBE_INTERESTING = /Retrying |failed|Failed|No NiciraNvp|Unable to store|Nic has no|No mapping for nic|Stale entry found|No logical router uuid|BroadcastUri is empty|No L2 Gateway|unsupported command|entering NiciraNvpElement|ControlCluster state|NiciraNvpApiException|Details from executing/;

const COMMAND_FAILED = /\b([A-Z]\w*Command) failed\b/;
const DETAILS = /Details from executing class com\.cloud\.agent\.api\.(?:[\w.]*\.)?(\w+)\s*:/;
const RETRY = /Retrying (\w+)\. Number of retries remaining: (\d+)/;
const MGMT_FAILURES: readonly [RegExp, string][] = [
  [/Failed to create Logical Router for network/, 'CreateLogicalRouter'],
  [/Failed to delete LogicalRouter for network/, 'DeleteLogicalRouter'],
  [/Failed to configure Logical Router for Shared network/, 'ConfigureSharedNetworkUuid'],
  [/Failed to configure Shared network/, 'ConfigureSharedNetworkVlanId'],
  [/No NiciraNvp Controller on physical network/, 'NoController'],
  [/Unable to store logical switch id in broadcast uri/, 'StoreBroadcastUri'],
  [/Nic has no broadcast Uri with the LSwitch Uuid/, 'NicBroadcastUri'],
  [/modifyLogicalSwitchPort failed after switchport was created/, 'ModifyLogicalSwitchPort'],
  [/No mapping for nic /, 'NicMapping'],
  [/Stale entry found for nic .* with logical switchport uuid/, 'StaleNicMapping'],
  [/No logical router uuid found for network/, 'LogicalRouterUuid'],
  [/BroadcastUri is empty or incorrect for guestnetwork/, 'BroadcastUri'],
  [/Failed to add Nicira Nvp Device due to internal error/, 'AddNiciraNvpDevice'],
  [/No L2 Gateway Service Uuid found on/, 'L2GatewayService'],
  [/Received unsupported command /, 'UnsupportedCommand'],
];

function networkOf(text: string): string | undefined {
  const m =
    /\bfor (?:guestnetwork|Shared network|network) (\S+?)[.,]?(?:\s|$)/.exec(text) ??
    /\bNtwk\[(\d+)\|/.exec(text) ??
    /\blswitch:([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/.exec(text);
  return m?.[1];
}

function hasNeedle(text: string, needles: readonly string[]): boolean {
  for (const n of needles) if (text.includes(n)) return true;
  return false;
}

/** The record's text as the log shows it: first line, then continuation lines. */
export function recordText(rec: LogRecord): string {
  return rec.continuation.length === 0 ? rec.message : `${rec.message}\n${rec.continuation.join('\n')}`;
}

/** The record verbatim: its first line and a few continuation lines, bounded. */
function excerptOf(rec: LogRecord, maxLines = 6, maxChars = 1200): string {
  let s = rec.raw ?? rec.message;
  if (s.length > maxChars) s = `${s.slice(0, maxChars)}…`;
  const shown = rec.continuation.slice(0, maxLines - 1);
  for (const l of shown) {
    if (s.length + l.length + 1 > maxChars) break;
    s += `\n${l}`;
  }
  const more = rec.continuation.length - shown.length;
  if (more > 0) s += `\n… (${more} more lines)`;
  // Log lines can carry signed API queries (apikey=, signature=) or URL credentials.
  return redact(s);
}

/** Turn one record into observations (none for the 99% of records that do not matter). */
export function observationsFromRecord(rec: LogRecord, ctx: { source: string; host?: string }): AnyObservation[] {
  if (rec.layout === 'ovstunnel') return ovsTunnelObservations(rec, ctx);
  // Cheap rejection first: most candidate records are NVP chatter (pings, REST traces).
  const quiet = rec.continuation.length === 0 && rec.level !== 'ERROR' && rec.level !== 'WARN' && rec.level !== 'FATAL';
  if (quiet && !MAYBE_INTERESTING.test(rec.message)) return [];
  const text = `${rec.category ?? ''} ${recordText(rec)}`;
  if (!hasNeedle(text, CANDIDATE_NEEDLES)) return [];
  const out: AnyObservation[] = [];
  const base = { host: ctx.host, at: rec.at, source: sourceOf(ctx.source, rec) };
  const pos = positionOf(rec);
  const common = {
    level: rec.level,
    category: rec.category,
    thread: rec.thread,
    jobs: rec.jobs,
    logid: rec.logid,
    managementServer: ctx.host,
    ...pos,
  };
  const body = recordText(rec);
  const niciraContext = /Nicira|Nvp/.test(text);

  // Retries (CommandRetryUtility).
  const r = RETRY.exec(rec.message);
  if (r) out.push({ ...base, kind: 'nvp.retry', data: { command: r[1]!, remaining: Number(r[2]), thread: rec.thread, jobs: rec.jobs, logid: rec.logid, managementServer: ctx.host, ...pos } });

  // Command failures (guru / element ERRORs, §2.5).
  const details = DETAILS.exec(rec.message);
  const cf = COMMAND_FAILED.exec(rec.message);
  if (cf && !details && niciraContext) {
    out.push({ ...base, kind: 'nvp.command_failure', data: { ...common, command: cf[1]!, message: redact(rec.message.slice(0, 300)), network: networkOf(body), excerpt: excerptOf(rec) } });
  } else if (!details) {
    for (const [re, op] of MGMT_FAILURES) {
      if (re.test(rec.message)) {
        out.push({ ...base, kind: 'nvp.command_failure', data: { ...common, command: op, message: redact(rec.message.slice(0, 300)), network: networkOf(body), excerpt: excerptOf(rec) } });
        break;
      }
    }
  }

  // The network an element/guru operation works on (names a burst's networks via its jobs).
  const no = /entering NiciraNvpElement (\w+) function for network (\S+)(?: \(state (\w+)\))?/.exec(rec.message);
  if (no) {
    const op = no[1] === 'implement' || no[1] === 'shutdown' || no[1] === 'design' ? no[1] : 'other';
    out.push({ ...base, kind: 'nvp.network_op', data: { op, network: no[2]!, ...(no[3] ? { state: no[3] } : {}), thread: rec.thread, jobs: rec.jobs, logid: rec.logid, ...pos } });
  }

  // Controller cluster health (§2.6).
  const cs = /ControlCluster state is not stable: (\S+)/.exec(rec.message);
  if (cs) out.push({ ...base, kind: 'nvp.controller', data: { state: 'unstable', clusterStatus: cs[1], managementServer: ctx.host, ...pos, excerpt: excerptOf(rec) } });
  else if (/getControlClusterStatus failed/.test(rec.message)) out.push({ ...base, kind: 'nvp.controller', data: { state: 'status_failed', managementServer: ctx.host, ...pos, excerpt: excerptOf(rec) } });

  // The exception itself: at most one per record. A retry line is not counted even when it
  // carries the stack: the failure is counted once, where it is finally reported.
  if (!r) {
    const hasException = body.includes('NiciraNvpApiException');
    const m = NVP_MESSAGE.exec(body);
    const clientCategory = rec.category !== undefined && /Nicira(?:NvpApi|RestClient)$/.test(rec.category);
    if (hasException || (m && (clientCategory || niciraContext) && (rec.level === 'ERROR' || rec.level === 'WARN' || rec.level === 'FATAL' || details))) {
      const msgLine = m?.[1] ?? firstExceptionLine(body) ?? rec.message;
      const { cause, status } = classifyNvpMessage(m?.[1] ?? body);
      const via: NvpVia = details ? 'answer' : clientCategory && !/^\s*at |^\s*Caused by/m.test(rec.continuation.join('\n')) ? 'client' : hasException ? 'stack' : 'client';
      const command = details?.[1] ?? cf?.[1] ?? /\b(\w+Command)\b/.exec(body)?.[1];
      out.push({
        ...base,
        kind: 'nvp.exception',
        data: {
          cause,
          ...(status !== undefined ? { status } : {}),
          ...(command !== undefined ? { command } : {}),
          via,
          message: redact(msgLine.trim().slice(0, 300)),
          ...common,
          network: networkOf(body),
          layout: rec.layout,
          excerpt: excerptOf(rec),
        },
      });
    }
  }
  return out;
}

/** `file:line`, or `file@byte` when only the byte offset is known (fast scan of a huge file). */
export function sourceOf(source: string, rec: LogRecord): string {
  if (rec.lineNo > 0) return `${source}:${rec.lineNo}`;
  if (rec.offset !== undefined) return `${source}@${rec.offset}`;
  return source;
}

function positionOf(rec: LogRecord): { line?: number; offset?: number } {
  const p: { line?: number; offset?: number } = {};
  if (rec.lineNo > 0) p.line = rec.lineNo;
  if (rec.offset !== undefined) p.offset = rec.offset;
  return p;
}

function firstExceptionLine(body: string): string | undefined {
  const m = /[^\n]*NiciraNvpApiException[^\n]*/.exec(body);
  return m?.[0];
}

function ovsTunnelObservations(rec: LogRecord, ctx: { source: string; host?: string }): AnyObservation[] {
  const msg = rec.message;
  const text = recordText(rec);
  if (!hasNeedle(text, OVSTUNNEL_NEEDLES)) return [];
  let event: OvsTunnelEvent['event'] | undefined;
  let bridge: string | undefined;
  if (/An unexpected error occur+ed\. Rolling back/.test(msg)) event = 'rollback';
  else if (/The command exited with the error code/.test(msg)) {
    event = 'command_error';
    bridge = /Bridge record "([^"]+)"/.exec(text)?.[1];
  } else if (/Can't find bridge/.test(msg)) {
    event = 'bridge_missing';
    bridge = /Can't find bridge (\S+?) for/.exec(msg)?.[1];
  } else if (/Openvswitch running: NO/.test(msg)) event = 'openvswitch_down';
  else if (/Unknown command|No command to execute/.test(msg)) event = 'unknown_command';
  if (!event) return [];
  return [
    {
      kind: 'ovstunnel.event',
      host: ctx.host,
      at: rec.at,
      source: sourceOf(ctx.source, rec),
      data: { event, ...(bridge ? { bridge } : {}), message: redact(msg.slice(0, 300)), ...positionOf(rec), excerpt: excerptOf(rec) },
    },
  ];
}
