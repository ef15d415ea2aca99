/**
 * A client of the CloudStack management-server API (reference/cloudstack.md §3):
 *
 * - Signed requests (sign.ts) with signatureversion 3 and `expires`; the JSON envelope
 *   `{"<command>response": {...}}` unwrapped; errors mapped to typed errors (errors.ts).
 * - `list()` pages with `page`/`pagesize` until `count` is reached; `listPaged()` also says
 *   whether the listing is complete (every page arrived, the count held, nothing repeated).
 * - `runAsync()` polls `queryAsyncJobResult` with back-off until the job ends or a deadline.
 * - Reads (`list*`, `query*`) are retried on 429/5xx/transport errors, bounded with back-off;
 *   writes never (a retried write could run twice).
 * - A client-side rate limit spaces request starts.
 * - TLS: a CA file, or `insecure` (verification off, warned about at construction).
 * - The api key, signature and secret key never reach an error or a log line: both show the
 *   command and the endpoint without its query.
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { NetdiagError, redact } from '../../core/errors.js';
import { type Logger, nullLogger } from '../../core/plugin.js';
import {
  CloudStackApiError,
  CloudStackJobError,
  CloudStackProtocolError,
  CloudStackTimeoutError,
  CloudStackTransportError,
  cloudStackErrorFor,
} from './errors.js';
import { buildSignedQuery, formatExpires } from './sign.js';

export type Params = Record<string, string | number | boolean | undefined>;

export interface CloudStackClientOptions {
  /** The API endpoint, `http(s)://host:8080/client/api`. */
  url: string;
  apiKey: string;
  secretKey: string;
  /** PEM CA bundle to verify the server's certificate. */
  caFile?: string;
  /** Do not verify TLS (warned about loudly). */
  insecure?: boolean;
  /** Per-request timeout (default 30 s). */
  timeoutMs?: number;
  /** Request starts per second at most (default 20). */
  rateLimitPerSecond?: number;
  /** Items per page when listing (default 500 = CloudStack's default.page.size). */
  pageSize?: number;
  /** Extra attempts for reads (default 3). */
  readRetries?: number;
  /** First back-off between read attempts, doubled each time (default 250 ms). */
  backoffMs?: number;
  /** Lifetime of a signature (`expires`, default 300 s). */
  expiresSeconds?: number;
  /** Upper bound on pages of one listing (default 10 000). */
  maxPages?: number;
  /** Replace the HTTP transport (tests); TLS options do not apply then. */
  fetchImpl?: typeof fetch;
  log?: Logger;
  /** Clock (tests). */
  now?: () => number;
}

export interface CloudStackListing<T> {
  items: T[];
  /** `count` of the first page (the server's total), 0 for an empty `{}` answer. */
  count: number;
  pages: number;
  /** true only when every page arrived, the count stayed the same and the items add up to it. */
  complete: boolean;
  /** Why not complete. */
  problem?: string;
}

export interface AsyncJobResult {
  jobid: string;
  jobstatus: number;
  jobresultcode?: number;
  jobresulttype?: string;
  jobresult?: unknown;
  jobinstancetype?: string;
  jobinstanceid?: string;
  cmd?: string;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Commands that only read: the only ones retried. */
export function isReadCommand(command: string): boolean {
  return /^(list|query)/i.test(command);
}

interface RawAnswer {
  status: number;
  body: string;
  retryAfter?: string;
}

export class CloudStackClient {
  /** The endpoint without query or credentials, for reports and errors. */
  readonly source: string;
  private readonly url: URL;
  private readonly opts: CloudStackClientOptions;
  private readonly ca?: Buffer;
  private readonly log: Logger;
  private tokens = Number.POSITIVE_INFINITY;
  private refilledAt = Date.now();

  constructor(opts: CloudStackClientOptions) {
    let u: URL;
    try {
      u = new URL(opts.url);
    } catch {
      throw new NetdiagError('E_ARGS', `--cloudstack-url ${redact(opts.url)} is not a URL`, { remedy: 'give the API endpoint, e.g. http://mgmt:8080/client/api' });
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new NetdiagError('E_ARGS', `--cloudstack-url ${redact(opts.url)} must be http(s)`, { remedy: 'e.g. https://mgmt:8443/client/api' });
    if (!opts.apiKey || !opts.secretKey) throw new NetdiagError('E_ARGS', `--cloudstack-url ${u.origin}${u.pathname} needs --api-key and --secret-key`, { remedy: 'give them on the command line, in NETDIAG_API_KEY/NETDIAG_SECRET_KEY or in the config file' });
    u.search = '';
    u.hash = '';
    u.username = '';
    u.password = '';
    this.url = u;
    this.source = `${u.origin}${u.pathname}`;
    this.opts = opts;
    this.log = opts.log ?? nullLogger;
    if (opts.caFile) {
      try {
        this.ca = readFileSync(opts.caFile);
      } catch (e) {
        throw new NetdiagError('E_ARGS', `CA file ${opts.caFile} cannot be read: ${(e as Error).message}`, { remedy: 'give a PEM bundle of the CA that signed the management server\'s certificate' });
      }
    }
    if (opts.insecure && u.protocol === 'https:') {
      const msg = `TLS verification is OFF for CloudStack ${this.source} (--insecure): anyone on the path can read and change the API traffic`;
      if (opts.log) opts.log.warn(msg);
      else process.emitWarning(msg, 'InsecureTLSWarning');
    }
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  /**
   * Wait for the rate limit: a token bucket of `rate` tokens refilled at `rate` per second, so a
   * burst of one second's worth goes at once and a sustained run stays under `rate` calls per
   * second (CloudStack's api.throttling counts calls per interval).
   */
  private async throttle(): Promise<void> {
    const rate = this.opts.rateLimitPerSecond ?? 20;
    if (!(rate > 0) || !Number.isFinite(rate)) return;
    const t = Date.now();
    this.tokens = Math.min(rate, this.tokens + ((t - this.refilledAt) * rate) / 1000);
    this.refilledAt = t;
    this.tokens -= 1;
    if (this.tokens < 0) await sleep((-this.tokens * 1000) / rate);
  }

  private signedUrl(command: string, params: Params): string {
    const p: Record<string, string> = {};
    for (const [k, v] of Object.entries(params)) if (v !== undefined) p[k.toLowerCase()] = String(v);
    p.command = command;
    p.response = 'json';
    p.apikey = this.opts.apiKey;
    p.signatureversion = '3';
    p.expires = formatExpires(this.now() + (this.opts.expiresSeconds ?? 300) * 1000);
    return `${this.source}?${buildSignedQuery(p, this.opts.secretKey)}`;
  }

  private async send(command: string, url: string): Promise<RawAnswer> {
    const timeoutMs = this.opts.timeoutMs ?? 30_000;
    if (this.opts.fetchImpl) {
      const ac = new AbortController();
      const timer = setTimeout(() => ac.abort(), timeoutMs);
      try {
        const r = await this.opts.fetchImpl(url, { signal: ac.signal, headers: { accept: 'application/json' } });
        return { status: r.status, body: await r.text(), retryAfter: r.headers.get('retry-after') ?? undefined };
      } catch (e) {
        if (ac.signal.aborted) throw new CloudStackTimeoutError({ command, status: 0, errortext: `no answer within ${timeoutMs} ms from ${this.source}` });
        throw new CloudStackTransportError({ command, status: 0, errortext: `${this.source}: ${redact((e as Error).message)}` });
      } finally {
        clearTimeout(timer);
      }
    }
    const https = this.url.protocol === 'https:';
    return await new Promise<RawAnswer>((resolve, reject) => {
      const req = (https ? httpsRequest : httpRequest)(
        url,
        { method: 'GET', headers: { accept: 'application/json' }, timeout: timeoutMs, ...(https ? { ca: this.ca, rejectUnauthorized: !this.opts.insecure } : {}) },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > 256 << 20) req.destroy(new Error('answer larger than 256 MiB'));
            else chunks.push(c);
          });
          res.on('end', () => {
            const ra = res.headers['retry-after'];
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), retryAfter: Array.isArray(ra) ? ra[0] : ra });
          });
          res.on('error', (e) => reject(new CloudStackTransportError({ command, status: 0, errortext: `${this.source}: ${redact(e.message)}` })));
        },
      );
      req.on('timeout', () => {
        req.destroy();
        reject(new CloudStackTimeoutError({ command, status: 0, errortext: `no answer within ${timeoutMs} ms from ${this.source}` }));
      });
      req.on('error', (e: NodeJS.ErrnoException) => reject(new CloudStackTransportError({ command, status: 0, errortext: `${this.source}: ${e.code ? `${e.code} ` : ''}${redact(e.message)}`, cause: undefined })));
      req.end();
    });
  }

  /** One attempt: send, parse, unwrap the envelope or throw a typed error. */
  private async once<T>(command: string, params: Params): Promise<T> {
    await this.throttle();
    const url = this.signedUrl(command, params);
    const t0 = Date.now();
    const ans = await this.send(command, url);
    this.log.debug('cloudstack call', { command, status: ans.status, ms: Date.now() - t0 });
    const key = `${command.toLowerCase()}response`;
    let json: unknown;
    try {
      json = JSON.parse(ans.body);
    } catch {
      /* not JSON: a proxy's page, or not CloudStack at all */
    }
    let inner: Record<string, unknown> | undefined;
    if (isObj(json)) {
      if (isObj(json[key])) inner = json[key] as Record<string, unknown>;
      else {
        const keys = Object.keys(json).filter((k) => k.endsWith('response') && isObj(json[k]));
        if (keys.length === 1) inner = json[keys[0]!] as Record<string, unknown>;
      }
    }
    const errorcode = inner && typeof inner.errorcode === 'number' ? inner.errorcode : undefined;
    if (ans.status !== 200 || errorcode !== undefined) {
      const snippet = inner ? undefined : ans.body.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 160);
      const err = cloudStackErrorFor({
        command,
        status: ans.status,
        errorcode,
        cserrorcode: inner && typeof inner.cserrorcode === 'number' ? inner.cserrorcode : undefined,
        errortext: redact(inner && typeof inner.errortext === 'string' ? inner.errortext : `HTTP ${ans.status}${snippet ? `: ${snippet}` : ''}`, [this.opts.apiKey, this.opts.secretKey]),
      });
      (err as { retryAfterMs?: number }).retryAfterMs = retryAfterMs(ans.retryAfter);
      throw err;
    }
    if (!inner) throw new CloudStackProtocolError({ command, status: ans.status, errortext: `the answer is not a CloudStack "${key}" envelope` });
    return inner as T;
  }

  /** Call a command; reads are retried on transient failures. Returns the envelope's content. */
  async request<T = Record<string, unknown>>(command: string, params: Params = {}): Promise<T> {
    const retries = isReadCommand(command) ? (this.opts.readRetries ?? 3) : 0;
    let backoff = this.opts.backoffMs ?? 250;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once<T>(command, params);
      } catch (e) {
        if (!(e instanceof CloudStackApiError) || !e.retryable || attempt >= retries) throw e;
        const wait = Math.min(Math.max(backoff, (e as { retryAfterMs?: number }).retryAfterMs ?? 0), 10_000);
        this.log.warn('cloudstack read failed, retrying', { command, attempt: attempt + 1, error: e.message, waitMs: wait });
        await sleep(wait);
        backoff *= 2;
      }
    }
  }

  /** Every item of a list command, paging until `count`; also says whether the listing is complete. */
  async listPaged<T = Record<string, unknown>>(command: string, itemKey: string, params: Params = {}): Promise<CloudStackListing<T>> {
    const pageSize = this.opts.pageSize ?? 500;
    const maxPages = this.opts.maxPages ?? 10_000;
    const items: T[] = [];
    const seen = new Set<string>();
    let count: number | undefined;
    let problem: string | undefined;
    let pages = 0;
    for (let page = 1; page <= maxPages; page++) {
      const r = await this.request<Record<string, unknown>>(command, { ...params, page, pagesize: pageSize });
      pages++;
      const got = Array.isArray(r[itemKey]) ? (r[itemKey] as T[]) : [];
      const c = typeof r.count === 'number' ? r.count : got.length === 0 ? 0 : undefined;
      if (c === undefined) {
        problem = `page ${page} has ${got.length} ${itemKey} item(s) but no count`;
      } else if (count === undefined) count = c;
      else if (c !== count) problem ??= `the count changed from ${count} to ${c} while paging (objects were added or removed)`;
      for (const it of got) {
        const id = isObj(it) && typeof it.id === 'string' ? it.id : undefined;
        if (id !== undefined) {
          if (seen.has(id)) {
            problem ??= `${itemKey} ${id} came twice while paging`;
            continue;
          }
          seen.add(id);
        }
        items.push(it);
      }
      if (got.length === 0 || count === undefined || items.length >= count || got.length < pageSize) break;
      if (page === maxPages) problem ??= `stopped after ${maxPages} pages`;
    }
    count ??= items.length;
    if (!problem && items.length !== count) problem = `count ${count} but ${items.length} ${itemKey} item(s) read`;
    return { items, count, pages, complete: problem === undefined, ...(problem ? { problem } : {}) };
  }

  /** Every item of a list command; throws when the listing is not complete. */
  async list<T = Record<string, unknown>>(command: string, itemKey: string, params: Params = {}): Promise<T[]> {
    const l = await this.listPaged<T>(command, itemKey, params);
    if (!l.complete) throw new CloudStackProtocolError({ command, status: 200, errortext: `incomplete listing: ${l.problem}` });
    return l.items;
  }

  /**
   * Start an async command and wait for its job: `jobstatus` 0 pending, 1 succeeded (returns
   * `jobresult`), 2 failed (CloudStackJobError with the job's errortext). Polls with back-off
   * (0.5 s ×1.5 up to 5 s) until `deadlineMs` (default 10 min), then CloudStackTimeoutError.
   * A command that answers without a job id returns its answer at once.
   */
  async runAsync<T = unknown>(command: string, params: Params = {}, o: { deadlineMs?: number; pollMs?: number; maxPollMs?: number } = {}): Promise<T> {
    const started = this.now();
    const start = await this.request<Record<string, unknown>>(command, params);
    const jobid = typeof start.jobid === 'string' ? start.jobid : undefined;
    if (!jobid) return start as T;
    const deadline = started + (o.deadlineMs ?? 600_000);
    let wait = o.pollMs ?? 500;
    for (;;) {
      const left = deadline - this.now();
      if (left <= 0) throw new CloudStackTimeoutError({ command, status: 0, jobid, errortext: `job ${jobid} still pending after ${o.deadlineMs ?? 600_000} ms` });
      await sleep(Math.min(wait, left));
      wait = Math.min(wait * 1.5, o.maxPollMs ?? 5000);
      const j = await this.request<AsyncJobResult>('queryAsyncJobResult', { jobid });
      if (j.jobstatus === 0 || j.jobstatus === undefined) continue;
      if (j.jobstatus === 1) return j.jobresult as T;
      const res = isObj(j.jobresult) ? j.jobresult : {};
      throw new CloudStackJobError({
        command,
        status: 200,
        jobid,
        jobresult: j.jobresult,
        errorcode: typeof res.errorcode === 'number' ? res.errorcode : j.jobresultcode,
        cserrorcode: typeof res.cserrorcode === 'number' ? res.cserrorcode : undefined,
        errortext: typeof res.errortext === 'string' ? res.errortext : typeof j.jobresult === 'string' ? j.jobresult : undefined,
      });
    }
  }
}

function retryAfterMs(v: string | undefined): number | undefined {
  if (!v) return undefined;
  const s = Number(v);
  if (Number.isFinite(s)) return Math.max(0, s * 1000);
  const d = Date.parse(v);
  return Number.isNaN(d) ? undefined : Math.max(0, d - Date.now());
}
