/**
 * stale_logical_switch: an NVP logical switch that CloudStack created (tag scope `cs_account`)
 * and that no CloudStack network references any more through `broadcasturi = lswitch:<uuid>`.
 * The main leak path: `DeleteLogicalSwitchCommand failed` still shuts the network down
 * (reference/cloudstack.md §2.10).
 *
 * A false "stale" can end in a deleted production network, so the analyzer stays silent unless
 * it knows enough: the CloudStack network and NVP-device listings were complete, the NVP device
 * of the switch's transport zone is known to CloudStack, and the switch is older than the grace
 * period (CloudStack creates the switch before it stores the broadcast URI). In `serve` the
 * switch must also have stayed unreferenced for the whole grace period, counted in carried state.
 * Any future clean-up plan must re-confirm all of this after the grace period before it deletes.
 */
import { z } from 'zod';
import { lswitchOfUri } from '../../core/broadcast.js';
import { excerpt, type Evidence, type Finding, makeFinding } from '../../core/finding.js';
import type { NvpLswitchInfo } from '../../core/kinds.js';
import { listingsComplete } from '../../core/listings.js';
import type { ObservationReader } from '../../core/observation.js';
import type { AnalyzerContext } from '../../core/plugin.js';

export const KIND = 'stale_logical_switch';
const STATE_PREFIX = `${KIND}:unreferencedSince:`;

export const staleLogicalSwitchSchema = z
  .object({
    /**
     * Seconds a switch must be old (diagnose, by its creation time when known) or stay
     * unreferenced (serve) before it is called stale. Default: 2 × (network.gc.wait +
     * network.gc.interval) from CloudStack's configuration, or 2400 s (2 × (600 + 600)) when
     * that is not known.
     */
    graceSeconds: z.number().int().positive().optional(),
    /** Tag scope CloudStack puts on everything it creates in NVP. */
    tagScope: z.string().default('cs_account'),
    severity: z.enum(['info', 'warning', 'critical']).default('warning'),
  })
  .strict();
export type StaleLogicalSwitchConfig = z.infer<typeof staleLogicalSwitchSchema>;

export const DEFAULT_GC_SECONDS = 600;

/** The grace period: configured, else 2 × (network.gc.wait + network.gc.interval). */
export function graceSeconds(obs: ObservationReader, cfg: StaleLogicalSwitchConfig): { seconds: number; from: string } {
  if (cfg.graceSeconds !== undefined) return { seconds: cfg.graceSeconds, from: 'configured graceSeconds' };
  const conf = new Map<string, number>();
  for (const o of obs.get('cloudstack.config')) {
    const v = Number(o.data.value);
    if (Number.isFinite(v) && v >= 0 && o.data.scope === undefined) conf.set(o.data.name, v);
    else if (Number.isFinite(v) && v >= 0 && !conf.has(o.data.name)) conf.set(o.data.name, v);
  }
  const wait = conf.get('network.gc.wait');
  const interval = conf.get('network.gc.interval');
  const seconds = 2 * ((wait ?? DEFAULT_GC_SECONDS) + (interval ?? DEFAULT_GC_SECONDS));
  return { seconds, from: `2 × (network.gc.wait ${wait ?? `${DEFAULT_GC_SECONDS} (default)`} + network.gc.interval ${interval ?? `${DEFAULT_GC_SECONDS} (default)`})` };
}

export { lswitchOfUri };

interface NvpDeviceLike {
  nvpdeviceid?: string;
  physicalnetworkid?: string;
  hostname?: string;
  transportzoneuuid?: string;
}

/** The latest observation per switch uuid. */
function latestSwitches(obs: ObservationReader): { s: NvpLswitchInfo; source: string }[] {
  const by = new Map<string, { s: NvpLswitchInfo; source: string; at: number }>();
  for (const o of obs.get('nvp.lswitch')) {
    const key = o.data.uuid.toLowerCase();
    const prev = by.get(key);
    const at = o.at ?? 0;
    // a later observation wins, but keep ports known from an earlier one of the same time
    if (!prev || at > prev.at || (at === prev.at && o.data.ports !== undefined)) by.set(key, { s: o.data, source: o.source, at });
  }
  return [...by.values()];
}

function hostOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url).hostname;
  } catch {
    return undefined;
  }
}

export function analyzeStaleLogicalSwitches(obs: ObservationReader, cfg: StaleLogicalSwitchConfig, ctx: AnalyzerContext): Finding[] {
  const switches = latestSwitches(obs);
  if (switches.length === 0) return [];

  // Preconditions: complete CloudStack listings of networks and NVP devices.
  const nets = listingsComplete(obs, 'cloudstack', /network/i, 'network');
  const devs = listingsComplete(obs, 'cloudstack', /nvp|nicira/i, 'NVP device');
  if (!nets.ok || !devs.ok) return [];

  const referenced = new Set<string>();
  const networks = obs.get('cloudstack.network');
  for (const n of networks) {
    const u = lswitchOfUri(n.data.broadcasturi);
    if (u) referenced.add(u);
  }
  const devices = (obs.get('cloudstack.nvpdevice') as readonly { data: NvpDeviceLike }[]).map((o) => o.data);
  const grace = graceSeconds(obs, cfg);
  const graceMs = grace.seconds * 1000;
  const findings: Finding[] = [];
  const live = new Set<string>();

  for (const { s, source } of switches) {
    const uuid = s.uuid.toLowerCase();
    const key = STATE_PREFIX + uuid;
    live.add(key);
    const csTag = s.tags.find((t) => t.scope === cfg.tagScope);
    if (!csTag) continue; // not CloudStack's to call leaked
    if (referenced.has(uuid)) {
      ctx.state.delete(key);
      continue;
    }
    // The device CloudStack uses for this switch: by transport zone, else by controller address.
    const zones = new Set((s.transportZones ?? []).map((z) => z.toLowerCase()));
    const device =
      zones.size > 0
        ? devices.find((d) => d.transportzoneuuid !== undefined && zones.has(d.transportzoneuuid.toLowerCase()))
        : devices.find((d) => d.hostname !== undefined && d.hostname === hostOf(s.controller));
    if (!device) continue; // CloudStack does not manage this switch's zone here: cannot tell

    // Grace: by creation time (both modes), and by time seen unreferenced (serve).
    const ageMs = s.created !== undefined ? ctx.now - s.created : undefined;
    if (ageMs !== undefined && ageMs < graceMs) continue;
    let unreferencedMs: number | undefined;
    if (ctx.mode === 'serve') {
      const since = (ctx.state.get(key) as number | undefined) ?? ctx.now;
      ctx.state.set(key, since);
      unreferencedMs = ctx.now - since;
      if (unreferencedMs < graceMs) continue;
    }

    const ports = s.ports;
    const vifs = (ports ?? []).map((p) => p.vifUuid).filter((v): v is string => v !== undefined);
    const evidence: Evidence[] = [
      {
        source,
        excerpt: excerpt(`lswitch ${s.uuid} display_name=${JSON.stringify(s.displayName ?? '')} tags=${JSON.stringify(s.tags)}${s.created !== undefined ? ` created=${new Date(s.created).toISOString()}` : ''}`),
      },
      {
        source: 'cloudstack listNetworks',
        excerpt: `none of ${networks.length} CloudStack networks (all states) has broadcasturi lswitch:${s.uuid}; NVP device ${device.nvpdeviceid ?? '?'} (${device.hostname ?? '?'}) serves physical network ${device.physicalnetworkid ?? '?'} with transport zone ${device.transportzoneuuid ?? '?'}`,
      },
    ];
    if (ports === undefined) evidence.push({ source, excerpt: 'ports: not listed (the lport listing failed or was not saved)' });
    else
      evidence.push({
        source: `${source}/lswitch/${s.uuid}/lport`,
        excerpt: excerpt(
          ports.length === 0
            ? 'no logical ports'
            : ports.map((p) => `lport ${p.uuid}${p.displayName ? ` (${p.displayName})` : ''} ${p.attachmentType ?? 'no attachment'}${p.vifUuid ? ` vif_uuid=${p.vifUuid} (CloudStack NIC uuid)` : ''}`).join('\n'),
        ),
      });
    evidence.push({
      source: 'netdiag',
      excerpt: `grace period ${grace.seconds} s (${grace.from}); any clean-up must list CloudStack and NVP again after the grace period and delete only if the switch is still unreferenced`,
    });
    findings.push(
      makeFinding({
        kind: KIND,
        severity: cfg.severity,
        subject: { lswitch: s.uuid, displayName: s.displayName ?? '', account: csTag.tag },
        summary: `NVP logical switch ${s.displayName ?? s.uuid} (${s.uuid}) has CloudStack's tag ${cfg.tagScope}=${csTag.tag} but no CloudStack network references lswitch:${s.uuid}${
          ports ? `; ${ports.length} port(s)${vifs.length ? `, VIFs ${vifs.join(', ')}` : ''}` : ''
        } — likely leaked (e.g. after "DeleteLogicalSwitchCommand failed")`,
        metrics: {
          ...(ports ? { ports: ports.length, vifAttachments: vifs.length } : {}),
          ...(ageMs !== undefined ? { ageSeconds: Math.round(ageMs / 1000) } : {}),
          ...(unreferencedMs !== undefined ? { unreferencedSeconds: Math.round(unreferencedMs / 1000) } : {}),
          graceSeconds: grace.seconds,
        },
        evidence,
        lastSeen: new Date(ctx.now).toISOString(),
      }),
    );
  }
  // Forget switches the controller no longer has.
  for (const k of [...ctx.state.keys()]) if (k.startsWith(STATE_PREFIX) && !live.has(k)) ctx.state.delete(k);
  return findings;
}
