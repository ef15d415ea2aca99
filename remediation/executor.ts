/**
 * The executor: the only code that changes the world, and only through the orchestrator clients.
 *
 * Applying a plan runs its read-only steps first, against the live APIs, as the precondition
 * check (a leaked switch is confirmed unreferenced again, a network found by its broadcast URI);
 * any failure there refuses the plan with nothing changed. Then, in a dry run, it prints the exact
 * calls it would make; with `yes`, it makes them in order, each checked first so that applying a
 * finished plan again changes nothing (a switch already gone, an MTU already set, a host already
 * in maintenance), and each recorded in the journal — the only memory for a step that cannot
 * check itself (a network restart). Manual steps are printed for the admin, never run.
 */
import type { CloudStackClient } from '../orchestrator/cloudstack/client.js';
import { NvpApiError, type NvpClient } from '../orchestrator/nvp/client.js';
import { type BroadcastRef, greKeyOfUri, holdsBroadcast, lswitchOfUri, vniOfUri } from '../core/broadcast.js';
import { describeError, NetdiagError, redact } from '../core/errors.js';
import type { Plan, PlanStep } from '../core/plan.js';
import type { Journal } from './journal.js';

type Json = Record<string, unknown>;

export interface ExecutorDeps {
  cloudstack?: CloudStackClient;
  nvp?: NvpClient;
  /** For printing calls (credentials are stripped). */
  cloudstackUrl?: string;
  nvpUrl?: string;
  journal: Journal;
  now?: () => number;
  /** Async job deadline (default 10 min). */
  jobDeadlineMs?: number;
}

export type StepStatus = 'checked' | 'would-run' | 'done' | 'already' | 'manual' | 'refused' | 'failed' | 'not-run';

export interface StepOutcome {
  stepId: string;
  target: PlanStep['target'];
  action: string;
  status: StepStatus;
  detail: string;
  /** The exact call (write steps) or command (manual steps). */
  call?: string;
  host?: string;
}

export interface ApplyResult {
  schema: 'netdiag.apply/v1';
  planId: string;
  dryRun: boolean;
  /** dry-run: preconditions hold; applied: every write step done or already; refused: nothing changed; failed: stopped part-way. */
  status: 'dry-run' | 'applied' | 'refused' | 'failed';
  steps: StepOutcome[];
}

/** Exit status of `netdiag apply`: 0 dry run or applied, 1 refused (nothing changed), 2 failed part-way. */
export function applyExitCode(r: ApplyResult): number {
  return r.status === 'refused' ? 1 : r.status === 'failed' ? 2 : 0;
}

class Refusal extends Error {}

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What the URIs of a step name, read as the analyzers read them (core/broadcast.ts). */
function refOf(uris: unknown[]): BroadcastRef {
  const ref: BroadcastRef = {};
  for (const u of uris.map(String)) {
    ref.lswitch ??= lswitchOfUri(u);
    ref.vni ??= vniOfUri(u);
    if (!u.toLowerCase().startsWith('vxlan:')) ref.greKey ??= greKeyOfUri(u);
  }
  // A VXLAN network may sit behind either scheme: the VNI is the key to look for in both.
  if (ref.vni !== undefined) delete ref.greKey;
  if (ref.lswitch === undefined && ref.greKey === undefined && ref.vni === undefined) throw new Refusal(`not a broadcast URI netdiag can check: ${uris.join(', ')}`);
  return ref;
}
const baseUrl = (u: string | undefined, fallback: string) => {
  if (!u) return fallback;
  try {
    const x = new URL(u);
    x.username = '';
    x.password = '';
    return x.toString().replace(/\/$/, '');
  } catch {
    return fallback;
  }
};

/** Fill `${network.id}`-style references from what earlier steps found. */
function resolve(v: unknown, bound: Map<string, Json>): unknown {
  if (typeof v === 'string') {
    return v.replace(/\$\{(\w+)\.(\w+)\}/g, (whole, obj: string, field: string) => {
      const o = bound.get(obj);
      if (!o) return whole;
      const x = o[field];
      return x === undefined || x === null ? whole : String(x);
    });
  }
  if (Array.isArray(v)) return v.map((x) => resolve(x, bound));
  if (isObj(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolve(x, bound)]));
  return v;
}

function unresolved(params: Json): string | undefined {
  const m = /\$\{\w+\.\w+\}/.exec(JSON.stringify(params));
  return m?.[0];
}

/** Check the plan can run with what is configured; a NetdiagError (exit 3) names what is missing. */
export function checkRunnable(plan: Plan, deps: Pick<ExecutorDeps, 'cloudstack' | 'nvp'>): void {
  for (const s of plan.steps) {
    if (s.target === 'cloudstack' && !deps.cloudstack)
      throw new NetdiagError('E_ARGS', `plan ${plan.id} step ${s.id} (${s.action}) needs the CloudStack API`, { remedy: 'give --cloudstack-url with --api-key and --secret-key (or NETDIAG_CLOUDSTACK_URL, NETDIAG_API_KEY, NETDIAG_SECRET_KEY)' });
    if (s.target === 'nvp' && !deps.nvp)
      throw new NetdiagError('E_ARGS', `plan ${plan.id} step ${s.id} (${s.action}) needs the NVP API`, { remedy: 'give --nvp-url with --nvp-user and --nvp-password (or NETDIAG_NVP_URL, NETDIAG_NVP_USER, NETDIAG_NVP_PASSWORD)' });
  }
}

export async function applyPlan(plan: Plan, deps: ExecutorDeps, opts: { yes: boolean }): Promise<ApplyResult> {
  checkRunnable(plan, deps);
  const now = deps.now ?? Date.now;
  const bound = new Map<string, Json>();
  const outcomes = new Map<string, StepOutcome>();
  const result = (status: ApplyResult['status']): ApplyResult => ({
    schema: 'netdiag.apply/v1',
    planId: plan.id,
    dryRun: !opts.yes,
    status,
    steps: plan.steps.map((s) => outcomes.get(s.id) ?? { stepId: s.id, target: s.target, action: s.action, status: 'not-run', detail: 'not run', ...(s.host ? { host: s.host } : {}) }),
  });
  const set = (s: PlanStep, status: StepStatus, detail: string, call?: string) =>
    outcomes.set(s.id, { stepId: s.id, target: s.target, action: s.action, status, detail: redact(detail), ...(call ? { call: redact(call) } : {}), ...(s.host ? { host: s.host } : {}) });

  // 1. Preconditions: every read-only step, live.
  for (const s of plan.steps.filter((x) => x.readOnly)) {
    try {
      set(s, 'checked', await runRead(s, resolve(s.params, bound) as Json, deps, bound, now));
    } catch (e) {
      set(s, 'refused', e instanceof Refusal ? e.message : `could not check: ${describeError(e)}`);
      return result('refused');
    }
  }

  // 2. The changes, in order; manual steps are printed.
  const done = deps.journal.stepsDone(plan.id);
  let changed = false;
  for (const s of plan.steps.filter((x) => !x.readOnly)) {
    const params = resolve(s.params, bound) as Json;
    if (s.target === 'manual') {
      const text = resolve(s.description, bound) as string;
      set(s, 'manual', text, s.command ? (resolve(s.command, bound) as string[]).map(shellQuote).join(' ') : undefined);
      continue;
    }
    const call = describeCall(s, params, deps);
    const missing = unresolved(params);
    if (missing) {
      set(s, 'refused', `${missing} was not found by an earlier step`, call);
      return result('refused');
    }
    const journaled = done.get(s.id);
    if (journaled) {
      set(s, 'already', `applied at ${journaled.at} (netdiag's journal): not repeated`, call);
      continue;
    }
    try {
      const already = await alreadyDone(s, params, deps, bound);
      if (already) {
        set(s, 'already', already, call);
        continue;
      }
      if (!opts.yes) {
        set(s, 'would-run', `would ${s.description}`, call);
        continue;
      }
      changed = true;
      const detail = await runWrite(s, params, deps);
      set(s, 'done', detail, call);
      await deps.journal.record(plan.id, s.id, { at: new Date(now()).toISOString(), detail });
    } catch (e) {
      // A refusal before this plan changed anything leaves the world as it was.
      const refused = e instanceof Refusal && !changed;
      set(s, refused ? 'refused' : 'failed', e instanceof Refusal ? e.message : describeError(e), call);
      return result(refused ? 'refused' : 'failed');
    }
  }
  return result(opts.yes ? 'applied' : 'dry-run');
}

export function shellQuote(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

function describeCall(s: PlanStep, params: Json, deps: ExecutorDeps): string {
  if (s.target === 'cloudstack') {
    const q = new URLSearchParams({ command: s.action, ...Object.fromEntries(Object.entries(params).map(([k, v]) => [k, String(v)])) });
    return `GET ${baseUrl(deps.cloudstackUrl, 'CloudStack API')}?${q.toString()} (signed; async job polled with queryAsyncJobResult)`;
  }
  if (s.action === 'deleteLogicalSwitch') return `DELETE ${baseUrl(deps.nvpUrl, 'NVP')}/ws.v1/lswitch/${encodeURIComponent(String(params.uuid))}`;
  return `${s.action} ${JSON.stringify(params)}`;
}

// ---- read-only steps ---------------------------------------------------------------------------

async function allNetworks(cs: CloudStackClient): Promise<Json[]> {
  const out = new Map<string, Json>();
  for (const extra of [{}, { projectid: '-1' }]) {
    const l = await cs.listPaged<Json>('listNetworks', 'network', { listall: true, ...extra });
    if (!l.complete) throw new Refusal(`CloudStack's network listing is incomplete (${l.problem}): nothing can be concluded`);
    for (const n of l.items) out.set(String(n.id), n);
  }
  const nets = [...out.values()];
  if (nets.length > 0 && !nets.some((n) => typeof n.broadcasturi === 'string'))
    throw new Refusal('CloudStack lists networks without broadcasturi: the API key is not a root admin\'s, so which network holds what cannot be told');
  return nets;
}

async function runRead(s: PlanStep, p: Json, deps: ExecutorDeps, bound: Map<string, Json>, now: () => number): Promise<string> {
  const cs = deps.cloudstack!;
  const nvp = deps.nvp!;
  switch (`${s.target}:${s.action}`) {
    case 'cloudstack:confirmNetworkAbsent': {
      const ref = refOf([p.broadcastUri]);
      const nets = await allNetworks(cs);
      const holder = nets.find((n) => holdsBroadcast(n.broadcasturi as string | undefined, n.state as string | undefined, ref));
      if (holder) throw new Refusal(`CloudStack network ${String(holder.name)} (${String(holder.id)}, ${String(holder.state)}) holds ${String(p.broadcastUri)}: it is in use, not leaked`);
      return `none of ${nets.length} CloudStack networks (complete listing, projects included) holds ${String(p.broadcastUri)}`;
    }
    case 'cloudstack:findNetwork': {
      const uris = ((p.broadcastUris as unknown[]) ?? []).map(String);
      const ref = refOf(uris);
      const pick = (await allNetworks(cs)).filter((n) => holdsBroadcast(n.broadcasturi as string | undefined, n.state as string | undefined, ref));
      if (pick.length === 0) throw new Refusal(`no live CloudStack network has broadcasturi ${uris.join(' or ')}`);
      if (pick.length > 1) throw new Refusal(`${pick.length} CloudStack networks have broadcasturi ${uris.join(' or ')} (${pick.map((n) => String(n.id)).join(', ')}): not choosing one`);
      bound.set('network', pick[0]!);
      return `network ${String(pick[0]!.name)} (${String(pick[0]!.id)}, ${String(pick[0]!.state)}) holds ${String(pick[0]!.broadcasturi)}`;
    }
    case 'cloudstack:findHost': {
      const hosts = (await cs.list<Json>('listHosts', 'host', { name: String(p.name), type: 'Routing' })).filter((h) => String(h.name).toLowerCase() === String(p.name).toLowerCase());
      if (hosts.length !== 1) throw new Refusal(hosts.length === 0 ? `CloudStack has no hypervisor host named ${String(p.name)}` : `${hosts.length} CloudStack hosts are named ${String(p.name)}: not choosing one`);
      bound.set('host', hosts[0]!);
      return `host ${String(hosts[0]!.name)} (${String(hosts[0]!.id)}), state ${String(hosts[0]!.state)}, resource state ${String(hosts[0]!.resourcestate)}`;
    }
    case 'cloudstack:listNiciraNvpDevices': {
      const phys = await cs.list<Json>('listPhysicalNetworks', 'physicalnetwork');
      const lines: string[] = [];
      for (const ph of phys) {
        try {
          for (const d of await cs.list<Json>('listNiciraNvpDevices', 'niciranvpdevice', { physicalnetworkid: String(ph.id) }))
            lines.push(`device ${String(d.nvpdeviceid)} → ${String(d.hostname)} (transport zone ${String(d.transportzoneuuid)}) on physical network ${String(ph.name ?? ph.id)}`);
        } catch {
          // a physical network without the NVP provider answers an error: no device there
        }
      }
      return lines.length ? lines.join('; ') : 'CloudStack has no NVP device';
    }
    case 'nvp:confirmLogicalSwitch': {
      const uuid = String(p.uuid);
      let sw: Json | undefined;
      try {
        sw = await nvp.request<Json>('GET', `/ws.v1/lswitch/${encodeURIComponent(uuid)}`, { query: { fields: '*' } });
      } catch (e) {
        if (e instanceof NvpApiError && e.kind === 'not_found') {
          bound.set('lswitch', { gone: true });
          return `lswitch ${uuid} is already gone`;
        }
        throw e;
      }
      const tags = Array.isArray(sw?.tags) ? (sw!.tags as Json[]) : [];
      const tag = tags.find((t) => t.scope === p.tagScope);
      if (!tag) throw new Refusal(`lswitch ${uuid} no longer carries CloudStack's ${String(p.tagScope)} tag: not CloudStack's to delete`);
      if (p.tag !== undefined && String(tag.tag) !== String(p.tag)) throw new Refusal(`lswitch ${uuid} now belongs to ${String(p.tagScope)}=${String(tag.tag)}, not ${String(p.tag)} as when planned`);
      const graceMs = Number(p.graceSeconds ?? 2400) * 1000;
      const created = typeof sw?._create_time === 'number' ? sw._create_time : undefined;
      const since = created ?? Date.parse(String(p.unreferencedSince));
      if (!Number.isFinite(since)) throw new Refusal(`lswitch ${uuid}: neither its creation time nor when it was first seen unreferenced is known`);
      const age = now() - since;
      if (age < graceMs)
        throw new Refusal(
          `lswitch ${uuid} was ${created !== undefined ? 'created' : 'first seen unreferenced'} ${Math.round(age / 1000)} s ago, inside the ${graceMs / 1000} s grace period (CloudStack may still be storing its broadcast URI): apply again after ${new Date(since + graceMs).toISOString()}`,
        );
      bound.set('lswitch', sw!);
      return `lswitch ${uuid} (${String(sw?.display_name ?? '')}) carries ${String(p.tagScope)}=${String(tag.tag)} and is ${Math.round(age / 1000)} s ${created !== undefined ? 'old' : 'past first seen'} (grace ${graceMs / 1000} s)`;
    }
    case 'nvp:controlClusterStatus': {
      const st = await nvp.controlClusterStatus();
      return `control cluster ${st.cluster_status}`;
    }
  }
  throw new NetdiagError('E_ARGS', `plan step ${s.id}: unknown read-only action ${s.target}:${s.action}`);
}

// ---- write steps -------------------------------------------------------------------------------

/** Why the step needs no call (already in the wanted state), or undefined. */
async function alreadyDone(s: PlanStep, p: Json, deps: ExecutorDeps, bound: Map<string, Json>): Promise<string | undefined> {
  switch (`${s.target}:${s.action}`) {
    case 'nvp:deleteLogicalSwitch':
      return bound.get('lswitch')?.gone ? `lswitch ${String(p.uuid)} is already gone` : undefined;
    case 'cloudstack:updateNetwork': {
      const n = bound.get('network');
      if (n && p.privatemtu !== undefined) {
        if (n.privatemtu === undefined) throw new Refusal(`network ${String(n.id)} has no privatemtu: this CloudStack predates 4.18 and cannot set a network's MTU`);
        if (Number(n.privatemtu) === Number(p.privatemtu)) return `network ${String(n.name)} already has privatemtu ${String(n.privatemtu)}`;
      }
      return undefined;
    }
    case 'cloudstack:prepareHostForMaintenance': {
      const h = bound.get('host');
      return h && /maintenance/i.test(String(h.resourcestate)) ? `host ${String(h.name)} is already ${String(h.resourcestate)}` : undefined;
    }
  }
  return undefined;
}

async function runWrite(s: PlanStep, p: Json, deps: ExecutorDeps): Promise<string> {
  switch (`${s.target}:${s.action}`) {
    case 'nvp:deleteLogicalSwitch':
      try {
        await deps.nvp!.deleteLogicalSwitch(String(p.uuid));
        return `lswitch ${String(p.uuid)} deleted`;
      } catch (e) {
        if (e instanceof NvpApiError && e.kind === 'not_found') return `lswitch ${String(p.uuid)} was already gone`;
        throw e;
      }
    case 'cloudstack:updateNetwork':
    case 'cloudstack:restartNetwork':
    case 'cloudstack:prepareHostForMaintenance': {
      const params = Object.fromEntries(Object.entries(p).map(([k, v]) => [k, typeof v === 'number' || typeof v === 'boolean' ? v : String(v)]));
      const r = await deps.cloudstack!.runAsync<Json>(s.action, params, { deadlineMs: deps.jobDeadlineMs });
      const obj = isObj(r) ? ((r.network ?? r.host ?? r) as Json) : {};
      // CloudStack ignores an MTU it may not set (no error): check the job's network.
      if (s.action === 'updateNetwork' && p.privatemtu !== undefined && obj.privatemtu !== undefined && Number(obj.privatemtu) !== Number(p.privatemtu))
        throw new NetdiagError(
          'E_API',
          `CloudStack finished updateNetwork but network ${String(obj.name ?? p.id)} kept privatemtu ${String(obj.privatemtu)}, not ${String(p.privatemtu)}: CloudStack ignores the MTU unless the zone's allow.end.users.to.specify.vr.mtu is true, and caps it at vr.private.interface.max.mtu`,
          { remedy: 'set those zone settings (updateConfiguration with zoneid) or raise the underlay MTU instead, then apply again' },
        );
      return `${s.action} finished${obj.privatemtu !== undefined ? `: privatemtu ${String(obj.privatemtu)}` : ''}${obj.resourcestate !== undefined ? `: resource state ${String(obj.resourcestate)}` : ''}`;
    }
  }
  throw new NetdiagError('E_ARGS', `plan step ${s.id}: unknown action ${s.target}:${s.action}`);
}
