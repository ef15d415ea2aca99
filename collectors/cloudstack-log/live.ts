/**
 * The live side of the CloudStack log collector: follows management-server.log, agent.log and
 * ovstunnel.log with the rotation-safe follower (collectors/tail), through the same
 * RecordAssembler and observationsFromRecord as `diagnose`, so `serve` and a report agree.
 */
import { basename } from 'node:path';
import { z } from 'zod';
import { describeError } from '../../core/errors.js';
import type { LiveCollector, LiveContext, MetricSpec } from '../../core/plugin.js';
import { FileFollower } from '../tail/follower.js';
import { LOG_METRICS, noteObservation } from './metrics.js';
import { observationsFromRecord, RecordAssembler } from './parse.js';

export const cloudstackLogLiveSchema = z
  .object({
    /** Files to follow; a missing file is waited for, not an error. */
    paths: z
      .array(z.string().min(1))
      .default(['/var/log/cloudstack/management/management-server.log', '/var/log/cloudstack/agent/agent.log', '/var/log/cloudstack/agent/ovstunnel.log']),
    /** How often to look for new lines, rotation and truncation (ms). */
    pollMs: z.number().int().min(10).max(60_000).default(250),
    /** An open multi-line record (a stack trace) is complete after this long without a new line (ms). */
    flushIdleMs: z.number().int().min(50).max(600_000).default(2000),
    /** Where to start a file netdiag has never seen (no checkpoint): `end` avoids replaying old history. */
    startAt: z.enum(['start', 'end']).default('end'),
    /** Year for syslog/journald copies whose timestamps have none (default: the current year). */
    syslogYear: z.number().int().min(1990).max(2200).optional(),
    /** Seconds between checkpoints (also written on stop). */
    checkpointSeconds: z.number().positive().max(3600).default(1),
  })
  .strict();

export type CloudStackLogLiveConfig = z.infer<typeof cloudstackLogLiveSchema>;

export const FOLLOW_METRICS: MetricSpec[] = [
  { name: 'netdiag_log_lines_read_total', help: 'Lines read by the log followers', type: 'counter', labelNames: ['host', 'log'] },
  { name: 'netdiag_log_bytes_read_total', help: 'Bytes read by the log followers', type: 'counter', labelNames: ['host', 'log'] },
  { name: 'netdiag_log_rotations_total', help: 'Rotations (rename+create) and truncations (copytruncate) the log followers went through', type: 'counter', labelNames: ['host', 'log', 'reason'] },
  { name: 'netdiag_log_parse_errors_total', help: 'Log lines that belonged to no record (garbage, binary, unknown layout before any record)', type: 'counter', labelNames: ['host', 'log'] },
  { name: 'netdiag_log_follow_errors_total', help: 'Errors while following a log file (the follower retries)', type: 'counter', labelNames: ['host', 'log'] },
];

/** Bounded label for a followed file: management | agent (agent.log, ovstunnel.log) | other. */
export function logLabel(path: string): string {
  const b = basename(path);
  if (b.startsWith('management-server')) return 'management';
  if (b.startsWith('agent') || b.startsWith('ovstunnel')) return 'agent';
  return 'other';
}

async function followOne(path: string, ctx: LiveContext, cfg: CloudStackLogLiveConfig, signal: AbortSignal): Promise<void> {
  const labels = { host: ctx.host, log: logLabel(path) };
  const recordType = basename(path).startsWith('ovstunnel') ? 'ovstunnel-log' : 'cloudstack-log';
  const follower = new FileFollower({ path, stateDir: ctx.stateDir, pollMs: cfg.pollMs, startAt: cfg.startAt, idleMs: cfg.flushIdleMs });
  const asm = new RecordAssembler({ syslogYear: cfg.syslogYear ?? new Date(ctx.now()).getUTCFullYear() });
  let garbageSeen = 0;
  let last = { bytes: 0, lines: 0, skipped: 0 };
  let lastCheckpoint = ctx.now();
  /** Where the record the assembler still holds begins: checkpoints stop there (never past unemitted lines). */
  let holdFrom: { offset: number; lineNo: number } | undefined;
  const handle = (rec: ReturnType<RecordAssembler['flush']>) => {
    if (!rec) return;
    for (const o of observationsFromRecord(rec, { source: path, host: ctx.host })) {
      if (o.host === undefined) (o as { host?: string }).host = ctx.host;
      ctx.emit(o);
      noteObservation(o, ctx.metrics);
    }
    ctx.metrics.inc('netdiag_log_records_total', { host: ctx.host, type: recordType });
  };
  const account = async (force: boolean) => {
    const s = follower.stats;
    if (s.linesRead > last.lines) ctx.metrics.inc('netdiag_log_lines_read_total', labels, s.linesRead - last.lines);
    if (s.bytesRead > last.bytes) ctx.metrics.inc('netdiag_log_bytes_read_total', labels, s.bytesRead - last.bytes);
    if (s.bytesSkipped > last.skipped) ctx.metrics.inc('netdiag_log_skipped_bytes_total', { host: ctx.host, type: recordType }, s.bytesSkipped - last.skipped);
    last = { bytes: s.bytesRead, lines: s.linesRead, skipped: s.bytesSkipped };
    if (asm.garbageLines > garbageSeen) {
      ctx.metrics.inc('netdiag_log_parse_errors_total', labels, asm.garbageLines - garbageSeen);
      garbageSeen = asm.garbageLines;
    }
    if (force || ctx.now() - lastCheckpoint >= cfg.checkpointSeconds * 1000) {
      lastCheckpoint = ctx.now();
      await follower.checkpoint(holdFrom).catch((e) => ctx.log.warn('checkpoint failed', { path, error: describeError(e) }));
    }
  };
  try {
    // Batches: the lines of one read at a time, accounted (and checkpointed) once per batch.
    for await (const batch of follower.batches(signal)) {
      let idle = false;
      for (const ev of batch) {
        if (ev.type === 'line') {
          const here = { offset: ev.offset, lineNo: ev.lineNo - 1 };
          const done = asm.push(ev.line, ev.lineNo, ev.offset);
          if (done) {
            handle(done);
            holdFrom = here; // a new record starts at this line
          } else if (!holdFrom) {
            holdFrom = here; // first line after a flush: record start, orphan continuation or garbage
          }
        } else if (ev.type === 'idle') {
          handle(asm.flush());
          holdFrom = undefined;
          idle = true;
        } else {
          handle(asm.flush());
          holdFrom = undefined;
          ctx.metrics.inc('netdiag_log_rotations_total', { ...labels, reason: ev.reason });
          ctx.log.info('log file changed', { path, reason: ev.reason });
        }
      }
      await account(idle);
    }
  } finally {
    // On stop the open record is emitted now, so the checkpoint may move past it.
    handle(asm.flush());
    holdFrom = undefined;
    await account(true);
  }
}

export const cloudstackLogLive: LiveCollector<CloudStackLogLiveConfig> = {
  name: 'cloudstack-log',
  description: 'follows CloudStack management-server.log, agent.log and ovstunnel.log across rotation and restarts',
  schema: cloudstackLogLiveSchema,
  enabledByDefault: true,
  interval: () => 1,
  metrics: [...LOG_METRICS, ...FOLLOW_METRICS],
  async run(ctx, cfg, signal) {
    // One follower per file; one failing file is logged and retried, the others go on.
    await Promise.all(
      cfg.paths.map(async (path) => {
        let backoff = 1000;
        while (!signal.aborted) {
          try {
            await followOne(path, ctx, cfg, signal);
            backoff = 1000;
          } catch (e) {
            ctx.metrics.inc('netdiag_log_follow_errors_total', { host: ctx.host, log: logLabel(path) });
            ctx.log.warn('following a log failed; retrying', { path, error: describeError(e), retryInMs: backoff });
            await new Promise<void>((r) => {
              const t = setTimeout(done, backoff);
              function done() {
                clearTimeout(t);
                signal.removeEventListener('abort', done);
                r();
              }
              signal.addEventListener('abort', done, { once: true });
            });
            backoff = Math.min(backoff * 2, 30_000);
          }
        }
      }),
    );
  },
};
