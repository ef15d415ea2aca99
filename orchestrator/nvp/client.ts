/**
 * A client of the NVP controller's `/ws.v1` API, as CloudStack's NiciraNvpApi uses it
 * (reference/cloudstack.md §2.7) plus what a reconciler needs that CloudStack never does:
 * paging through `_page_cursor` (CloudStack reads only the first page) and tag filters.
 *
 * - Session: POST /ws.v1/login with a form `username=&password=`; the session cookie is kept.
 *   A 401 triggers one re-login and one retry; a second 401 is an `NvpApiError` kind `auth`
 *   (CloudStack's "Two consecutive failed attempts to authenticate").
 * - Reads (GET) are retried on 503/5xx and transport errors with a short back-off; writes never.
 * - TLS: a CA file, or `insecure` (verification off, warned about at construction).
 * - The password never reaches an error message or a log line.
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { NetdiagError, redact, type ErrorCode } from '../../core/errors.js';
import { type Logger, nullLogger } from '../../core/plugin.js';

export type NvpErrorKind = 'auth' | 'forbidden' | 'not_found' | 'conflict' | 'unavailable' | 'server' | 'client' | 'transport' | 'timeout' | 'protocol';

const CODE_OF: Record<NvpErrorKind, ErrorCode> = {
  auth: 'E_AUTH',
  forbidden: 'E_AUTH',
  not_found: 'E_API',
  conflict: 'E_API',
  client: 'E_API',
  protocol: 'E_API',
  unavailable: 'E_HTTP',
  server: 'E_HTTP',
  transport: 'E_HTTP',
  timeout: 'E_TIMEOUT',
};

const REMEDY_OF: Record<NvpErrorKind, string> = {
  auth: 'check --nvp-user/--nvp-password (or NETDIAG_NVP_USER/NETDIAG_NVP_PASSWORD); the account must be able to log in to the controller',
  forbidden: 'the NVP user lacks permission for this call; use an account with read access to lswitch and control-cluster',
  not_found: 'the object is gone or the URL is not an NVP controller (--nvp-url is the base URL, https://host)',
  conflict: 'the object is in use or changed concurrently; re-read and retry',
  client: 'the controller refused the request; check the parameters',
  protocol: 'the controller answered something that is not the NVP API; check --nvp-url',
  unavailable: 'the controller cluster is unavailable (503); check its control-cluster status and retry later',
  server: 'the controller failed internally; check its logs and retry later',
  transport: 'check that --nvp-url is reachable from here, and the TLS settings (--ca-file, --insecure)',
  timeout: 'the controller did not answer in time; check its load and the network, or raise the timeout',
};

/** A typed failure of an NVP call: `kind` says what went wrong, `status` is the HTTP status when there was one. */
export class NvpApiError extends NetdiagError {
  readonly kind: NvpErrorKind;
  readonly status?: number;
  constructor(kind: NvpErrorKind, message: string, opts: { status?: number; cause?: unknown } = {}) {
    super(CODE_OF[kind], message, { cause: opts.cause, remedy: REMEDY_OF[kind] });
    this.name = 'NvpApiError';
    this.kind = kind;
    this.status = opts.status;
  }
}

export function nvpErrorKindOf(status: number): NvpErrorKind {
  if (status === 401) return 'auth';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status === 409) return 'conflict';
  if (status === 503) return 'unavailable';
  if (status >= 500) return 'server';
  return 'client';
}

export interface NvpClientOptions {
  /** Controller base URL, `https://host[:port]` (a trailing `/ws.v1` is tolerated). */
  url: string;
  user: string;
  password: string;
  /** PEM CA bundle to verify the controller's certificate. */
  caFile?: string;
  /** Do not verify TLS (warned about loudly). */
  insecure?: boolean;
  /** Per-request timeout (default 15 s). */
  timeoutMs?: number;
  /** Items per page when listing (default 100). */
  pageLength?: number;
  /** Extra attempts for reads on 5xx/transport errors (default 2). */
  readRetries?: number;
  /** First back-off between read attempts, doubled each time (default 250 ms). */
  backoffMs?: number;
  /** Upper bound on pages of one listing (default 10 000): protects against a cursor that never ends. */
  maxPages?: number;
  log?: Logger;
}

export interface NvpTag {
  scope: string;
  tag: string;
}

/** A logical switch as `GET /ws.v1/lswitch?fields=*` returns it (fields netdiag uses). */
export interface NvpLogicalSwitch {
  uuid: string;
  display_name?: string;
  tags?: NvpTag[];
  type?: string;
  port_isolation_enabled?: boolean;
  transport_zones?: { zone_uuid: string; transport_type: string }[];
  /** Creation time in ms since the epoch, when the controller reports it. */
  _create_time?: number;
  _href?: string;
}

export interface NvpAttachment {
  type: string;
  vif_uuid?: string;
  peer_port_uuid?: string;
}

export interface NvpLogicalSwitchPort {
  uuid: string;
  display_name?: string;
  tags?: NvpTag[];
  admin_status_enabled?: boolean;
  _relations?: { LogicalPortAttachment?: NvpAttachment };
}

/** Control-cluster status as `GET /ws.v1/control-cluster/status` returns it (§2.6). */
export interface NvpControlClusterStatus {
  cluster_status: string;
  configured_roles?: { role: string; majority_version?: string }[];
  [stats: string]: unknown;
}

export interface NvpListing<T> {
  items: T[];
  /** `result_count` of the last page (the controller's total), when given. */
  resultCount?: number;
  pages: number;
  /** false when the items do not add up to result_count (the list changed while paging). */
  consistent: boolean;
}

interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

interface RequestOptions {
  query?: Record<string, string | number | undefined>;
  body?: string;
  contentType?: string;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Text of an error body for a message: JSON as is, HTML without its tags, at most 200 characters. */
function bodySnippet(res: RawResponse): string {
  const ct = String(res.headers['content-type'] ?? '');
  let text = res.body;
  if (ct.includes('html')) text = text.replace(/<[^>]*>/g, ' ');
  text = text.replace(/\s+/g, ' ').trim();
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

export class NvpClient {
  readonly baseUrl: URL;
  private readonly user: string;
  private readonly password: string;
  private readonly ca?: Buffer;
  private readonly insecure: boolean;
  private readonly timeoutMs: number;
  private readonly pageLength: number;
  private readonly readRetries: number;
  private readonly backoffMs: number;
  private readonly maxPages: number;
  private readonly log: Logger;
  private cookie?: string;
  /** Logins done (tests and metrics read it). */
  logins = 0;

  constructor(opts: NvpClientOptions) {
    let u: URL;
    try {
      u = new URL(opts.url);
    } catch {
      throw new NetdiagError('E_ARGS', `--nvp-url ${redact(opts.url)} is not a URL`, { remedy: 'give the controller base URL, e.g. https://nvp.example.org' });
    }
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new NetdiagError('E_ARGS', `--nvp-url ${redact(opts.url)} must be http(s)://`);
    if (u.username || u.password) throw new NetdiagError('E_ARGS', `--nvp-url must not carry credentials; use --nvp-user/--nvp-password`);
    u.pathname = u.pathname.replace(/\/+$/, '').replace(/\/ws\.v1$/, '');
    this.baseUrl = u;
    if (!opts.user || !opts.password) throw new NetdiagError('E_ARGS', 'the NVP user and password are both required', { remedy: 'give --nvp-user and --nvp-password (or NETDIAG_NVP_USER/NETDIAG_NVP_PASSWORD)' });
    this.user = opts.user;
    this.password = opts.password;
    this.log = opts.log ?? nullLogger;
    if (opts.caFile) {
      try {
        this.ca = readFileSync(opts.caFile);
      } catch (e) {
        throw new NetdiagError('E_ARGS', `CA file ${opts.caFile} could not be read: ${(e as Error).message}`);
      }
    }
    this.insecure = opts.insecure === true;
    if (this.insecure && u.protocol === 'https:') {
      this.log.warn(`TLS verification of the NVP controller ${u.host} is OFF (--insecure): anyone on the path can read the session`);
      process.emitWarning(`netdiag: TLS verification of the NVP controller ${u.host} is disabled (--insecure)`);
    }
    this.timeoutMs = opts.timeoutMs ?? 15_000;
    this.pageLength = opts.pageLength ?? 100;
    this.readRetries = opts.readRetries ?? 2;
    this.backoffMs = opts.backoffMs ?? 250;
    this.maxPages = opts.maxPages ?? 10_000;
  }

  /** The URL without credentials, for reports. */
  get source(): string {
    return `${this.baseUrl.origin}${this.prefix}/ws.v1`;
  }

  /** The base URL's path without a trailing slash ('' for a controller at the root). */
  private get prefix(): string {
    return this.baseUrl.pathname.replace(/\/+$/, '');
  }

  private scrub(text: string): string {
    return redact(text, [this.password, this.cookie?.split('=')[1]]);
  }

  private raw(method: string, path: string, opts: RequestOptions, withCookie: boolean): Promise<RawResponse> {
    const url = new URL(`${this.prefix}${path}`, this.baseUrl.origin);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (withCookie && this.cookie) headers.Cookie = this.cookie;
    if (opts.body !== undefined) {
      headers['Content-Type'] = opts.contentType ?? 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(opts.body));
    }
    const isHttps = url.protocol === 'https:';
    const req = (isHttps ? httpsRequest : httpRequest)(url, {
      method,
      headers,
      ...(isHttps ? { ca: this.ca, rejectUnauthorized: !this.insecure } : {}),
    });
    const what = `${method} ${url.pathname}`;
    return new Promise<RawResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        req.destroy(new NvpApiError('timeout', `NVP ${what} at ${url.host} timed out after ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > 256 << 20) req.destroy(new NvpApiError('protocol', `NVP ${what}: response larger than 256 MiB`));
          else chunks.push(c);
        });
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', (e) => {
          clearTimeout(timer);
          reject(e);
        });
      });
      req.on('error', (e) => {
        clearTimeout(timer);
        if (e instanceof NvpApiError) reject(e);
        else reject(new NvpApiError('transport', `NVP ${what} at ${url.host} failed: ${this.scrub(describeTransport(e))}`, { cause: e }));
      });
      req.end(opts.body);
    });
  }

  /** Log in and keep the session cookie. Wrong credentials are an `auth` error at once. */
  async login(): Promise<void> {
    const body = `username=${encodeURIComponent(this.user)}&password=${encodeURIComponent(this.password)}`;
    const res = await this.raw('POST', '/ws.v1/login', { body, contentType: 'application/x-www-form-urlencoded' }, false);
    this.logins++;
    if (res.status === 401 || res.status === 403) {
      throw new NvpApiError('auth', `NVP login as ${JSON.stringify(this.user)} at ${this.baseUrl.host} was refused (HTTP ${res.status})`, { status: res.status });
    }
    if (res.status < 200 || res.status > 299) {
      throw new NvpApiError(nvpErrorKindOf(res.status), `NVP login at ${this.baseUrl.host} failed: HTTP ${res.status} ${this.scrub(bodySnippet(res))}`, { status: res.status });
    }
    const setCookie = res.headers['set-cookie'] ?? [];
    const pairs = setCookie.map((c) => c.split(';')[0]!.trim()).filter((c) => c.includes('='));
    if (pairs.length === 0) throw new NvpApiError('protocol', `NVP login at ${this.baseUrl.host} returned no session cookie`, { status: res.status });
    this.cookie = pairs.join('; ');
    this.log.debug('NVP login ok', { controller: this.baseUrl.host, server: res.headers.server });
  }

  /**
   * One API call with the session: logs in when there is no session, re-logs in once on 401,
   * retries reads on 5xx/transport errors. Returns the parsed JSON (or undefined for no content).
   */
  async request<T = unknown>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, opts: RequestOptions = {}): Promise<T | undefined> {
    const read = method === 'GET';
    let attempt = 0;
    let reloggedIn = false;
    for (;;) {
      if (!this.cookie) {
        await this.login();
        reloggedIn = true;
      }
      let res: RawResponse;
      try {
        res = await this.raw(method, path, opts, true);
      } catch (e) {
        if (read && e instanceof NvpApiError && (e.kind === 'transport' || e.kind === 'timeout') && attempt < this.readRetries) {
          await sleep(this.backoffMs * 2 ** attempt++);
          continue;
        }
        throw e;
      }
      if (res.status === 401) {
        if (reloggedIn) {
          throw new NvpApiError('auth', `NVP ${method} ${path}: two consecutive failed attempts to authenticate (HTTP 401 right after a login)`, { status: 401 });
        }
        this.cookie = undefined; // the session expired: log in again, once
        continue;
      }
      if (res.status >= 200 && res.status <= 299) {
        if (res.status === 204 || res.body.trim() === '') return undefined;
        try {
          return JSON.parse(res.body) as T;
        } catch {
          throw new NvpApiError('protocol', `NVP ${method} ${path}: response is not JSON (${this.scrub(bodySnippet(res)).slice(0, 80)})`, { status: res.status });
        }
      }
      const kind = nvpErrorKindOf(res.status);
      if (read && (kind === 'unavailable' || kind === 'server') && attempt < this.readRetries) {
        const retryAfter = Number(res.headers['retry-after']);
        await sleep(Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(retryAfter * 1000, 10_000) : this.backoffMs * 2 ** attempt);
        attempt++;
        continue;
      }
      const detail = bodySnippet(res);
      throw new NvpApiError(kind, `NVP ${method} ${path}: HTTP ${res.status}${detail ? ` — ${this.scrub(detail)}` : ''}`, { status: res.status });
    }
  }

  /**
   * Every item of a list, following `page_cursor` until the controller has no more. `_page_length`
   * asks for a page size; the controller may return fewer.
   */
  async listAll<T>(path: string, query: Record<string, string | number | undefined> = {}): Promise<NvpListing<T>> {
    const items: T[] = [];
    let cursor: string | undefined;
    let resultCount: number | undefined;
    const seen = new Set<string>();
    let pages = 0;
    for (;;) {
      if (pages >= this.maxPages) throw new NvpApiError('protocol', `NVP GET ${path}: more than ${this.maxPages} pages; stopping`);
      const page = await this.request<{ results?: T[]; result_count?: number; page_cursor?: string }>('GET', path, {
        query: { ...query, _page_length: this.pageLength, _page_cursor: cursor },
      });
      pages++;
      if (!page || !Array.isArray(page.results)) throw new NvpApiError('protocol', `NVP GET ${path}: the answer has no "results" list`);
      items.push(...page.results);
      if (typeof page.result_count === 'number') resultCount = page.result_count;
      cursor = page.page_cursor || undefined;
      if (!cursor) break;
      if (seen.has(cursor)) throw new NvpApiError('protocol', `NVP GET ${path}: the controller returned the same page cursor twice`);
      seen.add(cursor);
    }
    return { items, resultCount, pages, consistent: resultCount === undefined || resultCount === items.length };
  }

  /** Logical switches with all fields, optionally only those carrying a tag scope (CloudStack's `cs_account`). */
  listLogicalSwitches(filter: { tagScope?: string; tag?: string } = {}): Promise<NvpListing<NvpLogicalSwitch>> {
    return this.listAll<NvpLogicalSwitch>('/ws.v1/lswitch', { fields: '*', tag_scope: filter.tagScope, tag: filter.tag });
  }

  /** The ports of one logical switch with their attachments (VIF uuid = CloudStack NIC uuid). */
  listLogicalSwitchPorts(lswitchUuid: string): Promise<NvpListing<NvpLogicalSwitchPort>> {
    return this.listAll<NvpLogicalSwitchPort>(`/ws.v1/lswitch/${encodeURIComponent(lswitchUuid)}/lport`, { fields: '*', relations: 'LogicalPortAttachment' });
  }

  async controlClusterStatus(): Promise<NvpControlClusterStatus> {
    const s = await this.request<NvpControlClusterStatus>('GET', '/ws.v1/control-cluster/status');
    if (!s || typeof s.cluster_status !== 'string') throw new NvpApiError('protocol', 'NVP GET /ws.v1/control-cluster/status: no cluster_status in the answer');
    return s;
  }

  /** Delete a logical switch (204). A 404 is an `NvpApiError` kind `not_found`; callers treat it as already done. */
  async deleteLogicalSwitch(uuid: string): Promise<void> {
    await this.request('DELETE', `/ws.v1/lswitch/${encodeURIComponent(uuid)}`);
  }
}

function describeTransport(e: Error): string {
  const code = (e as NodeJS.ErrnoException).code;
  return code ? `${code}: ${e.message}` : e.message;
}
