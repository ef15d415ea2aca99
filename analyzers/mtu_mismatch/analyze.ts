/**
 * mtu_mismatch: from configuration alone (no packets), the MTU budget per host and tunnel:
 *
 *  1. Linux tunnel devices (`net.link` with `tunnel`, e.g. a VXLAN made by CloudStack's
 *     modifyvxlan.sh): the device MTU + encapsulation overhead must fit the MTU of its parent
 *     (`dev`) or, without one, of the host's uplink.
 *  2. OVS tunnel ports (`ovs.interface` type gre/vxlan/geneve/stt): the largest MTU of the
 *     guest-facing ports on the same bridge (vnet/tap, internal) + overhead must fit the uplink.
 *  3. OVS `mtu_request` that OVS did not apply (`mtu` ≠ `mtu_request`).
 *  4. CloudStack networks: `privatemtu`/`publicmtu` above the zone's `vr.private|public.interface.max.mtu`
 *     (issue #10001), and the guest MTU of tunnelled networks (Vxlan, Vswitch/GRE, Lswitch/STT)
 *     + overhead above the hosts' uplink MTU.
 *
 * "Uplink" = the interfaces matching `underlayInterfaces` when configured, else the largest MTU
 * among the host's physical, bond and VLAN interfaces (conservative: a mismatch is only reported
 * when even the largest uplink cannot carry the overlay).
 */
import { z } from 'zod';
import { excerpt, makeFinding, type Finding } from '../../core/finding.js';
import type { LinkInfo } from '../../core/kinds.js';
import '../../core/kinds.js';
import type { Observation, ObservationReader } from '../../core/observation.js';
import { encapOverhead, isEncapsulation, type Encapsulation } from '../mtu_fragmentation/overhead.js';
import { ovsInventory } from '../../collectors/ovs/model.js';

export const mtuMismatchSchema = z
  .object({
    /** Regex of the interfaces that carry tunnels (e.g. "^(bond0|eth1)$"); default: largest physical/bond/VLAN MTU. */
    underlayInterfaces: z
      .string()
      .refine((r) => {
        try {
          new RegExp(r);
          return true;
        } catch {
          return false;
        }
      }, 'not a valid regular expression')
      .optional(),
    /** Underlay MTU assumed for CloudStack networks when no host link is known (0 = do not assume). */
    assumedUnderlayMtu: z.number().int().min(0).default(0),
  })
  .strict();

export type MtuMismatchConfig = z.infer<typeof mtuMismatchSchema>;

/** CloudStack broadcast domain type → the encapsulation its guest traffic rides in. */
const BROADCAST_ENCAP: Record<string, Encapsulation> = { vxlan: 'vxlan', vswitch: 'gre', lswitch: 'stt' };

const UPLINK_CLASSES = new Set(['physical', 'bond', 'vlan']);

function latestBy<T>(list: readonly Observation[], key: (o: Observation) => string): Map<string, Observation> {
  const m = new Map<string, Observation>();
  for (const o of list) {
    const k = key(o);
    const prev = m.get(k);
    if (!prev || (o.at ?? 0) >= (prev.at ?? 0)) m.set(k, o);
  }
  return m;
}

interface Uplink {
  interface: string;
  mtu: number;
  source: string;
}

function uplinkOf(links: readonly Observation<'net.link'>[], cfg: MtuMismatchConfig): Uplink | undefined {
  const re = cfg.underlayInterfaces ? new RegExp(cfg.underlayInterfaces) : undefined;
  let best: Uplink | undefined;
  for (const o of links) {
    const l = o.data;
    if (l.mtu === undefined) continue;
    if (re ? !re.test(l.interface) : !UPLINK_CLASSES.has(l.class)) continue;
    // With a configured set, the smallest of them bounds the path; by default the largest (see top).
    if (!best || (re ? l.mtu < best.mtu : l.mtu > best.mtu)) best = { interface: l.interface, mtu: l.mtu, source: o.source };
  }
  return best;
}

export function analyzeMtuMismatch(obs: ObservationReader, cfg: MtuMismatchConfig): Finding[] {
  const findings: Finding[] = [];
  const push = (host: string | undefined, iface: string, encap: string, mtu: number, requiredMtu: number, summary: string, evidence: { source: string; excerpt: string }[], extra: Record<string, unknown> = {}, episode?: string) =>
    findings.push(
      makeFinding({
        ...(episode ? { episode } : {}),
        kind: 'mtu_mismatch',
        severity: 'warning',
        host,
        subject: { interface: iface, encapsulation: encap },
        summary,
        metrics: { mtu, requiredMtu, shortfall: requiredMtu - mtu, ...extra },
        evidence: evidence.map((e) => ({ source: e.source, excerpt: excerpt(e.excerpt) })),
      }),
    );

  // Latest link per (host, interface); links grouped per host.
  const links = latestBy(obs.get('net.link'), (o) => `${o.host ?? ''}\0${(o.data as LinkInfo).interface}`) as Map<string, Observation<'net.link'>>;
  const linksByHost = new Map<string, Observation<'net.link'>[]>();
  for (const o of links.values()) {
    const h = o.host ?? '';
    (linksByHost.get(h) ?? linksByHost.set(h, []).get(h)!).push(o);
  }
  const seen = new Set<string>();

  // 1. Linux tunnel devices.
  for (const [host, list] of linksByHost) {
    const byName = new Map(list.map((o) => [o.data.interface, o]));
    for (const o of list) {
      const l = o.data;
      if (!l.tunnel || l.mtu === undefined || !isEncapsulation(l.tunnel.type)) continue;
      const overhead = encapOverhead(l.tunnel.type, { ipv6: (l.tunnel.remote ?? l.tunnel.local ?? '').includes(':') });
      const parent = l.parent ? byName.get(l.parent) : undefined;
      const up: Uplink | undefined = parent?.data.mtu !== undefined ? { interface: parent.data.interface, mtu: parent.data.mtu, source: parent.source } : uplinkOf(list, cfg);
      if (!up) continue;
      const required = l.mtu + overhead;
      if (required <= up.mtu) continue;
      seen.add(`${host}\0${up.interface}\0${l.tunnel.type}`);
      push(
        host || undefined,
        up.interface,
        l.tunnel.type,
        up.mtu,
        required,
        `${up.interface} has MTU ${up.mtu} but ${l.interface} (${l.tunnel.type.toUpperCase()}${l.tunnel.id !== undefined ? ` ${l.tunnel.id}` : ''}) with MTU ${l.mtu} needs ${required} ` +
          `(${l.mtu} + ${overhead} B of encapsulation): set ${l.interface} to ${up.mtu - overhead} or raise ${up.interface} to ${required}`,
        [
          { source: o.source, excerpt: `${l.interface}: class=${l.class} mtu=${l.mtu} tunnel=${JSON.stringify(l.tunnel)}${l.parent ? ` parent=${l.parent}` : ''}` },
          { source: up.source, excerpt: `${up.interface}: mtu=${up.mtu}${parent ? ' (the tunnel\'s parent device)' : ' (uplink)'}` },
        ],
        { overlayInterface: l.interface, overlayMtu: l.mtu, overhead },
      );
    }
  }

  // 2 + 3. OVS: the joined inventory (JSON listings read as separate files carry the bridge only via uuids).
  const ovsSource = new Map<string, string>();
  for (const o of obs.get('ovs.interface')) ovsSource.set(`${o.host ?? ''}\0${o.data.name}`, o.source);
  const bridges = new Map<string, Observation<'ovs.interface'>[]>();
  for (const [hk, inv] of ovsInventory(obs)) {
    for (const i of inv.interfaces.values()) {
      const o = { kind: 'ovs.interface', host: hk || undefined, source: ovsSource.get(`${hk}\0${i.name}`) ?? 'ovsdb', data: i } as Observation<'ovs.interface'>;
      if (i.mtuRequest !== undefined && i.mtu !== undefined && i.mtu !== i.mtuRequest && i.ofport !== -1) {
        push(o.host, i.name, 'none', i.mtu, i.mtuRequest, `OVS interface ${i.name}${i.bridge ? ` on ${i.bridge}` : ''} asks for MTU ${i.mtuRequest} (mtu_request) but runs at ${i.mtu}: the device refused it`, [
          { source: o.source, excerpt: `${i.name}: mtu=${i.mtu} mtu_request=${i.mtuRequest} type=${i.type || 'system'}` },
        ]);
      }
      if (!i.bridge) continue;
      const k = `${hk}\0${i.bridge}`;
      (bridges.get(k) ?? bridges.set(k, []).get(k)!).push(o);
    }
  }
  for (const [k, members] of [...bridges].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const [host, bridge] = k.split('\0') as [string, string];
    const tunnels = members.filter((o) => isEncapsulation(o.data.type));
    if (!tunnels.length) continue;
    let overlay: Observation<'ovs.interface'> | undefined;
    for (const o of members) {
      const t = o.data.type;
      if (o.data.mtu === undefined || isEncapsulation(t) || t === 'patch') continue;
      if (!overlay || o.data.mtu > overlay.data.mtu!) overlay = o;
    }
    if (!overlay) continue;
    const up = uplinkOf(linksByHost.get(host) ?? [], cfg);
    if (!up) continue;
    const done = new Set<string>();
    for (const t of tunnels) {
      const type = t.data.type as Encapsulation;
      const remote = t.data.options.remote_ip ?? '';
      const overhead = encapOverhead(type, { ipv6: remote.includes(':'), greKey: t.data.options.key !== undefined });
      const required = overlay.data.mtu! + overhead;
      if (required <= up.mtu || done.has(type)) continue;
      done.add(type);
      // One finding per (host, underlay, encapsulation): its id is the subject's.
      if (seen.has(`${host}\0${up.interface}\0${type}`)) continue;
      seen.add(`${host}\0${up.interface}\0${type}`);
      push(
        host || undefined,
        up.interface,
        type,
        up.mtu,
        required,
        `${up.interface} has MTU ${up.mtu} but bridge ${bridge} sends ${type.toUpperCase()} (${t.data.name}) with guest port ${overlay.data.name} at MTU ${overlay.data.mtu}, ` +
          `which needs ${required} (${overlay.data.mtu} + ${overhead}): set the guests to ${up.mtu - overhead} or raise ${up.interface} to ${required}`,
        [
          { source: t.source, excerpt: `${t.data.name}: type=${type} options=${JSON.stringify(t.data.options)}` },
          { source: overlay.source, excerpt: `${overlay.data.name}: mtu=${overlay.data.mtu} bridge=${bridge}` },
          { source: up.source, excerpt: `${up.interface}: mtu=${up.mtu} (uplink)` },
        ],
        { bridge, tunnelPort: t.data.name, overlayInterface: overlay.data.name, overlayMtu: overlay.data.mtu, overhead },
      );
    }
  }

  // 4. CloudStack networks.
  const maxMtu = new Map<string, { value: number; source: string }>(); // `${zone}\0public|private`
  for (const o of obs.get('cloudstack.config')) {
    const m = /^vr\.(public|private)\.interface\.max\.mtu$/.exec(o.data.name);
    const v = Number(o.data.value);
    if (!m || !Number.isFinite(v) || v <= 0) continue;
    maxMtu.set(`${o.data.zoneid ?? ''}\0${m[1]}`, { value: v, source: o.source });
  }
  const hostUplinks = [...linksByHost.values()].map((l) => uplinkOf(l, cfg)).filter((u): u is Uplink => u !== undefined);
  const fabric = hostUplinks.length
    ? hostUplinks.reduce((a, b) => (b.mtu < a.mtu ? b : a))
    : cfg.assumedUnderlayMtu > 0
      ? { interface: 'underlay', mtu: cfg.assumedUnderlayMtu, source: 'config: assumedUnderlayMtu' }
      : undefined;
  for (const o of obs.get('cloudstack.network')) {
    const n = o.data;
    const name = `network ${n.name ?? n.id}`;
    for (const side of ['private', 'public'] as const) {
      const mtu = side === 'private' ? n.privatemtu : n.publicmtu;
      if (mtu === undefined) continue;
      const max = maxMtu.get(`${n.zoneid ?? ''}\0${side}`) ?? maxMtu.get(`\0${side}`);
      if (max && mtu > max.value) {
        push(undefined, `${name} (${side})`, (n.broadcastdomaintype ?? 'unknown').toLowerCase(), max.value, mtu, `${name} has ${side}mtu ${mtu}, above the zone's vr.${side}.interface.max.mtu ${max.value} (CloudStack issue #10001): set ${side}mtu to ${max.value} or below`, [
          { source: o.source, excerpt: `${n.name ?? n.id}: ${side}mtu=${mtu} broadcastdomaintype=${n.broadcastdomaintype ?? '?'} zoneid=${n.zoneid ?? '?'}` },
          { source: max.source, excerpt: `vr.${side}.interface.max.mtu=${max.value}` },
        ], {}, 'zone-maximum');
      }
    }
    const encap = BROADCAST_ENCAP[(n.broadcastdomaintype ?? '').toLowerCase()];
    if (encap && n.privatemtu !== undefined && fabric) {
      const overhead = encapOverhead(encap);
      const required = n.privatemtu + overhead;
      if (required > fabric.mtu) {
        push(undefined, `${name} (private)`, encap, fabric.mtu, required, `${name} gives guests MTU ${n.privatemtu} over ${encap.toUpperCase()}, which needs ${required} on the underlay (${n.privatemtu} + ${overhead}) but ${fabric.interface} has ${fabric.mtu}: set privatemtu to ${fabric.mtu - overhead} or raise the underlay`, [
          { source: o.source, excerpt: `${n.name ?? n.id}: privatemtu=${n.privatemtu} broadcastdomaintype=${n.broadcastdomaintype}` },
          { source: fabric.source, excerpt: `${fabric.interface}: mtu=${fabric.mtu}` },
        ], { overhead });
      }
    }
  }
  return findings;
}
