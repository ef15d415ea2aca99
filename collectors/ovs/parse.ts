/**
 * Pure parsers for Open vSwitch command output: `ovs-ofctl dump-flows` (OpenFlow 1.0 and 1.3
 * forms, with or without `--names`, `--no-stats`, reply headers), `ovs-ofctl show`, `ovs-vsctl
 * show` and `ovs-vsctl --format=json list <table>`. No I/O here: the live collector and the bundle
 * readers feed these the same text. Formats were captured from Open vSwitch 3.1 (see
 * test/fixtures/ovs/README.md); anything not understood is kept verbatim, never fatal.
 */

/** One `name[=value[/mask]]` of a flow match, as printed. */
export interface MatchField {
  name: string;
  value?: string;
  mask?: string;
  /** The value was printed quoted (`in_port="t2046-4-3"`, a `--names` port name). */
  quoted?: boolean;
}

/** One action of a flow's action list, top level only (nested lists stay in `arg`). */
export interface FlowAction {
  /** Lower-cased action name: output, drop, normal, local, in_port, controller, resubmit, group, ct, learn, set_field, load, move... */
  name: string;
  /** Everything after `name:` or inside `name(...)`, verbatim. */
  arg?: string;
  /** For output-like actions (output, enqueue): the port as printed (number, name or field). */
  port?: string;
  /** For resubmit: the table. */
  table?: number;
  /** For `bundle(...)`: the member ports it chooses among (`members:` since OVS 2.14, `slaves:` before). */
  members?: string[];
  /**
   * The action text exactly as printed, kept only when `name`/`arg` do not already spell it
   * (`name`, `name:arg`, `name(arg)`): a tail such as `check_pkt_larger(1500)->NXM_NX_REG0[0]`,
   * a bare port, different case. A 200k-flow table need not hold every action twice.
   */
  text?: string;
}

/** Small strings that repeat in every flow (field and action names, flags) held once. */
const INTERNED = new Map<string, string>();
function intern(s: string): string {
  const hit = INTERNED.get(s);
  if (hit !== undefined) return hit;
  if (INTERNED.size < 4096) INTERNED.set(s, s);
  return s;
}

/** One line of `ovs-ofctl dump-flows`. Absent fields were not printed (zero timeouts, `--no-stats`). */
export interface FlowEntry {
  cookie: string;
  durationSeconds?: number;
  table: number;
  packets?: number;
  bytes?: number;
  idleTimeout?: number;
  hardTimeout?: number;
  idleAge?: number;
  hardAge?: number;
  importance?: number;
  /** OpenFlow default 32768 when not printed. */
  priority: number;
  /** reset_counts, send_flow_rem, check_overlap, no_packet_counts, no_byte_counts, ... */
  flags: string[];
  /** Other `key=value` statistics fields OVS printed that this parser does not know (kept verbatim). */
  extra?: Record<string, string>;
  /** The match as printed, without `priority=`; '' matches everything. */
  match: string;
  fields: MatchField[];
  /** The action list as printed after `actions=`. */
  actionsText: string;
  actions: FlowAction[];
  /** Explicit `drop` or an empty action list. */
  drop: boolean;
  /** 1-based line in the input. */
  line: number;
}

export interface DumpFlowsResult {
  flows: FlowEntry[];
  /** `OF1.3` etc. from an `OFPST_FLOW reply (OF1.3)` header, when present. */
  protocol?: string;
  /** Lines that looked like neither a flow, a header nor blank (the first 20, for the report). */
  skipped: { line: number; text: string }[];
  /** How many such lines there were. */
  skippedLines: number;
  /** `ovs-ofctl: ...` error lines and vconn warnings (e.g. version negotiation failed). */
  errors: string[];
  /** Whether some port was printed by name (`--names`). */
  names: boolean;
  /**
   * Why the dump is known to be incomplete: OVS printed `***decode error: <reason>***` and the rest
   * of the reply as hex (an OpenFlow 1.1+ instruction list read with OpenFlow 1.0 — ovs-ofctl
   * still exits 0), or ended with a fatal `ovs-ofctl: ...` line after some flows.
   */
  incomplete?: string;
  /** Hex-dump lines after a decode error (the flows OVS could not print). */
  undecodedLines?: number;
}

const STAT_KEYS = new Set(['cookie', 'duration', 'table', 'table_id', 'n_packets', 'n_bytes', 'idle_timeout', 'hard_timeout', 'idle_age', 'hard_age', 'importance', 'out_port', 'out_group']);
const FLAG_WORDS = new Set(['send_flow_rem', 'check_overlap', 'reset_counts', 'no_packet_counts', 'no_byte_counts', 'no_readonly_table', 'allow_hidden_fields']);
const REPLY_HEADER = /^(?:NXST_FLOW|OFPST_FLOW|OFPST_FLOW_MONITOR)\s+reply\b(?:\s+\((OF[\d.]+)\))?/;
/** `***decode error: X***`, alone on a line or right after the reply header when the first flow fails. */
const DECODE_ERROR = /\*\*\*decode error: (.*?)\*\*\*\s*$/;
const HEX_DUMP_LINE = /^[0-9a-f]{8}  [0-9a-f]{2}[ -]/;
const ERROR_LINE = /^(?:ovs-ofctl:|\d{4}-\d\d-\d\dT[\d:.]+Z\|\d+\|\w+\|(?:WARN|ERR|EMER)\|)/;

/** Split on `sep` at depth 0 (outside parentheses, brackets and double quotes). */
export function splitTopLevel(text: string, sep = ','): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"' && text[i - 1] !== '\\') quoted = !quoted;
    else if (quoted) continue;
    else if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth = Math.max(0, depth - 1);
    else if (c === sep && depth === 0) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out;
}

function unquote(s: string): { text: string; quoted: boolean } {
  if (s.length >= 2 && s.startsWith('"') && s.endsWith('"')) return { text: s.slice(1, -1).replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c)), quoted: true };
  return { text: s, quoted: false };
}

/** Index of ` actions=` (or a leading `actions=`) outside quotes. */
function actionsIndex(line: string): number {
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '"') quoted = !quoted;
    else if (!quoted && c === 'a' && line.startsWith('actions=', i) && (i === 0 || line[i - 1] === ' ' || line[i - 1] === ',')) return i;
  }
  return -1;
}

export function parseMatch(match: string): MatchField[] {
  if (match === '') return [];
  const fields: MatchField[] = [];
  for (const part of splitTopLevel(match)) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq === -1) {
      fields.push({ name: intern(part) });
      continue;
    }
    const name = intern(part.slice(0, eq));
    let raw = part.slice(eq + 1);
    let mask: string | undefined;
    // A mask follows an unquoted value: `nw_dst=10.0.0.0/24`, `reg0=0x5/0xff`, `tun_id=0x5/0xff`.
    if (!raw.startsWith('"')) {
      const slash = raw.indexOf('/');
      if (slash !== -1 && name !== 'ct_state') {
        mask = raw.slice(slash + 1);
        raw = raw.slice(0, slash);
      }
    }
    const u = unquote(raw);
    const f: MatchField = { name, value: u.text };
    if (mask !== undefined) f.mask = mask;
    if (u.quoted) f.quoted = true;
    fields.push(f);
  }
  return fields;
}

/** Index of the `)` closing the `(` at `open`, honouring nesting and double quotes; -1 if none. */
function closingParen(text: string, open: number): number {
  let depth = 0;
  let quoted = false;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === '"' && text[i - 1] !== '\\') quoted = !quoted;
    else if (quoted) continue;
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i;
  }
  return -1;
}

/**
 * Parse an action list as dump-flows prints it. Each top-level action becomes `name` + `arg`:
 * `name:arg`, `name(arg)` (also with a tail such as `check_pkt_larger(1500)->NXM_NX_REG0[0]`,
 * kept in `text`), a bare port number or quoted name (an output), or a bare word (`NORMAL`,
 * `drop`, `pop_queue`). Anything else is kept verbatim as its own action, never an error.
 */
export function parseActions(text: string): FlowAction[] {
  const t = text.trim();
  if (t === '') return [];
  const out: FlowAction[] = [];
  for (const raw of splitTopLevel(t)) {
    const a = raw.trim();
    if (a === '') continue;
    let name: string;
    let arg: string | undefined;
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(a)?.[0];
    if (/^\d+$/.test(a) || /^".*"$/.test(a)) {
      // A bare port is an output (`actions=1`).
      name = 'output';
      arg = a;
    } else if (word === undefined) {
      name = a;
    } else if (a.length === word.length) {
      name = word;
    } else if (a[word.length] === '(') {
      const close = closingParen(a, word.length);
      name = word;
      arg = a.slice(word.length + 1, close === -1 ? undefined : close);
    } else if (a[word.length] === ':' || a[word.length] === '=') {
      // `output=N` is how some CloudStack scripts write it; OVS reads it like `output:N`.
      name = word;
      arg = a.slice(word.length + 1);
    } else name = a;
    const action: FlowAction = { name: intern(name.toLowerCase()) };
    if (arg !== undefined) action.arg = arg;
    if (a !== action.name && a !== `${action.name}:${arg}` && a !== `${action.name}(${arg})`) action.text = a;
    if (action.name === 'output' && arg !== undefined) {
      // output:N, output:"name", output(port=N,max_len=M), output:NXM_NX_REG0[]
      const m = /^port=([^,]+)/.exec(arg);
      action.port = unquote(m ? m[1]! : arg).text;
    } else if (action.name === 'enqueue' && arg !== undefined) {
      // enqueue:PORT:QUEUE or enqueue(PORT,QUEUE); the port may be quoted.
      const parts = arg.startsWith('"') ? [arg.slice(0, arg.indexOf('"', 1) + 1)] : arg.split(/[:,]/);
      action.port = unquote(parts[0]!).text;
    } else if (action.name === 'resubmit' && arg !== undefined) {
      const [port, table] = splitTopLevel(arg);
      if (port) action.port = unquote(port).text;
      if (table !== undefined && /^\d+$/.test(table)) action.table = Number(table);
    } else if (action.name === 'bundle' && arg !== undefined) {
      // bundle(fields,basis,algorithm,ofport,members:P,Q...): outputs to the first live member it picks.
      const m = /(?:^|,)\s*(?:members|slaves):/.exec(arg);
      if (m) action.members = splitTopLevel(arg.slice(m.index + m[0].length)).map((p) => unquote(p.trim()).text).filter((p) => p !== '');
    }
    out.push(action);
  }
  return out;
}

/** Actions that run their argument as an action list on the packet (outputs inside them are real). */
const NESTED_LISTS = new Set(['clone', 'write_actions']);

/**
 * Every output-like action of a flow, nested `clone(...)`/`write_actions(...)` lists included:
 * `output`, `enqueue` (with `port`) and `bundle` (with `members`). `bundle_load` only writes its
 * choice to a field, and `learn(...)` holds a template for another flow, so neither is an output.
 */
export function outputActions(actions: readonly FlowAction[]): FlowAction[] {
  const out: FlowAction[] = [];
  for (const a of actions) {
    if ((a.name === 'output' || a.name === 'enqueue') && a.port !== undefined) out.push(a);
    else if (a.name === 'bundle' && a.members !== undefined) out.push(a);
    else if (NESTED_LISTS.has(a.name) && a.arg) out.push(...outputActions(parseActions(a.arg)));
  }
  return out;
}

function toNumber(v: string): number | undefined {
  const n = v.startsWith('0x') ? parseInt(v, 16) : Number(v.endsWith('s') ? v.slice(0, -1) : v);
  return Number.isFinite(n) ? n : undefined;
}

/** One statistics token at `lastIndex`: `key=value,` + blanks, or a flag word. */
const STAT_TOKEN = /([a-z_]+)(?:=([^,\s]*))?(,?)(\s+|$)/y;

/**
 * Parse one flow line. Returns undefined when the line is not a flow (header, blank, error).
 * The statistics part is `key=value, ` pairs and bare flag words separated by spaces; the match
 * is the first token that is neither, up to ` actions=`.
 */

export function parseFlowLine(line: string, lineNo = 0): FlowEntry | undefined {
  const text = line.trim();
  const ai = actionsIndex(text);
  if (ai === -1) return undefined;
  const pre = text.slice(0, ai).trim();
  const actionsText = text.slice(ai + 'actions='.length).trim();
  const e: FlowEntry = { cookie: '0x0', table: 0, priority: 32768, flags: [], match: '', fields: [], actionsText, actions: [], drop: false, line: lineNo };
  let pos = 0; // statistics are consumed from the front of `pre` (a sticky regex: no slicing)
  // Consume statistics tokens from the front: `key=value,` (comma then space) or flag words.
  for (;;) {
    STAT_TOKEN.lastIndex = pos;
    const m = STAT_TOKEN.exec(pre);
    if (!m) break;
    const [whole, key, value, comma, blank] = m;
    if (value !== undefined && STAT_KEYS.has(key!) && (comma === ',' || pos + whole!.length === pre.length)) {
      const n = toNumber(value);
      switch (key) {
        case 'cookie': e.cookie = value; break;
        case 'duration': if (n !== undefined) e.durationSeconds = n; break;
        case 'table':
        case 'table_id': if (n !== undefined) e.table = n; break; // table_id: ovs-appctl bridge/dump-flows
        case 'n_packets': if (n !== undefined) e.packets = n; break;
        case 'n_bytes': if (n !== undefined) e.bytes = n; break;
        case 'idle_timeout': if (n !== undefined) e.idleTimeout = n; break;
        case 'hard_timeout': if (n !== undefined) e.hardTimeout = n; break;
        case 'idle_age': if (n !== undefined) e.idleAge = n; break;
        case 'hard_age': if (n !== undefined) e.hardAge = n; break;
        case 'importance': if (n !== undefined) e.importance = n; break;
        default: (e.extra ??= {})[key!] = value;
      }
      pos += whole!.length;
      continue;
    }
    if (value === undefined && FLAG_WORDS.has(key!) && comma === '') {
      e.flags.push(intern(key!));
      pos += whole!.length;
      continue;
    }
    // Unknown `key=value, ` statistics from a newer OVS: keep them verbatim. A blank must follow
    // the comma: `priority=0,actions=…` (ovs-appctl bridge/dump-flows) is the match, not a statistic.
    if (value !== undefined && comma === ',' && blank !== '') {
      (e.extra ??= {})[key!] = value;
      pos += whole!.length;
      continue;
    }
    break;
  }
  let match = pre.slice(pos).trim().replace(/,$/, '');
  const fields = parseMatch(match);
  const pi = fields.findIndex((f) => f.name === 'priority');
  if (pi !== -1) {
    const p = toNumber(fields[pi]!.value ?? '');
    if (p !== undefined) e.priority = p;
    fields.splice(pi, 1);
    // split + join builds a new string: a slice would keep the whole line alive for every flow
    match = splitTopLevel(match)
      .filter((p) => !p.startsWith('priority='))
      .join(',');
  }
  e.match = match;
  e.fields = fields;
  e.actions = parseActions(actionsText);
  e.drop = e.actions.length === 0 || (e.actions.length === 1 && e.actions[0]!.name === 'drop');
  return e;
}

/** Parse a whole `ovs-ofctl dump-flows` output (header comment lines already removed or not). */
export function parseDumpFlows(text: string): DumpFlowsResult {
  const res: DumpFlowsResult = { flows: [], skipped: [], skippedLines: 0, errors: [], names: false };
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    const r = parseDumpFlowsLine(line, i + 1, res);
    if (r) res.flows.push(r);
  }
  markIncomplete(res, res.flows.length);
  return res;
}

/** After the last line: flows followed by a fatal `ovs-ofctl:` error mean the dump stopped early. */
export function markIncomplete(res: Omit<DumpFlowsResult, 'flows'>, flows: number): void {
  if (res.incomplete || flows === 0) return;
  const fatal = res.errors.find((e) => e.startsWith('ovs-ofctl:'));
  if (fatal) res.incomplete = `the dump ended with an error after ${flows} flow(s): ${fatal}`;
}

/** Streaming form: classify one line into `res` (headers, errors, skipped) or return a flow. */
export function parseDumpFlowsLine(line: string, lineNo: number, res: Omit<DumpFlowsResult, 'flows'>): FlowEntry | undefined {
  const t = line.trim();
  if (t === '' || t.startsWith('#')) return undefined;
  const h = REPLY_HEADER.exec(t);
  if (h?.[1]) res.protocol = h[1];
  const de = DECODE_ERROR.exec(t);
  if (h && !de) return undefined;
  if (de) {
    res.incomplete ??= `decode error ${de[1]}: OVS could not print the flows from here on (an OpenFlow 1.1+ instruction list read as OpenFlow 1.0; dump with -O OpenFlow13)`;
    if (res.errors.length < 20) res.errors.push(t);
    return undefined;
  }
  if (res.incomplete && HEX_DUMP_LINE.test(line)) {
    res.undecodedLines = (res.undecodedLines ?? 0) + 1;
    return undefined;
  }
  if (ERROR_LINE.test(t)) {
    if (res.errors.length < 20) res.errors.push(t);
    return undefined;
  }
  const f = parseFlowLine(t, lineNo);
  if (!f) {
    res.skippedLines++;
    if (res.skipped.length < 20) res.skipped.push({ line: lineNo, text: t.slice(0, 200) });
    return undefined;
  }
  if (!res.names && (f.fields.some((x) => x.quoted || (x.name === 'in_port' && x.value !== undefined && !/^(\d+|LOCAL|0x[0-9a-f]+)$/i.test(x.value))) || f.actions.some((a) => a.port !== undefined && !/^(\d+|0x[0-9a-f]+)$/i.test(a.port) && !a.port.includes('[')))) res.names = true;
  return f;
}

/** The bridge named in an `ovs-ofctl ... dump-flows|show BRIDGE` command line. */
export function bridgeFromCommand(command: string | undefined): string | undefined {
  if (!command) return undefined;
  const words = command.trim().split(/\s+/);
  const i = words.findIndex((w) => w === 'dump-flows' || w === 'bridge/dump-flows' || w === 'show' || w === 'dump-ports-desc');
  if (i === -1) return undefined;
  const br = words.slice(i + 1).find((w) => !w.startsWith('-'));
  return br?.replace(/^["']|["']$/g, '');
}

/** Guess the bridge from a bundle file name: `dump-flows-OVSTunnel2046.txt`, `OVSTunnel2046.flows`, `ovs-ofctl_dump-flows_br-int.txt.gz`, `ovs-appctl_bridge.dump-flows_br0`. */
export function bridgeFromFileName(path: string): string | undefined {
  const base = path.split(/[\\/]/).pop() ?? path;
  let name = base.replace(/(\.(txt|log|out|flows|gz))+$/i, '');
  name = name.replace(/^(ovs-)?appctl[-_.]?(bridge[-_.])?/i, '').replace(/^(ovs-ofctl|ofctl)[-_.]?/i, '').replace(/^(-O[-_]?OpenFlow1\d[-_.]?)/i, '').replace(/^(dump[-_]flows|flows|show)[-_.]?/i, '');
  name = name.replace(/[-_.](dump[-_]flows|flows|of1[0-5]|openflow1[0-5])$/i, '');
  return name === '' ? undefined : name;
}

/** A port of `ovs-ofctl show`. */
export interface OfPort {
  /** OpenFlow port number; `LOCAL` is the bridge's own internal port (65534). */
  ofport: number;
  name: string;
  mac?: string;
  config: string[];
  state: string[];
}

export interface OfctlShow {
  dpid?: string;
  protocol?: string;
  ports: OfPort[];
}

/** Parse `ovs-ofctl show BRIDGE` (OpenFlow 1.0 or 1.3 form). */
export function parseOfctlShow(text: string): OfctlShow {
  const res: OfctlShow = { ports: [] };
  let cur: OfPort | undefined;
  for (const rawLine of text.split('\n')) {
    const line = rawLine.replace(/\r$/, '');
    const fr = /^OFPT_FEATURES_REPLY(?:\s+\((OF[\d.]+)\))?.*dpid:([0-9a-f]+)/i.exec(line);
    if (fr) {
      res.dpid = fr[2];
      if (fr[1]) res.protocol = fr[1];
      continue;
    }
    const pm = /^\s(\d+|LOCAL)\((.*)\): addr:([0-9a-f:]+)/i.exec(line);
    if (pm) {
      cur = { ofport: pm[1] === 'LOCAL' ? 65534 : Number(pm[1]), name: pm[2]!, mac: pm[3], config: [], state: [] };
      res.ports.push(cur);
      continue;
    }
    const cm = /^\s+(config|state):\s+(.*)$/.exec(line);
    if (cm && cur) {
      const words = cm[2]!.trim().split(/\s+/).filter((w) => w !== '0' && w !== '');
      if (cm[1] === 'config') cur.config = words;
      else cur.state = words;
    }
  }
  return res;
}

/** Looks like `ovs-ofctl show`. */
export function isOfctlShow(text: string): boolean {
  return /^OFPT_FEATURES_REPLY\b/m.test(text) && /^\s(\d+|LOCAL)\(.*\): addr:/m.test(text);
}

// ---- OVSDB -------------------------------------------------------------------------------------

/** Decode an OVSDB JSON datum: atoms, ["uuid",x], ["set",[...]], ["map",[[k,v]...]]. */
export function ovsdbValue(v: unknown): unknown {
  if (!Array.isArray(v)) return v;
  const [tag, inner] = v as [string, unknown];
  if (tag === 'uuid' || tag === 'named-uuid') return inner;
  if (tag === 'set') return (inner as unknown[]).map(ovsdbValue);
  if (tag === 'map') {
    const out: Record<string, unknown> = {};
    for (const [k, val] of inner as [unknown, unknown][]) out[String(ovsdbValue(k))] = ovsdbValue(val);
    return out;
  }
  return v;
}

export type OvsdbTable = 'Interface' | 'Bridge' | 'Port' | 'Open_vSwitch' | 'unknown';

export interface OvsdbList {
  table: OvsdbTable;
  rows: Record<string, unknown>[];
}

/** Which table a `--format=json list` output holds, from its column headings. */
export function ovsdbTableOf(headings: readonly string[]): OvsdbTable {
  const h = new Set(headings);
  if (h.has('ofport') && h.has('mtu')) return 'Interface';
  if (h.has('datapath_type') && (h.has('flow_tables') || h.has('stp_enable'))) return 'Bridge';
  if (h.has('interfaces') && (h.has('trunks') || h.has('tag'))) return 'Port';
  if (h.has('bridges') && h.has('ovs_version')) return 'Open_vSwitch';
  return 'unknown';
}

/** Parse `ovs-vsctl --format=json list TABLE` output. Throws on text that is not that JSON. */
export function parseOvsdbList(text: string): OvsdbList {
  const doc = JSON.parse(text) as { data?: unknown; headings?: unknown };
  if (!doc || !Array.isArray(doc.data) || !Array.isArray(doc.headings)) throw new Error('not an ovs-vsctl --format=json listing: expected {"data": [...], "headings": [...]}');
  const headings = doc.headings.map(String);
  const rows = (doc.data as unknown[][]).map((row) => {
    const o: Record<string, unknown> = {};
    headings.forEach((h, i) => (o[h] = ovsdbValue(row[i])));
    return o;
  });
  return { table: ovsdbTableOf(headings), rows };
}

/**
 * Parse `ovs-vsctl list TABLE` in its default (list) format — what sosreport and most runbooks save:
 * records of `column : value` lines separated by blank lines, values in OVSDB's data syntax
 * (ovs-vsctl(8) "Database Values": `[]`/`[a, b]` sets, `{k=v, k2="v 2"}` maps, quoted or bare atoms).
 * Gives the same rows as the JSON form. Throws on text that is not such a listing.
 */
export function parseOvsdbListText(text: string): OvsdbList {
  const rows: Record<string, unknown>[] = [];
  const headings = new Set<string>();
  let cur: Record<string, unknown> | undefined;
  let lineNo = 0;
  for (const raw of text.split('\n')) {
    lineNo++;
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') {
      cur = undefined;
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = /^([a-z_][a-z0-9_:-]*)\s*: ?(.*)$/.exec(line);
    if (!m) throw new Error(`line ${lineNo} is not "column : value": ${JSON.stringify(line.slice(0, 80))}`);
    if (!cur) rows.push((cur = {}));
    headings.add(m[1]!);
    try {
      cur[m[1]!] = parseOvsdbDatum(m[2]!.trim());
    } catch (e) {
      throw new Error(`line ${lineNo} (${m[1]}): ${(e as Error).message}`);
    }
  }
  if (rows.length === 0 || !rows.every((r) => typeof r._uuid === 'string')) throw new Error('not an ovs-vsctl list output: every record starts with "_uuid : <uuid>"');
  return { table: ovsdbTableOf([...headings]), rows };
}

/** One value in OVSDB's data syntax, decoded like `ovsdbValue` decodes the JSON form. */
export function parseOvsdbDatum(text: string): unknown {
  let i = 0;
  const fail = (what: string): never => {
    throw new Error(`${what} at character ${i + 1} of ${JSON.stringify(text.slice(0, 120))}`);
  };
  const skip = () => {
    while (text[i] === ' ') i++;
  };
  const atom = (): unknown => {
    skip();
    if (text[i] === '"') {
      let out = '';
      for (i++; i < text.length && text[i] !== '"'; i++) {
        if (text[i] === '\\') {
          const c = text[++i];
          out += c === 'n' ? '\n' : c === 't' ? '\t' : c === 'r' ? '\r' : (c ?? '');
        } else out += text[i];
      }
      if (text[i] !== '"') fail('unterminated string');
      i++;
      return out;
    }
    const start = i;
    while (i < text.length && !/[\s,=\]}]/.test(text[i]!)) i++;
    const word = text.slice(start, i);
    if (word === '') fail('value expected');
    if (word === 'true' || word === 'false') return word === 'true';
    return /^-?\d+(\.\d+)?$/.test(word) ? Number(word) : word;
  };
  const value = (): unknown => {
    skip();
    if (text[i] === '[') {
      i++;
      const out: unknown[] = [];
      skip();
      while (text[i] !== ']') {
        out.push(atom());
        skip();
        if (text[i] === ',') i++;
        else if (text[i] !== ']') fail('"," or "]" expected');
      }
      i++;
      // As in the JSON form, a set of one is the atom itself.
      return out.length === 1 ? out[0] : out;
    }
    if (text[i] === '{') {
      i++;
      const out: Record<string, unknown> = {};
      skip();
      while (text[i] !== '}') {
        const k = atom();
        skip();
        if (text[i] !== '=') fail('"=" expected');
        i++;
        out[String(k)] = atom();
        skip();
        if (text[i] === ',') i++;
        else if (text[i] !== '}') fail('"," or "}" expected');
        skip();
      }
      i++;
      return out;
    }
    return atom();
  };
  const v = value();
  skip();
  if (i < text.length) fail('unexpected text');
  return v;
}

const asMap = (v: unknown): Record<string, string> => {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return {};
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) out[k] = String(val);
  return out;
};
/** OVSDB optional scalars come as an empty set when unset. */
const asOpt = (v: unknown): unknown => (Array.isArray(v) ? (v.length ? v[0] : undefined) : v);
const asNum = (v: unknown): number | undefined => {
  const x = asOpt(v);
  return typeof x === 'number' ? x : undefined;
};
const asStr = (v: unknown): string | undefined => {
  const x = asOpt(v);
  return typeof x === 'string' ? x : undefined;
};

export interface OvsdbInterfaceRow {
  uuid: string;
  name: string;
  type: string;
  ofport?: number;
  ofportRequest?: number;
  mtu?: number;
  mtuRequest?: number;
  options: Record<string, string>;
  error?: string;
  externalIds: Record<string, string>;
  linkState?: string;
  statistics?: Record<string, number>;
  driverName?: string;
}

export function interfaceRow(r: Record<string, unknown>): OvsdbInterfaceRow {
  const stats = r.statistics && typeof r.statistics === 'object' && !Array.isArray(r.statistics) ? (r.statistics as Record<string, number>) : undefined;
  const out: OvsdbInterfaceRow = {
    uuid: String(r._uuid ?? ''),
    name: String(r.name ?? ''),
    type: String(r.type ?? ''),
    options: asMap(r.options),
    externalIds: asMap(r.external_ids),
  };
  const ofport = asNum(r.ofport);
  if (ofport !== undefined) out.ofport = ofport;
  const ofportRequest = asNum(r.ofport_request);
  if (ofportRequest !== undefined) out.ofportRequest = ofportRequest;
  const mtu = asNum(r.mtu);
  if (mtu !== undefined) out.mtu = mtu;
  const mtuRequest = asNum(r.mtu_request);
  if (mtuRequest !== undefined) out.mtuRequest = mtuRequest;
  const error = asStr(r.error);
  if (error) out.error = error;
  const link = asStr(r.link_state);
  if (link) out.linkState = link;
  if (stats) out.statistics = stats;
  const driver = asMap(r.status).driver_name;
  if (driver) out.driverName = driver;
  return out;
}

export interface OvsdbBridgeRow {
  uuid: string;
  name: string;
  otherConfig: Record<string, string>;
  externalIds: Record<string, string>;
  datapathType?: string;
  protocols: string[];
  portUuids: string[];
}

export function bridgeRow(r: Record<string, unknown>): OvsdbBridgeRow {
  const protocols = r.protocols;
  return {
    uuid: String(r._uuid ?? ''),
    name: String(r.name ?? ''),
    otherConfig: asMap(r.other_config),
    externalIds: asMap(r.external_ids),
    datapathType: asStr(r.datapath_type) || undefined,
    protocols: Array.isArray(protocols) ? protocols.map(String) : typeof protocols === 'string' ? [protocols] : [],
    portUuids: Array.isArray(r.ports) ? r.ports.map(String) : typeof r.ports === 'string' ? [r.ports] : [],
  };
}

export interface OvsdbPortRow {
  uuid: string;
  name: string;
  interfaceUuids: string[];
  tag?: number;
}

export function portRow(r: Record<string, unknown>): OvsdbPortRow {
  const out: OvsdbPortRow = {
    uuid: String(r._uuid ?? ''),
    name: String(r.name ?? ''),
    interfaceUuids: Array.isArray(r.interfaces) ? r.interfaces.map(String) : typeof r.interfaces === 'string' ? [r.interfaces] : [],
  };
  const tag = asNum(r.tag);
  if (tag !== undefined) out.tag = tag;
  return out;
}

// ---- ovs-vsctl show ----------------------------------------------------------------------------

export interface VsctlShowInterface {
  name: string;
  bridge: string;
  port: string;
  type: string;
  options: Record<string, string>;
  error?: string;
}

export interface VsctlShow {
  bridges: { name: string; datapathType?: string; ports: string[] }[];
  interfaces: VsctlShowInterface[];
  ovsVersion?: string;
}

/** `{key="2046", remote_ip="192.0.2.12"}` → a map. */
export function parseBraceMap(text: string): Record<string, string> {
  const inner = text.trim().replace(/^\{|\}$/g, '');
  const out: Record<string, string> = {};
  for (const part of splitTopLevel(inner)) {
    const p = part.trim();
    const eq = p.indexOf('=');
    if (eq === -1) continue;
    out[unquote(p.slice(0, eq)).text] = unquote(p.slice(eq + 1)).text;
  }
  return out;
}

/** Parse `ovs-vsctl show`: bridges, ports, interfaces with type, options and error. */
export function parseVsctlShow(text: string): VsctlShow {
  const res: VsctlShow = { bridges: [], interfaces: [] };
  let bridge: VsctlShow['bridges'][number] | undefined;
  let port = '';
  let iface: VsctlShowInterface | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    let m: RegExpExecArray | null;
    if ((m = /^ {4}Bridge\s+(.+)$/.exec(line))) {
      bridge = { name: unquote(m[1]!.trim()).text, ports: [] };
      res.bridges.push(bridge);
      iface = undefined;
    } else if ((m = /^ {8}Port\s+(.+)$/.exec(line)) && bridge) {
      port = unquote(m[1]!.trim()).text;
      bridge.ports.push(port);
      iface = undefined;
    } else if ((m = /^ {8}datapath_type:\s+(.+)$/.exec(line)) && bridge) {
      bridge.datapathType = m[1]!.trim();
    } else if ((m = /^ {12}Interface\s+(.+)$/.exec(line)) && bridge) {
      iface = { name: unquote(m[1]!.trim()).text, bridge: bridge.name, port, type: '', options: {} };
      res.interfaces.push(iface);
    } else if ((m = /^ {16}(type|options|error):\s+(.*)$/.exec(line)) && iface) {
      if (m[1] === 'type') iface.type = m[2]!.trim();
      else if (m[1] === 'options') iface.options = parseBraceMap(m[2]!);
      else iface.error = unquote(m[2]!.trim()).text;
    } else if ((m = /^ {4}ovs_version:\s+"?([^"]+)"?/.exec(line))) {
      res.ovsVersion = m[1];
    }
  }
  return res;
}

/** Looks like `ovs-vsctl show`: a db uuid line then indented `Bridge` blocks. */
export function isVsctlShow(text: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\s*$/m.test(text) && /^ {4}Bridge\s+\S/m.test(text);
}

/** A CloudStack tunnel port name `t<key>-<from>-<to>`. */
export function parseTunnelPortName(name: string): { key: number; from: number; to: number } | undefined {
  const m = /^t(\d+)-(\d+)-(\d+)$/.exec(name);
  return m ? { key: Number(m[1]), from: Number(m[2]), to: Number(m[3]) } : undefined;
}
