/**
 * File collectors for CloudStack logs: `cloudstack-log` (management-server.log and agent.log in
 * every 4.x layout, plain or .gz, rotated sets) and `ovstunnel-log` (the KVM ovstunnel.py log).
 * Recognised by content. Parsing lives in parse.ts (pure) and scan.ts (chunk scanners).
 */
import type { AnyObservation } from '../../core/observation.js';
import type { FileCollector, ParseContext, ReadStats } from '../../core/plugin.js';
import type { InputFile } from '../../core/input.js';
import { LOG_METRICS, noteObservation } from './metrics.js';
import { parseLineHead } from './parse.js';
import { FastScanner, FullScanner, type ScanResult } from './scan.js';
import { scanFileRange } from './scan-file.js';

export { LOG_METRICS, noteObservation };

/**
 * Files at least this big (decompressed, estimated for .gz) are read by the fast scan. Override
 * with NETDIAG_LOG_SCAN=full|fast.
 */
export const FAST_SCAN_MIN_BYTES = 64 << 20;
/** Compression ratio assumed for a .gz log when choosing the scan (text logs compress ~10:1). */
const GZ_RATIO = 8;

function scanMode(input: Pick<InputFile, 'size' | 'gzip'>): 'full' | 'fast' {
  const env = process.env.NETDIAG_LOG_SCAN;
  if (env === 'full' || env === 'fast') return env;
  const estimate = input.gzip ? input.size * GZ_RATIO : input.size;
  return estimate >= FAST_SCAN_MIN_BYTES ? 'fast' : 'full';
}

/** Layout counts of the record heads in a file's first 64 KiB. */
function sniffLayouts(body: string): { log4j: number; ovstunnel: number; lines: number } {
  let log4j = 0;
  let ovstunnel = 0;
  let lines = 0;
  let pos = 0;
  while (pos < body.length && lines < 2000) {
    let nl = body.indexOf('\n', pos);
    if (nl === -1) nl = body.length;
    const line = body.slice(pos, Math.min(nl, pos + 4096));
    pos = nl + 1;
    if (line.trim() === '') continue;
    lines++;
    const h = parseLineHead(line, 2000);
    if (!h) continue;
    if (h.layout === 'ovstunnel') ovstunnel++;
    else if (h.layout !== 'unknown') log4j++;
  }
  return { log4j, ovstunnel, lines };
}

function sniffScore(hits: number, lines: number): number {
  if (hits === 0) return 0;
  // A real log: most lines are record heads or their continuations. A file that merely quotes
  // one line (a ticket, a mail) gets a low score so a better collector can win it.
  const ratio = hits / Math.max(1, lines);
  if (hits >= 3 || ratio >= 0.2) return 0.9;
  return 0.4;
}

interface Kind {
  type: string;
  needles?: readonly string[];
  allowFast: boolean;
}

async function readLog(input: InputFile, ctx: ParseContext, kind: Kind): Promise<ReadStats> {
  const host = input.host;
  const warnings: string[] = [];
  const mode = kind.allowFast ? scanMode(input) : 'full';
  const syslogYear = input.collectedAt().getUTCFullYear();
  const emit = (o: AnyObservation) => {
    ctx.emit(o);
    noteObservation(o, ctx.metrics);
  };
  const opts = { source: input.path, host, syslogYear, emit, needles: kind.needles };
  let res: ScanResult;
  if (mode !== 'full') {
    const sc = new FastScanner(opts);
    if (!input.gzip) await scanFileRange(input.path, sc, 0, input.size);
    else for await (const chunk of input.open() as AsyncIterable<Buffer>) sc.push(chunk);
    res = sc.end();
    warnings.push(
      `fast scan of ${res.bytes} bytes (≥ ${FAST_SCAN_MIN_BYTES}): only records around NVP keywords were decoded, so "records" counts those; evidence positions are byte offsets (file@offset). Set NETDIAG_LOG_SCAN=full for exact counts and line numbers`,
    );
  } else {
    const sc = new FullScanner(opts);
    for await (const chunk of input.open() as AsyncIterable<Buffer>) sc.push(chunk);
    res = sc.end();
    // The `# command:` / `# collected-at:` header lines are not garbage.
    if (input.header.length > 0) {
      const headerLines = input.head.subarray(0, input.header.length).toString('latin1').split('\n').length - 1;
      res.skipped = Math.max(0, res.skipped - headerLines);
      res.skippedBytes = Math.max(0, res.skippedBytes - input.header.length);
    }
    if (res.skipped > 0) warnings.push(`${res.skipped} line(s) (${res.skippedBytes} bytes) were neither a log record nor part of one (garbage before the first record, or binary) and were skipped`);
  }
  if (res.longLines > 0) warnings.push(`${res.longLines} line(s) longer than 64 KiB were cut`);
  if (res.layouts.unknown) warnings.push(`${res.layouts.unknown} timestamped record(s) in an unknown layout were counted but not parsed`);
  if (res.layouts.syslog) warnings.push(`syslog/journald timestamps have no year: assumed ${syslogYear} (from collected-at or the file's mtime)`);
  const labels = { host: host ?? '', type: kind.type };
  ctx.metrics.inc('netdiag_log_records_total', labels, res.records);
  if (res.skippedBytes > 0) ctx.metrics.inc('netdiag_log_skipped_bytes_total', labels, res.skippedBytes);
  const stats: ReadStats = { records: res.records };
  if (res.skipped) stats.skipped = res.skipped;
  if (res.skippedBytes) stats.skippedBytes = res.skippedBytes;
  if (warnings.length) stats.warnings = warnings;
  return stats;
}

export const cloudstackLogCollector: FileCollector = {
  type: 'cloudstack-log',
  description: 'CloudStack management-server.log / agent.log (4.0, 4.5–4.19 log4j 1 with logid, 4.20+ log4j2, pasted and syslog copies; plain, .gz, rotated)',
  sniff(input) {
    const s = sniffLayouts(input.body);
    return sniffScore(s.log4j, s.lines);
  },
  read(input, ctx) {
    return readLog(input, ctx, { type: 'cloudstack-log', allowFast: true });
  },
};

export const ovstunnelLogCollector: FileCollector = {
  type: 'ovstunnel-log',
  description: 'ovstunnel.log of the CloudStack OVS plugin on KVM (tunnel and bridge setup, failures and rollbacks)',
  sniff(input) {
    const s = sniffLayouts(input.body);
    if (s.log4j > s.ovstunnel) return 0;
    const score = sniffScore(s.ovstunnel, s.lines);
    // `<time> - <message>` is a generic Python logging shape: only claim it with ovstunnel words.
    return /Executing:\[|ovs-vsctl|OVSTunnel|create_tunnel|setup_ovs_bridge|Setup_ovs_bridge|ovs bridge|tunnel/i.test(input.body) ? score : Math.min(score, 0.3);
  },
  read(input, ctx) {
    return readLog(input, ctx, { type: 'ovstunnel-log', allowFast: false });
  },
};

export const cloudstackLogCollectors: readonly FileCollector[] = [cloudstackLogCollector, ovstunnelLogCollector];
