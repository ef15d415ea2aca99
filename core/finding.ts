import { createHash } from 'node:crypto';

export type Severity = 'info' | 'warning' | 'critical';
export const SEVERITY_RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };

export interface Evidence {
  /** file:line, command or URL the excerpt came from */
  source: string;
  excerpt: string;
}

export interface Finding {
  id: string;
  kind: string;
  severity: Severity;
  host?: string;
  subject: Record<string, unknown>;
  summary: string;
  metrics: Record<string, unknown>;
  evidence: Evidence[];
  firstSeen?: string;
  lastSeen?: string;
  plan?: Record<string, unknown>;
}

/** JSON with object keys sorted, so equal subjects hash equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/**
 * Stable id: a hash of kind + host + subject. The live appliance updates a finding with the same
 * id instead of duplicating it, and alert labels stay stable. `episode` separates distinct
 * occurrences of the same subject (e.g. two exception bursts hours apart).
 */
export function findingId(kind: string, subject: Record<string, unknown>, host?: string, episode?: string): string {
  const h = createHash('sha256');
  h.update(canonicalJson({ kind, host: host ?? null, subject, episode: episode ?? null }));
  return `${kind}:${h.digest('hex').slice(0, 16)}`;
}

export interface NewFinding extends Omit<Finding, 'id'> {
  /** Extra identity beyond kind+host+subject, e.g. the start of a burst episode. */
  episode?: string;
}

export function makeFinding(f: NewFinding): Finding {
  const { episode, ...rest } = f;
  return { id: findingId(f.kind, f.subject, f.host, episode), ...rest };
}

export function worstSeverity(findings: readonly Finding[]): Severity | undefined {
  let worst: Severity | undefined;
  for (const f of findings) if (worst === undefined || SEVERITY_RANK[f.severity] > SEVERITY_RANK[worst]) worst = f.severity;
  return worst;
}

/** Trim an excerpt for evidence: evidence must stay readable in a page or a report. */
export function excerpt(text: string, max = 600): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters)`;
}
