/**
 * An NVP controller simulator: a real HTTP(S) server of the `/ws.v1` API as CloudStack's
 * NiciraNvpApi uses it (reference/cloudstack.md §2.6–2.7), seeded from lab/inventory.ts.
 *
 * Faithful where netdiag depends on it: form login with a session cookie, 401 for a missing or
 * expired session, `{"results": [...], "result_count": N}` lists with `fields=*`, `uuid`,
 * `tag_scope`/`tag` filters and paging (`_page_length`, `_page_cursor` in, `page_cursor` out),
 * lports with `relations=LogicalPortAttachment`, control-cluster status, 204 deletes, and error
 * bodies as text/html. Tests drive the faults through the returned controls.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { lswitches as seedLswitches, nvpCredentials, TRANSPORT_ZONE_UUID, type SeedLswitch } from '../inventory.js';

export interface NvpSimFault {
  /** Only requests whose `METHOD /path` matches (substring or RegExp); all requests when absent. */
  match?: string | RegExp;
  /** HTTP status to answer (401, 403, 404, 409, 500, 503...). 0 = drop the connection. */
  status: number;
  /** How many matching requests get the fault (default 1; Infinity for always). */
  times?: number;
  /** Let this many matching requests through first (e.g. fail the third page). */
  after?: number;
  /** Delay before answering (slow controller). */
  delayMs?: number;
  body?: string;
  contentType?: string;
}

export interface NvpSimOptions {
  host?: string;
  port?: number;
  /** Serve HTTPS with this key/cert (PEM); plain HTTP otherwise (fine on loopback). */
  tls?: { key: string | Buffer; cert: string | Buffer };
  user?: string;
  password?: string;
  /** The switches to serve (default: lab/inventory.ts). */
  lswitches?: SeedLswitch[];
  /** Largest page the controller hands out whatever `_page_length` asks (default 1000). */
  maxPageLength?: number;
  clusterStatus?: string;
}

export interface NvpSimRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  status: number;
  hadSession: boolean;
}

interface SimPort {
  uuid: string;
  display_name: string;
  tags: { scope: string; tag: string }[];
  admin_status_enabled: boolean;
  attachment?: { type: string; vif_uuid?: string };
}

interface SimSwitch {
  uuid: string;
  display_name: string;
  tags: { scope: string; tag: string }[];
  created: number;
  ports: SimPort[];
}

export interface NvpSimulator {
  url: string;
  user: string;
  password: string;
  close(): Promise<void>;
  /** Every request seen, in order (no bodies, no secrets). */
  requests: NvpSimRequest[];
  /** Queue a fault. */
  inject(f: NvpSimFault): void;
  clearFaults(): void;
  /** Forget every session: the next call with an old cookie gets 401 (session expiry). */
  expireSessions(): void;
  /** Answer 401 to every call even with a fresh session (a 401 loop). */
  rejectSessions(on: boolean): void;
  /** Change the password the controller accepts (a rotated credential). */
  setPassword(p: string): void;
  setClusterStatus(s: string): void;
  /** Switch uuids the controller holds now. */
  lswitchUuids(): string[];
  addLswitch(s: SeedLswitch): void;
  logins(): number;
}

function html(status: number, title: string): string {
  return `<html><head><title>${status} ${title}</title></head><body><h1>${title}</h1></body></html>`;
}

const REASON: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 409: 'Conflict', 500: 'Internal Server Error', 503: 'Service Unavailable' };

function project<T extends Record<string, unknown>>(obj: T, fields: string | undefined): Record<string, unknown> {
  if (fields === '*') return obj;
  const keep = new Set(['_href', ...(fields ? fields.split(',').map((f) => f.trim()) : ['uuid'])]);
  return Object.fromEntries(Object.entries(obj).filter(([k]) => keep.has(k)));
}

export async function startNvpSimulator(opts: NvpSimOptions = {}): Promise<NvpSimulator> {
  const user = opts.user ?? nvpCredentials.user;
  let password = opts.password ?? nvpCredentials.password;
  let clusterStatus = opts.clusterStatus ?? 'stable';
  const maxPage = opts.maxPageLength ?? 1000;
  const sessions = new Set<string>();
  let rejectAll = false;
  let loginCount = 0;
  const faults: (NvpSimFault & { seen: number; used: number })[] = [];
  const requests: NvpSimRequest[] = [];
  const switches = new Map<string, SimSwitch>();
  /** Cursor → remaining uuids of a listing, so pages stay consistent while switches change. */
  const cursors = new Map<string, { ids: string[]; offset: number }>();

  const addSeed = (s: SeedLswitch) =>
    switches.set(s.uuid, {
      uuid: s.uuid,
      display_name: s.display_name,
      tags: s.tags.map((t) => ({ ...t })),
      created: Date.parse(s.created),
      ports: s.ports.map((p) => ({
        uuid: p.uuid,
        display_name: p.display_name,
        tags: s.tags.map((t) => ({ ...t })),
        admin_status_enabled: true,
        attachment: p.vif_uuid ? { type: 'VifAttachment', vif_uuid: p.vif_uuid } : undefined,
      })),
    });
  for (const s of opts.lswitches ?? seedLswitches) addSeed(s);

  const switchJson = (s: SimSwitch) => ({
    _href: `/ws.v1/lswitch/${s.uuid}`,
    uuid: s.uuid,
    display_name: s.display_name,
    tags: s.tags,
    type: 'LogicalSwitchConfig',
    port_isolation_enabled: false,
    transport_zones: [{ zone_uuid: TRANSPORT_ZONE_UUID, transport_type: 'stt' }],
    _schema: '/ws.v1/schema/LogicalSwitchConfig',
    _create_time: s.created,
  });
  const portJson = (s: SimSwitch, p: SimPort, relations: string[]) => ({
    _href: `/ws.v1/lswitch/${s.uuid}/lport/${p.uuid}`,
    uuid: p.uuid,
    display_name: p.display_name,
    tags: p.tags,
    admin_status_enabled: p.admin_status_enabled,
    type: 'LogicalSwitchPortConfig',
    portno: s.ports.indexOf(p) + 1,
    ...(relations.includes('LogicalPortAttachment')
      ? { _relations: { LogicalPortAttachment: p.attachment ? { ...p.attachment, _href: `/ws.v1/lswitch/${s.uuid}/lport/${p.uuid}/attachment` } : { type: 'NoAttachment' } } }
      : {}),
  });

  const send = (res: ServerResponse, status: number, body?: unknown, headers: Record<string, string | string[]> = {}) => {
    if (status === 204 || body === undefined) {
      res.writeHead(status, headers).end();
      return;
    }
    const isText = typeof body === 'string';
    const text = isText ? body : JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': isText ? 'text/html; charset=utf-8' : 'application/json', Server: 'NVP/3.2.1', ...headers }).end(text);
  };
  const error = (res: ServerResponse, status: number) => send(res, status, html(status, REASON[status] ?? 'Error'));

  /** A page of a listing: `ids` in order, the page from the cursor (or the start). */
  const page = (ids: string[], query: Record<string, string>): { slice: string[]; cursor?: string } | 'bad-cursor' => {
    const len = Math.max(1, Math.min(maxPage, Number(query._page_length) > 0 ? Number(query._page_length) : maxPage));
    let offset = 0;
    let list = ids;
    const c = query._page_cursor ?? query.page_cursor;
    if (c) {
      const state = cursors.get(c);
      if (!state) return 'bad-cursor';
      cursors.delete(c);
      list = state.ids;
      offset = state.offset;
    }
    const slice = list.slice(offset, offset + len);
    if (offset + len >= list.length) return { slice };
    const cursor = randomBytes(12).toString('hex');
    cursors.set(cursor, { ids: list, offset: offset + len });
    return { slice, cursor };
  };

  const readBody = (req: IncomingMessage) =>
    new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });

  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://sim');
    const query = Object.fromEntries(url.searchParams);
    const method = req.method ?? 'GET';
    const path = url.pathname.replace(/\/+$/, '');
    const cookie = /nvp_sessionid=([0-9a-f]+)/.exec(req.headers.cookie ?? '')?.[1];
    const rec: NvpSimRequest = { method, path, query, status: 0, hadSession: cookie !== undefined && sessions.has(cookie) };
    requests.push(rec);
    res.on('finish', () => (rec.status = res.statusCode));
    const body = await readBody(req);

    const key = `${method} ${path}`;
    for (const f of faults) {
      const hit = f.match === undefined || (typeof f.match === 'string' ? key.includes(f.match) : f.match.test(key));
      if (!hit || f.used >= (f.times ?? 1)) continue;
      if (f.seen++ < (f.after ?? 0)) continue;
      f.used++;
      if (f.delayMs) await new Promise((r) => setTimeout(r, f.delayMs));
      if (f.status === 0) {
        req.socket.destroy();
        return;
      }
      if (f.body !== undefined) send(res, f.status, f.body, f.contentType ? { 'Content-Type': f.contentType } : {});
      else error(res, f.status);
      return;
    }

    if (path === '/ws.v1/login') {
      if (method !== 'POST') return error(res, 405);
      const form = new URLSearchParams(body);
      loginCount++;
      if (form.get('username') !== user || form.get('password') !== password) return error(res, 401);
      const sid = randomBytes(16).toString('hex');
      sessions.add(sid);
      return send(res, 200, undefined, { 'Set-Cookie': [`nvp_sessionid=${sid}; Path=/; HttpOnly; Secure`], Server: 'NVP/3.2.1' });
    }
    if (!path.startsWith('/ws.v1/')) return error(res, 404);
    if (!cookie || !sessions.has(cookie) || rejectAll) {
      rec.hadSession = false;
      return error(res, 401);
    }

    if (path === '/ws.v1/control-cluster/status') {
      if (method !== 'GET') return error(res, 405);
      const stats = (n: number) => ({ error_state_count: 0, registered_count: n, active_count: clusterStatus === 'stable' ? n : Math.max(0, n - 1) });
      return send(res, 200, {
        cluster_status: clusterStatus,
        node_stats: stats(3),
        queue_stats: stats(0),
        port_stats: stats([...switches.values()].reduce((n, s) => n + s.ports.length, 0)),
        routerport_stats: stats(0),
        switch_stats: stats(switches.size),
        zone_stats: stats(1),
        router_stats: stats(0),
        security_profile_stats: stats(0),
        configured_roles: [
          { role: 'api_provider', majority_version: '3.2.1' },
          { role: 'switch_manager', majority_version: '3.2.1' },
          { role: 'logical_manager', majority_version: '3.2.1' },
        ],
      });
    }

    const m = /^\/ws\.v1\/lswitch(?:\/([^/]+)(?:\/lport(?:\/([^/]+)(\/attachment)?)?)?)?$/.exec(path);
    if (!m) return error(res, 404);
    const [, lsId, lpId, attach] = m;
    const isPortsPath = path.includes('/lport');

    if (!lsId) {
      if (method === 'GET') {
        let list = [...switches.values()];
        if (query.uuid) list = list.filter((s) => s.uuid === query.uuid);
        if (query.tag_scope) list = list.filter((s) => s.tags.some((t) => t.scope === query.tag_scope && (query.tag === undefined || t.tag === query.tag)));
        else if (query.tag) list = list.filter((s) => s.tags.some((t) => t.tag === query.tag));
        const p = page(list.map((s) => s.uuid), query);
        if (p === 'bad-cursor') return error(res, 400);
        const results = p.slice.map((id) => switches.get(id)).filter((s): s is SimSwitch => s !== undefined).map((s) => project(switchJson(s), query.fields));
        return send(res, 200, { results, result_count: list.length, ...(p.cursor ? { page_cursor: p.cursor } : {}) });
      }
      if (method === 'POST') {
        let b: { display_name?: string; tags?: { scope: string; tag: string }[] };
        try {
          b = JSON.parse(body);
        } catch {
          return error(res, 400);
        }
        const s: SimSwitch = { uuid: randomUUID(), display_name: b.display_name ?? '', tags: b.tags ?? [], created: Date.now(), ports: [] };
        switches.set(s.uuid, s);
        return send(res, 201, switchJson(s));
      }
      return error(res, 405);
    }

    const sw = switches.get(lsId);
    if (!sw) return error(res, 404);
    if (!isPortsPath) {
      if (method === 'GET') return send(res, 200, project(switchJson(sw), query.fields ?? '*'));
      if (method === 'DELETE') {
        switches.delete(sw.uuid);
        return send(res, 204);
      }
      return error(res, 405);
    }
    const relations = (query.relations ?? '').split(',');
    if (!lpId) {
      if (method === 'GET') {
        let list = sw.ports;
        if (query.uuid) list = list.filter((p) => p.uuid === query.uuid);
        if (query.attachment_vif_uuid) list = list.filter((p) => p.attachment?.vif_uuid === query.attachment_vif_uuid);
        const pg = page(list.map((p) => p.uuid), query);
        if (pg === 'bad-cursor') return error(res, 400);
        const results = pg.slice.map((id) => sw.ports.find((p) => p.uuid === id)).filter((p): p is SimPort => p !== undefined).map((p) => project(portJson(sw, p, relations), query.fields));
        return send(res, 200, { results, result_count: list.length, ...(pg.cursor ? { page_cursor: pg.cursor } : {}) });
      }
      if (method === 'POST') {
        let b: { display_name?: string };
        try {
          b = JSON.parse(body);
        } catch {
          return error(res, 400);
        }
        const p: SimPort = { uuid: randomUUID(), display_name: b.display_name ?? '', tags: sw.tags.map((t) => ({ ...t })), admin_status_enabled: true };
        sw.ports.push(p);
        return send(res, 201, portJson(sw, p, []));
      }
      return error(res, 405);
    }
    const port = sw.ports.find((p) => p.uuid === lpId);
    if (!port) return error(res, 404);
    if (attach) {
      if (method !== 'PUT') return error(res, 405);
      let b: { type?: string; vif_uuid?: string };
      try {
        b = JSON.parse(body);
      } catch {
        return error(res, 400);
      }
      // CloudStack's issue #566: a VIF already attached elsewhere is a 409
      if (b.vif_uuid && [...switches.values()].some((s) => s.ports.some((p) => p !== port && p.attachment?.vif_uuid === b.vif_uuid))) return error(res, 409);
      port.attachment = { type: b.type ?? 'VifAttachment', vif_uuid: b.vif_uuid };
      return send(res, 200, port.attachment);
    }
    if (method === 'GET') return send(res, 200, portJson(sw, port, relations));
    if (method === 'DELETE') {
      sw.ports = sw.ports.filter((p) => p !== port);
      return send(res, 204);
    }
    return error(res, 405);
  };

  const server: Server = opts.tls ? createHttpsServer({ key: opts.tls.key, cert: opts.tls.cert }) : createHttpServer();
  server.on('request', (req, res) => {
    handler(req, res).catch(() => {
      if (!res.headersSent) error(res, 500);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `${opts.tls ? 'https' : 'http'}://${host}:${addr.port}`,
    user,
    get password() {
      return password;
    },
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
    inject: (f) => faults.push({ ...f, seen: 0, used: 0 }),
    clearFaults: () => void faults.splice(0),
    expireSessions: () => sessions.clear(),
    rejectSessions: (on) => void (rejectAll = on),
    setPassword: (p) => void (password = p),
    setClusterStatus: (s) => void (clusterStatus = s),
    lswitchUuids: () => [...switches.keys()],
    addLswitch: addSeed,
    logins: () => loginCount,
  };
}
