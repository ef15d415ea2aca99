/**
 * Pure mapping of NVP `/ws.v1` JSON (live answers and saved responses) to observations.
 * Only the fields netdiag uses are read; anything else is ignored.
 */
import type { NvpClusterStatusInfo, NvpLswitchInfo } from '../../core/kinds.js';

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function tagsOf(v: unknown): { scope: string; tag: string }[] {
  if (!Array.isArray(v)) return [];
  return v.filter(isObj).map((t) => ({ scope: String(t.scope ?? ''), tag: String(t.tag ?? '') }));
}

/** A port of `GET /ws.v1/lswitch/<ls>/lport?fields=*&relations=LogicalPortAttachment`. */
export function portFromApi(raw: unknown): NonNullable<NvpLswitchInfo['ports']>[number] | undefined {
  if (!isObj(raw) || typeof raw.uuid !== 'string') return undefined;
  const rel = isObj(raw._relations) ? raw._relations : undefined;
  const att = rel && isObj(rel.LogicalPortAttachment) ? rel.LogicalPortAttachment : undefined;
  return {
    uuid: raw.uuid,
    displayName: typeof raw.display_name === 'string' ? raw.display_name : undefined,
    attachmentType: att && typeof att.type === 'string' ? att.type : undefined,
    vifUuid: att && typeof att.vif_uuid === 'string' ? att.vif_uuid : undefined,
  };
}

/** A switch of `GET /ws.v1/lswitch?fields=*`; undefined when it has no uuid. */
export function lswitchFromApi(raw: unknown, controller?: string): NvpLswitchInfo | undefined {
  if (!isObj(raw) || typeof raw.uuid !== 'string') return undefined;
  const zones = Array.isArray(raw.transport_zones) ? raw.transport_zones.filter(isObj).map((z) => String(z.zone_uuid ?? '')).filter(Boolean) : undefined;
  const created = typeof raw._create_time === 'number' ? raw._create_time : undefined;
  return {
    uuid: raw.uuid,
    displayName: typeof raw.display_name === 'string' ? raw.display_name : undefined,
    tags: tagsOf(raw.tags),
    transportZones: zones,
    created,
    controller,
  };
}

export function clusterFromApi(raw: unknown, controller?: string): NvpClusterStatusInfo | undefined {
  if (!isObj(raw) || typeof raw.cluster_status !== 'string') return undefined;
  const stats: NvpClusterStatusInfo['stats'] = {};
  for (const [k, v] of Object.entries(raw)) {
    if (!k.endsWith('_stats') || !isObj(v)) continue;
    const n = (x: unknown) => (typeof x === 'number' ? x : undefined);
    stats[k] = { error_state_count: n(v.error_state_count), registered_count: n(v.registered_count), active_count: n(v.active_count) };
  }
  const roles = Array.isArray(raw.configured_roles) ? raw.configured_roles.filter(isObj) : [];
  const api = roles.find((r) => r.role === 'api_provider');
  return { controller, clusterStatus: raw.cluster_status, stats, apiVersion: api && typeof api.majority_version === 'string' ? api.majority_version : undefined };
}

export type SavedNvpResponse =
  | { type: 'lswitch-list'; switches: NvpLswitchInfo[]; skipped: number; resultCount?: number; pageCursor?: string; items: number }
  | { type: 'lport-list'; skipped: number }
  | { type: 'cluster'; status: NvpClusterStatusInfo };

/** What kind of NVP object a saved list holds: by `_href`/`_schema`/`type` of its items, else by the command. */
function listObjectType(results: unknown[], command?: string): 'lswitch' | 'lport' | undefined {
  for (const r of results) {
    if (!isObj(r)) continue;
    const href = typeof r._href === 'string' ? r._href : '';
    if (/\/lport\//.test(href) || r.type === 'LogicalSwitchPortConfig') return 'lport';
    if (/\/ws\.v1\/lswitch\/[^/]+$/.test(href) || r.type === 'LogicalSwitchConfig') return 'lswitch';
  }
  if (command && /\/ws\.v1\/lswitch\/[^/?\s]+\/lport/.test(command)) return 'lport';
  if (command && /\/ws\.v1\/lswitch(?:[?\s'"]|$)/.test(command)) return 'lswitch';
  return undefined;
}

/** How sure we are that a text is a saved NVP response (0..1), from its first bytes. */
export function sniffNvpResponse(body: string, command?: string): number {
  const t = body.trimStart();
  if (!t.startsWith('{')) return 0;
  if (/^\{\s*"cluster_status"\s*:/.test(t) || (/"cluster_status"\s*:/.test(t) && /"(node|switch)_stats"\s*:/.test(t))) return 0.9;
  if (!/"result_count"\s*:/.test(t) || !/"results"\s*:/.test(t)) return 0;
  if (/\/ws\.v1\//.test(t) || (command && /\/ws\.v1\//.test(command))) return 0.9;
  return 0.4;
}

/** Parse a saved response; throws a message naming what is wrong. */
export function parseSavedNvpResponse(text: string, source: string, command?: string): SavedNvpResponse {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source} is not valid JSON: ${(e as Error).message}`);
  }
  if (!isObj(raw)) throw new Error(`${source}: expected a JSON object`);
  if (typeof raw.cluster_status === 'string') return { type: 'cluster', status: clusterFromApi(raw, source)! };
  if (!Array.isArray(raw.results)) throw new Error(`${source}: an NVP list needs a "results" array`);
  const kind = listObjectType(raw.results, command);
  if (kind === 'lport') return { type: 'lport-list', skipped: 0 };
  if (kind !== 'lswitch' && raw.results.length > 0) throw new Error(`${source}: the list holds neither logical switches nor ports (no _href/type/command to tell)`);
  const switches: NvpLswitchInfo[] = [];
  let skipped = 0;
  for (const r of raw.results) {
    const s = lswitchFromApi(r, source);
    if (s) switches.push(s);
    else skipped++;
  }
  return {
    type: 'lswitch-list',
    switches,
    skipped,
    items: raw.results.length,
    resultCount: typeof raw.result_count === 'number' ? raw.result_count : undefined,
    pageCursor: typeof raw.page_cursor === 'string' && raw.page_cursor ? raw.page_cursor : undefined,
  };
}
