/**
 * The appliance's HTTP face (fastify): /metrics for Prometheus, /healthz, the JSON API under
 * /api/v1 and a small HTML status page — the `runbook_url` of every alert points at
 * `/findings?kind=...`. `buildApp` does not listen, so tests use `app.inject()`.
 */
import { timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { describeError, NetdiagError } from '../core/errors.js';
import { SEVERITY_RANK, type Severity } from '../core/finding.js';
import type { Plan } from '../core/plan.js';
import type { Appliance, TrackedFinding } from '../engine/appliance.js';
import type { PromMetrics } from './metrics.js';

export interface AppOptions {
  metrics: PromMetrics;
  /** Bearer token for every non-GET route; without one those routes are refused. */
  apiToken?: string;
  logger?: boolean;
}

/** Constant-time bearer check; the token is never logged or echoed. */
export function bearerOk(req: FastifyRequest, token: string | undefined): boolean {
  if (!token) return false;
  const h = req.headers.authorization ?? '';
  const m = /^Bearer (.+)$/.exec(h);
  if (!m) return false;
  const a = Buffer.from(m[1]!);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function requireToken(token: string | undefined) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    if (!token) return reply.code(403).send({ error: 'this route needs apiToken (config) or NETDIAG_API_TOKEN to be set on the appliance' });
    if (!bearerOk(req, token)) return reply.code(401).header('WWW-Authenticate', 'Bearer').send({ error: 'missing or wrong bearer token' });
  };
}

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const esc = (v: unknown): string => String(v ?? '').replace(/[&<>"']/g, (c) => ESC[c]!);

interface FindingQuery {
  kind?: string;
  severity?: string;
  host?: string;
}

function filterFindings(all: TrackedFinding[], q: FindingQuery): TrackedFinding[] {
  return all
    .filter((f) => (!q.kind || f.kind === q.kind) && (!q.severity || f.severity === q.severity) && (!q.host || f.host === q.host))
    .sort((x, y) => SEVERITY_RANK[y.severity] - SEVERITY_RANK[x.severity] || x.kind.localeCompare(y.kind) || x.id.localeCompare(y.id));
}

const SEV_COLOUR: Record<Severity, string> = { critical: '#b00020', warning: '#b26a00', info: '#355e9b' };

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)}</title><style>
body{font:14px/1.45 system-ui,sans-serif;margin:1.5rem;max-width:80rem;color:#222}
h1{font-size:1.3rem}table{border-collapse:collapse}td,th{padding:.2rem .6rem;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
.sev{font-weight:600}pre{white-space:pre-wrap;background:#f6f6f6;padding:.4rem;margin:.2rem 0}.f{border-left:4px solid #ccc;padding-left:.8rem;margin:1rem 0}
</style></head><body>${body}</body></html>`;
}

function planHtml(p: Plan | undefined): string {
  if (!p) return '';
  const steps = p.steps
    .map((s) => `<li><b>${esc(s.id)}</b> ${esc(s.target)} ${esc(s.action)}${s.readOnly ? ' (read-only)' : s.destructive ? ' <b>(destructive)</b>' : ''}: ${esc(s.description)}${s.command ? `<pre>${s.host ? `on ${esc(s.host)}: ` : ''}${esc(s.command.join(' '))}</pre>` : ''}</li>`)
    .join('');
  return `<details><summary>plan <a href="/api/v1/plans/${encodeURIComponent(p.id)}">${esc(p.id)}</a>: ${esc(p.summary)}</summary><ol>${steps}</ol>
<small>dry run: <code>POST /api/v1/plans/${esc(p.id)}/apply</code> with the bearer token; apply with body <code>{"confirm": true}</code></small></details>`;
}

function findingHtml(f: TrackedFinding, plan?: Plan): string {
  const metrics = Object.entries(f.metrics)
    .map(([k, v]) => `${esc(k)}=${esc(typeof v === 'object' ? JSON.stringify(v) : v)}`)
    .join(' ');
  const evidence = f.evidence.map((e) => `<div><small>${esc(e.source)}</small><pre>${esc(e.excerpt)}</pre></div>`).join('');
  return `<div class="f" id="${esc(f.id)}" style="border-color:${SEV_COLOUR[f.severity]}">
<div><span class="sev" style="color:${SEV_COLOUR[f.severity]}">${esc(f.severity.toUpperCase())}</span> <b>${esc(f.kind)}</b>${f.host ? ` on ${esc(f.host)}` : ''}</div>
<p>${esc(f.summary)}</p>
<div><small>subject: ${esc(JSON.stringify(f.subject))}</small></div>
<div><small>metrics: ${metrics}</small></div>
<div><small>first seen ${esc(f.firstSeen)} · last seen ${esc(f.lastSeen)} · id <a href="/api/v1/findings/${encodeURIComponent(f.id)}">${esc(f.id)}</a></small></div>
${planHtml(plan)}
${evidence}</div>`;
}

export async function buildApp(appliance: Appliance, opts: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: opts.logger ?? false });
  const token = opts.apiToken;

  app.get('/metrics', async (_req, reply) => {
    reply.header('Content-Type', opts.metrics.contentType);
    return opts.metrics.text();
  });

  app.get('/healthz', async (_req, reply) => {
    const collectors = appliance.collectorHealth();
    const body = { status: appliance.isStopping ? 'stopping' : 'ok', collectors };
    return reply.code(appliance.isStopping ? 503 : 200).send(body);
  });

  app.get('/api/v1/status', async () => appliance.status());

  app.get<{ Querystring: FindingQuery }>('/api/v1/findings', async (req, reply) => {
    const q = req.query;
    if (q.severity && !(q.severity in SEVERITY_RANK)) return reply.code(400).send({ error: `severity must be one of info, warning, critical (got ${JSON.stringify(q.severity)})` });
    return filterFindings(appliance.findings(), q);
  });

  app.get<{ Params: { id: string } }>('/api/v1/findings/:id', async (req, reply) => {
    const f = appliance.findings().find((x) => x.id === req.params.id);
    if (!f) return reply.code(404).send({ error: `no active finding ${req.params.id}` });
    return f;
  });

  // Run the analyzers now (e.g. right after a fix) — changes nothing outside, but still needs the token.
  app.post('/api/v1/analyze', { preHandler: requireToken(token) }, async () => {
    const findings = appliance.analyzeNow();
    return { findings: findings.length };
  });

  app.get('/api/v1/plans', async () => appliance.plans());

  app.get<{ Params: { id: string } }>('/api/v1/plans/:id', async (req, reply) => {
    const p = appliance.plans().plans.find((x) => x.id === req.params.id);
    if (!p) return reply.code(404).send({ error: `no plan ${req.params.id} for the active findings` });
    return p;
  });

  // Changes the world only with {"confirm": true}; without it, the dry run. Always needs the token.
  app.post<{ Params: { id: string }; Body: { confirm?: unknown } | undefined }>('/api/v1/plans/:id/apply', { preHandler: requireToken(token) }, async (req, reply) => {
    const body = req.body ?? {};
    if (typeof body !== 'object' || (body.confirm !== undefined && typeof body.confirm !== 'boolean'))
      return reply.code(400).send({ error: 'body must be JSON {"confirm": true} to apply, or {} for a dry run' });
    try {
      const r = await appliance.applyPlan(req.params.id, body.confirm === true);
      if (!r) return reply.code(404).send({ error: `no plan ${req.params.id} for the active findings` });
      return reply.code(r.status === 'refused' ? 409 : r.status === 'failed' ? 502 : 200).send(r);
    } catch (e) {
      return reply.code(e instanceof NetdiagError && e.code === 'E_PRECONDITION' ? 409 : 400).send({ error: describeError(e) });
    }
  });

  app.get<{ Querystring: FindingQuery }>('/findings', async (req, reply) => {
    const q = req.query;
    const list = filterFindings(appliance.findings(), q);
    const planOf = new Map<string, Plan>();
    for (const p of appliance.plans().plans) for (const id of p.findingIds) planOf.set(id, p);
    const filter = [q.kind && `kind ${q.kind}`, q.host && `host ${q.host}`, q.severity && `severity ${q.severity}`].filter(Boolean).join(', ');
    const body = `<h1>netdiag findings${filter ? ` — ${esc(filter)}` : ''}</h1>
<p><a href="/">status</a> · <a href="/api/v1/findings${req.url.includes('?') ? esc(req.url.slice(req.url.indexOf('?'))) : ''}">JSON</a></p>
${list.length ? list.map((f) => findingHtml(f, planOf.get(f.id))).join('\n') : '<p>No active finding matches. If an alert sent you here, the problem may have cleared since; check the alert\'s time and the JSON API.</p>'}`;
    return reply.type('text/html; charset=utf-8').send(page('netdiag findings', body));
  });

  app.get('/', async (_req, reply) => {
    const s = appliance.status();
    const all = appliance.findings();
    const counts = new Map<string, number>();
    for (const f of all) counts.set(`${f.kind}|${f.severity}`, (counts.get(`${f.kind}|${f.severity}`) ?? 0) + 1);
    const rows = s.collectors
      .map((c) => `<tr><td>${esc(c.collector)}</td><td>${esc(c.mode)}</td><td style="color:${c.up ? '#2e7d32' : '#b00020'}">${c.up ? 'up' : 'down'}</td><td>${esc(c.lastSuccess ?? '—')}</td><td>${esc(c.errors)}</td><td>${esc(c.lastError ?? '')}</td></tr>`)
      .join('');
    const frows = [...counts]
      .sort()
      .map(([k, n]) => {
        const [kind, sev] = k.split('|');
        return `<tr><td><a href="/findings?kind=${encodeURIComponent(kind!)}">${esc(kind)}</a></td><td>${esc(sev)}</td><td>${n}</td></tr>`;
      })
      .join('');
    const body = `<h1>netdiag on ${esc(s.host)}</h1>
<p>${esc(s.observations)} observations in memory · last analysis ${esc(s.lastAnalysis ?? 'not yet')} (every ${esc(s.analyzeIntervalSeconds)} s) · <a href="/metrics">metrics</a> · <a href="/api/v1/findings">findings JSON</a></p>
<h2>Findings</h2>${frows ? `<table><tr><th>kind</th><th>severity</th><th>active</th></tr>${frows}</table><p><a href="/findings">all findings with evidence and their plans</a> · <a href="/api/v1/plans">${esc(appliance.plans().plans.length)} remediation plan(s), JSON</a></p>` : '<p>None.</p>'}
<h2>Collectors</h2><table><tr><th>collector</th><th>mode</th><th>state</th><th>last success</th><th>errors</th><th>last problem</th></tr>${rows}</table>`;
    return reply.type('text/html; charset=utf-8').send(page(`netdiag on ${s.host}`, body));
  });

  return app;
}
