/**
 * Whether orchestrator listings were complete. Analyzers that call something stale or leaked
 * read this first: a missing, failed or partial listing makes "not referenced" meaningless, and
 * a false "stale" can lead to a deleted production network.
 */
import type { ListingStatus } from './kinds.js';
import type { ObservationReader } from './observation.js';

export interface ListingVerdict {
  ok: boolean;
  /** Why not, for logs and evidence. */
  reason?: string;
  /** The listings that decided (latest per source+what). */
  listings: ListingStatus[];
}

/** The latest listing status per `source` + `what` (by observation time, then order). */
export function latestListings(obs: ObservationReader): Map<string, ListingStatus> {
  const out = new Map<string, { at: number; l: ListingStatus }>();
  for (const o of obs.get('orchestrator.listing')) {
    const key = `${o.data.source}:${o.data.what}`;
    const at = o.at ?? 0;
    const prev = out.get(key);
    if (!prev || at >= prev.at) out.set(key, { at, l: o.data });
  }
  return new Map([...out].map(([k, v]) => [k, v.l]));
}

/**
 * Every listing of `source` whose `what` matches is present and complete. `what` names differ
 * between collectors (`networks`, `listNetworks`...), so they are matched by a pattern.
 */
export function listingsComplete(obs: ObservationReader, source: ListingStatus['source'], what: RegExp, label: string): ListingVerdict {
  const all = [...latestListings(obs).values()].filter((l) => l.source === source && what.test(l.what));
  if (all.length === 0) return { ok: false, reason: `no ${source} ${label} listing was read`, listings: [] };
  const bad = all.filter((l) => !l.complete);
  if (bad.length) return { ok: false, reason: `the ${source} ${label} listing ${bad.map((b) => `${b.what}: ${b.error ?? 'incomplete'}`).join('; ')}`, listings: all };
  return { ok: true, listings: all };
}
