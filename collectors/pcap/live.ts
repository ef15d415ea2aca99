/**
 * Live capture for `serve`: `tcpdump -i IF -w - -U -s SNAPLEN <filter>` streamed into the same
 * decoder and aggregation as files, one window of `windowSeconds` at a time (each window's
 * tunnels become observations), restarted with exponential back-off when tcpdump exits; and/or a
 * rotating capture directory (tcpdump -G/-C output) whose finished files are read once each.
 *
 * tcpdump is spawned directly (argument array, no shell) because its output is a stream that
 * runs until the appliance stops; `runCommand` only returns whole outputs.
 */
import { spawn } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { describeError } from '../../core/errors.js';
import { openInput } from '../../core/input.js';
import type { LiveCollector, LiveContext } from '../../core/plugin.js';
import { type TunnelAggregator } from './aggregate.js';
import { analyseCapture, emitSummary } from './analyse.js';
import { pcapMetrics } from './index.js';
import { PassThrough } from 'node:stream';
import { sleep } from '../../core/sleep.js';

const BASE_FILTER =
  'ip proto 47 or udp port 4789 or udp port 8472 or udp port 6081 or tcp port 7471 or (ip[6:2] & 0x3fff != 0) or ' +
  '(icmp[icmptype] == 3 and icmp[icmpcode] == 4) or (ip6 and ip6[6] == 44) or (icmp6 and ip6[40] == 2)';

/** Tunnels, fragments and frag-needed/PTB, untagged or inside one VLAN tag. */
export const DEFAULT_FILTER = `${BASE_FILTER} or (vlan and (${BASE_FILTER}))`;

export const pcapLiveSchema = z
  .object({
    /** Interface to capture on (none: no live capture). */
    interface: z.string().min(1).optional(),
    /** Network namespace to capture in (`ip netns exec NS tcpdump ...`). */
    netns: z.string().min(1).optional(),
    /** Bytes kept per packet: headers are all the analysis needs. */
    snaplen: z.number().int().min(96).max(65535).default(256),
    /** BPF filter (default: tunnels, fragments, ICMP frag-needed and PTB). */
    filter: z.string().default(DEFAULT_FILTER),
    /** Seconds per aggregation window; each window's tunnels become observations. */
    windowSeconds: z.number().positive().default(60),
    /** A directory of rotated captures (tcpdump -G/-C) to read as they are finished. */
    directory: z.string().min(1).optional(),
    /** Seconds between directory scans; a file is read once it has not changed for this long. */
    scanSeconds: z.number().positive().default(30),
    /** Back-off after tcpdump exits: starts here, doubles up to maxBackoffSeconds. */
    backoffSeconds: z.number().positive().default(1),
    maxBackoffSeconds: z.number().positive().default(300),
    tcpdump: z.string().default('tcpdump'),
  })
  .strict();

export type PcapLiveConfig = z.infer<typeof pcapLiveSchema>;

/** The argument vector for one tcpdump run. */
export function tcpdumpArgs(cfg: PcapLiveConfig): { file: string; args: string[] } {
  const td = [cfg.tcpdump, '-i', cfg.interface!, '-w', '-', '-U', '-n', '-s', String(cfg.snaplen), cfg.filter];
  if (cfg.netns) return { file: 'ip', args: ['netns', 'exec', cfg.netns, ...td] };
  return { file: td[0]!, args: td.slice(1) };
}

/** Run tcpdump once until it exits or the signal aborts, emitting one window at a time. */
async function captureOnce(ctx: LiveContext, cfg: PcapLiveConfig, signal: AbortSignal): Promise<{ packets: number; error?: string }> {
  const { file, args } = tcpdumpArgs(cfg);
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => {
    if (stderr.length < 4096) stderr += c.toString('utf8');
  });
  const onAbort = () => child.kill('SIGTERM');
  signal.addEventListener('abort', onAbort);
  const label = cfg.interface!;
  const name = `tcpdump:${cfg.netns ? `${cfg.netns}/` : ''}${cfg.interface}`;
  // Windows: every windowSeconds the stream is cut into a new capture summary. tcpdump's global
  // header is only at the start, so each window re-reads it from a saved copy.
  let windowStart = ctx.now();
  let total = 0;
  const spawnError = new Promise<string>((resolve) => child.on('error', (e) => resolve(describeError(e))));
  const stdout = child.stdout;
  let header: Buffer | undefined;
  let current = new PassThrough();
  let pending: Promise<void> = runWindow(current);
  let stopped = false;
  async function runWindow(s: PassThrough) {
    const summary = await analyseCapture(s, name, (_rec, _agg: TunnelAggregator) => {});
    total += summary.health.packets;
    emitSummary(summary, ctx, { host: ctx.host, at: ctx.now(), interfaceLabel: label });
    if (summary.error !== undefined && !stopped) ctx.metrics.inc('netdiag_pcap_capture_errors_total', { host: ctx.host, interface: label });
  }
  // Forward whole records only, so a window never ends inside one.
  let carry: Buffer = Buffer.alloc(0);
  stdout.on('data', (chunk: Buffer) => {
    let buf = carry.length ? Buffer.concat([carry, chunk]) : chunk;
    if (!header) {
      if (buf.length < 24) {
        carry = buf;
        return;
      }
      header = Buffer.from(buf.subarray(0, 24));
      current.write(header);
      buf = buf.subarray(24);
    }
    const le = header.readUInt32BE(0) === 0xd4c3b2a1 || header.readUInt32BE(0) === 0x4d3cb2a1;
    let p = 0;
    while (buf.length - p >= 16) {
      const cap = le ? buf.readUInt32LE(p + 8) : buf.readUInt32BE(p + 8);
      if (buf.length - p < 16 + cap) break;
      p += 16 + cap;
    }
    // Back-pressure: when the decoder falls behind, stop reading tcpdump (the kernel buffers, then drops and counts).
    if (p > 0 && !current.write(buf.subarray(0, p))) {
      stdout.pause();
      current.once('drain', () => stdout.resume());
    }
    carry = Buffer.from(buf.subarray(p));
    if (ctx.now() - windowStart >= cfg.windowSeconds * 1000) {
      windowStart = ctx.now();
      current.end();
      current = new PassThrough();
      current.write(header);
      const next = current;
      pending = Promise.all([pending, runWindow(next)]).then(() => undefined);
    }
  });
  const exit = await Promise.race([
    new Promise<string | undefined>((resolve) => child.on('close', (code, sig) => resolve(signal.aborted ? undefined : `tcpdump exited (${code ?? sig}): ${stderr.trim().split('\n').slice(-2).join(' | ')}`))),
    spawnError,
  ]);
  stopped = true;
  signal.removeEventListener('abort', onAbort);
  if (!header) current.write(Buffer.alloc(0));
  current.end();
  await pending.catch(() => {});
  return { packets: total, ...(exit ? { error: exit } : {}) };
}

async function followDirectory(ctx: LiveContext, cfg: PcapLiveConfig, signal: AbortSignal): Promise<void> {
  const done = new Map<string, number>(); // name → size read
  while (!signal.aborted) {
    try {
      const names = (await readdir(cfg.directory!)).filter((n) => /\.(pcap|pcapng|cap)(\d*)(\.gz)?$|\.pcap\d+$/.test(n)).sort();
      for (const n of names) {
        const p = join(cfg.directory!, n);
        const st = await stat(p);
        if (done.get(n) === st.size) continue;
        // Still being written: wait until it has been quiet for one scan interval.
        if (ctx.now() - st.mtimeMs < cfg.scanSeconds * 1000) continue;
        done.set(n, st.size);
        try {
          const input = await openInput(p, ctx.host, st);
          const summary = await analyseCapture(input.open(), p);
          emitSummary(summary, ctx, { host: ctx.host, at: st.mtimeMs, interfaceLabel: 'directory' });
          if (summary.error !== undefined) {
            ctx.metrics.inc('netdiag_pcap_capture_errors_total', { host: ctx.host, interface: 'directory' });
            ctx.log.warn('rotated capture partly unreadable', { path: p, error: describeError(summary.error) });
          }
        } catch (e) {
          ctx.metrics.inc('netdiag_pcap_capture_errors_total', { host: ctx.host, interface: 'directory' });
          ctx.log.warn('rotated capture unreadable', { path: p, error: describeError(e) });
        }
      }
      if (done.size > 10_000) done.clear();
    } catch (e) {
      ctx.log.warn('capture directory unreadable', { directory: cfg.directory, error: describeError(e) });
    }
    await sleep(cfg.scanSeconds * 1000, signal);
  }
}

export const pcapLiveCollector: LiveCollector<PcapLiveConfig> = {
  name: 'pcap',
  description: 'live tcpdump on an interface and/or a rotating capture directory: tunnels, fragments, frag-needed/PTB',
  schema: pcapLiveSchema,
  enabledByDefault: false,
  interval: (cfg) => cfg.windowSeconds,
  metrics: pcapMetrics,
  async run(ctx, cfg, signal) {
    const tasks: Promise<void>[] = [];
    if (cfg.directory) tasks.push(followDirectory(ctx, cfg, signal));
    if (cfg.interface) {
      tasks.push(
        (async () => {
          let backoff = cfg.backoffSeconds;
          while (!signal.aborted) {
            const started = ctx.now();
            const r = await captureOnce(ctx, cfg, signal);
            if (signal.aborted) break;
            ctx.metrics.inc('netdiag_pcap_capture_errors_total', { host: ctx.host, interface: cfg.interface! });
            ctx.log.warn('live capture stopped, restarting', { interface: cfg.interface, error: r.error, backoffSeconds: backoff });
            // A run that lasted a while resets the back-off.
            if (ctx.now() - started > cfg.maxBackoffSeconds * 1000) backoff = cfg.backoffSeconds;
            await sleep(backoff * 1000, signal);
            backoff = Math.min(backoff * 2, cfg.maxBackoffSeconds);
            if (!signal.aborted) ctx.metrics.inc('netdiag_pcap_capture_restarts_total', { host: ctx.host, interface: cfg.interface! });
          }
        })(),
      );
    }
    if (!tasks.length) ctx.log.warn('pcap collector enabled without interface or directory: nothing to capture');
    await Promise.all(tasks);
  },
};
