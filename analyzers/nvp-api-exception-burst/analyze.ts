/**
 * nvp_api_exception_burst: at least `threshold` NVP API exceptions within a sliding window of
 * `windowSeconds` on one management server. One finding per burst episode: an episode is the
 * union of every qualifying window that shares an exception with another, so a long storm is one
 * finding and two storms an hour apart are two. Exceptions are sorted by time first, so the order
 * in which files of a rotated set were read does not matter, and a burst that straddles a
 * rotation (half in `.log.2026-11-20.gz`, half in `.log`) is one episode.
 *
 * Severity policy (documented in README.md):
 * - critical: `authCriticalCount` or more authentication failures (401/403, "Two consecutive
 *   failed attempts to authenticate", login failed): the controller credentials are wrong or the
 *   controller rejects the management server, and every NVP operation will fail until fixed.
 * - critical: transport / 5xx / retry-exhausted exceptions form the majority and the episode is
 *   sustained (lasts at least `sustainedSeconds`, or holds at least 2×threshold of them): the
 *   controller cluster is unreachable or failing, not a blip.
 * - warning: everything else (409 conflicts, 404 not found, short transport blips): individual
 *   objects are out of step with NVP (stale ports, double attachments), worth a look.
 */
import { z } from 'zod';
import { excerpt, type Evidence, type Finding, makeFinding, type Severity } from '../../core/finding.js';
import type { Observation, ObservationReader } from '../../core/observation.js';

export const nvpBurstConfigSchema = z
  .object({
    /** Exceptions needed within the window to call it a burst. */
    threshold: z.number().int().min(1).default(5),
    /** Sliding window length in seconds. */
    windowSeconds: z.number().positive().default(300),
    /** Authentication failures in an episode that make it critical. */
    authCriticalCount: z.number().int().min(1).default(2),
    /** Transport/5xx episodes lasting at least this long (seconds) are critical. */
    sustainedSeconds: z.number().positive().default(120),
    /** Verbatim excerpts kept as evidence per finding. */
    maxExcerpts: z.number().int().min(1).max(20).default(4),
  })
  .strict();

export type NvpBurstConfig = z.infer<typeof nvpBurstConfigSchema>;

type Exc = Observation<'nvp.exception'> & { at: number };

const KIND = 'nvp_api_exception_burst';

function byStatusKey(o: Exc): string {
  return o.data.status !== undefined ? String(o.data.status) : o.data.cause;
}

function uniq<T>(xs: Iterable<T | undefined>, max = 50): T[] {
  const out: T[] = [];
  for (const x of xs) {
    if (x === undefined || out.includes(x)) continue;
    out.push(x);
    if (out.length >= max) break;
  }
  return out;
}

function fmtDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** Split time-sorted exceptions into burst episodes (index ranges). */
export function burstEpisodes(times: readonly number[], threshold: number, windowMs: number): { start: number; end: number; peak: number }[] {
  const episodes: { start: number; end: number; peak: number }[] = [];
  let j = 0;
  let cur: { start: number; end: number; peak: number } | undefined;
  for (let i = 0; i < times.length; i++) {
    while (times[i]! - times[j]! > windowMs) j++;
    const n = i - j + 1;
    if (n < threshold) continue;
    // Window [j, i] qualifies. It joins the current episode when they share an exception.
    if (cur && j <= cur.end) {
      cur.end = i;
      cur.peak = Math.max(cur.peak, n);
    } else {
      if (cur) episodes.push(cur);
      cur = { start: j, end: i, peak: n };
    }
  }
  if (cur) episodes.push(cur);
  return episodes;
}

function severityOf(exc: readonly Exc[], durationMs: number, cfg: NvpBurstConfig): { severity: Severity; reason: string } {
  let auth = 0;
  let outage = 0;
  for (const o of exc) {
    if (o.data.cause === 'auth') auth++;
    else if (o.data.cause === 'transport' || o.data.cause === 'server_error' || o.data.cause === 'retry_exhausted') outage++;
  }
  if (auth >= cfg.authCriticalCount) return { severity: 'critical', reason: `${auth} authentication failures: the NVP controller rejects the management server's credentials` };
  if (outage * 2 > exc.length && (durationMs >= cfg.sustainedSeconds * 1000 || outage >= 2 * cfg.threshold)) {
    return { severity: 'critical', reason: `sustained controller failure: ${outage} transport/5xx/retry-exhausted errors over ${fmtDuration(durationMs)}` };
  }
  return { severity: 'warning', reason: outage * 2 > exc.length ? 'short transport/5xx blip' : 'API calls rejected for individual objects (conflicts, missing objects)' };
}

export function analyzeNvpBursts(obs: ObservationReader, cfg: NvpBurstConfig): Finding[] {
  const windowMs = cfg.windowSeconds * 1000;
  // Group by management server; drop exact duplicates (the same file given twice).
  const byHost = new Map<string, Exc[]>();
  const seen = new Set<string>();
  for (const o of obs.get('nvp.exception')) {
    if (o.at === undefined) continue; // pasted lines without a timestamp cannot be windowed
    const key = `${o.host ?? ''}|${o.at}|${o.data.thread ?? ''}|${o.data.excerpt}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const host = o.host ?? o.data.managementServer ?? '';
    let list = byHost.get(host);
    if (!list) byHost.set(host, (list = []));
    list.push(o as Exc);
  }
  const timed = <T extends { at?: number }>(xs: readonly T[]) => xs.filter((x) => x.at !== undefined).sort((a, b) => a.at! - b.at!);
  const failures = timed(obs.get('nvp.command_failure'));
  const retries = timed(obs.get('nvp.retry'));
  /** Index of the first element at or after `t` (the lists are sorted by time). */
  const from = (xs: readonly { at?: number }[], t: number) => {
    let lo = 0;
    let hi = xs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (xs[mid]!.at! < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const findings: Finding[] = [];
  for (const [host, list] of byHost) {
    list.sort((a, b) => a.at - b.at || a.source.localeCompare(b.source));
    const times = list.map((o) => o.at);
    for (const ep of burstEpisodes(times, cfg.threshold, windowMs)) {
      const exc = list.slice(ep.start, ep.end + 1);
      const first = exc[0]!.at;
      const last = exc[exc.length - 1]!.at;
      const jobs = uniq(exc.flatMap((o) => o.data.jobs), 30);
      // Command failures and retries of the same episode: same host, same jobs or within the span (+60 s).
      const related = <T extends { host?: string; at?: number; data: { jobs: string[] } }>(xs: readonly T[]) => {
        const out: T[] = [];
        for (let k = from(xs, first - windowMs); k < xs.length && xs[k]!.at! <= last + windowMs; k++) {
          const x = xs[k]!;
          if ((x.host ?? '') !== host) continue;
          if ((x.at! >= first - 60_000 && x.at! <= last + 60_000) || x.data.jobs.some((j) => jobs.includes(j))) out.push(x);
        }
        return out;
      };
      const relFailures = related(failures);
      const relRetries = related(retries);
      const commands = uniq([...exc.map((o) => o.data.command), ...relFailures.map((f) => f.data.command), ...relRetries.map((r) => r.data.command)]).sort();
      const byStatus: Record<string, number> = {};
      const byCause: Record<string, number> = {};
      for (const o of exc) {
        byStatus[byStatusKey(o)] = (byStatus[byStatusKey(o)] ?? 0) + 1;
        byCause[o.data.cause] = (byCause[o.data.cause] ?? 0) + 1;
      }
      const logids = uniq(exc.map((o) => o.data.logid), 30);
      // Networks: named by the exceptions or failures, or by the element operation of the same job.
      const jobNetworks = obs
        .get('nvp.network_op')
        .filter((n) => (n.host ?? '') === host && n.data.jobs.some((j) => jobs.includes(j)))
        .map((n) => n.data.network);
      const networks = uniq([...exc.map((o) => o.data.network), ...relFailures.map((f) => f.data.network), ...jobNetworks], 30);
      const sources = uniq(exc.map((o) => o.source.replace(/[:@]\d+$/, '')), 10);
      const { severity, reason } = severityOf(exc, last - first, cfg);
      const statusText = Object.entries(byStatus)
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k} ×${v}`)
        .join(', ');
      const firstSeen = new Date(first).toISOString();
      const lastSeen = new Date(last).toISOString();
      // Verbatim excerpts: the first, the last, and the first of each other status/cause.
      const picks: Exc[] = [exc[0]!];
      const keys = new Set([byStatusKey(exc[0]!)]);
      for (const o of exc) {
        if (picks.length >= cfg.maxExcerpts - 1) break;
        if (!keys.has(byStatusKey(o))) {
          keys.add(byStatusKey(o));
          picks.push(o);
        }
      }
      if (exc.length > 1 && !picks.includes(exc[exc.length - 1]!)) picks.push(exc[exc.length - 1]!);
      const evidence: Evidence[] = [
        {
          source: sources.join(', '),
          excerpt: excerpt(
            `${exc.length} NVP API exceptions ${firstSeen} .. ${lastSeen}; commands: ${commands.join(', ') || 'unknown'}; jobs: ${jobs.join(', ') || 'none'}; logids: ${logids.join(', ') || 'none'}; networks: ${networks.join(', ') || 'none'}; command failures: ${relFailures.length}, retries: ${relRetries.length}`,
          ),
        },
        ...picks.map((o) => ({ source: o.source, excerpt: excerpt(o.data.excerpt) })),
      ];
      const f = makeFinding({
        kind: KIND,
        severity,
        host: host || undefined,
        // The id hashes only the server and the episode start: the command list grows while a
        // live burst goes on, and the finding must keep its id (and its alert) meanwhile.
        subject: { managementServer: host || undefined },
        episode: firstSeen,
        summary: `${exc.length} NVP API exceptions in ${fmtDuration(last - first)} on ${host || 'the management server'} (peak ${ep.peak} in ${cfg.windowSeconds} s; ${statusText})${commands.length ? ` — ${commands.join(', ')}` : ''}: ${reason}`,
        metrics: {
          count: exc.length,
          windowSeconds: cfg.windowSeconds,
          threshold: cfg.threshold,
          peakInWindow: ep.peak,
          durationSeconds: Math.round((last - first) / 1000),
          byStatus,
          byCause,
          commandFailures: relFailures.length,
          retries: relRetries.length,
          jobs,
          logids,
          networks,
        },
        evidence,
        firstSeen,
        lastSeen,
      });
      f.subject = { ...f.subject, commands };
      findings.push(f);
    }
  }
  return findings;
}
