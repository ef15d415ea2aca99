/**
 * mtu_fragmentation: per tunnel seen in captures, outer fragments and ICMP frag-needed / Packet
 * Too Big about its packets mean the encapsulated packets do not fit the underlay. The finding
 * gives the MTU to advertise to guests (path MTU − encapsulation overhead) and the underlay MTU
 * that would carry what the guests send today (largest inner packet + overhead).
 */
import { z } from 'zod';
import { excerpt, makeFinding, type Finding } from '../../core/finding.js';
import type { ObservationReader } from '../../core/observation.js';
import type { TunnelTraffic } from '../../collectors/pcap/aggregate.js';
import '../../collectors/pcap/analyse.js';
import { encapOverhead } from './overhead.js';

export const mtuFragmentationSchema = z
  .object({
    /** Outer fragments per tunnel (all captures together) that make a finding. */
    minFragments: z.number().int().min(1).default(1),
    /** Frag-needed / PTB messages per tunnel that make a finding (they mean drops: critical). */
    minTooBig: z.number().int().min(1).default(1),
    /** Underlay MTU assumed when the captures show none (no ICMP, no fragments). */
    assumedUnderlayMtu: z.number().int().min(576).default(1500),
  })
  .strict();

export type MtuFragmentationConfig = z.infer<typeof mtuFragmentationSchema>;

interface Merged extends TunnelTraffic {
  host?: string;
  captures: string[];
}

function merge(obs: ObservationReader): Merged[] {
  const by = new Map<string, Merged>();
  for (const o of obs.get('pcap.tunnel')) {
    const t = o.data;
    const k = `${o.host ?? ''}|${t.type}|${t.key ?? ''}|${t.src}|${t.dst}`;
    const m = by.get(k);
    if (!m) {
      by.set(k, { ...t, advertisedMtus: [...t.advertisedMtus], host: o.host, captures: [t.capture] });
      continue;
    }
    for (const f of ['packets', 'bytes', 'outerFragments', 'innerFragments', 'outerDf', 'outerNoDf', 'icmpFragNeeded', 'packetTooBig'] as const) m[f] += t[f];
    for (const f of ['largestFrame', 'largestOuterPacket', 'largestOuterFragment', 'largestInnerPacket', 'overhead', 'optionBytes'] as const) m[f] = Math.max(m[f], t[f]);
    for (const mtu of t.advertisedMtus) if (!m.advertisedMtus.includes(mtu)) m.advertisedMtus.push(mtu);
    m.advertisedMtus.sort((a, b) => a - b);
    if (t.firstSeen !== undefined) m.firstSeen = Math.min(m.firstSeen ?? t.firstSeen, t.firstSeen);
    if (t.lastSeen !== undefined) m.lastSeen = Math.max(m.lastSeen ?? t.lastSeen, t.lastSeen);
    if (!m.captures.includes(t.capture) && m.captures.length < 10) m.captures.push(t.capture);
  }
  return [...by.values()];
}

/** The MTU numbers for one tunnel. */
export function mtuBudget(t: TunnelTraffic, assumedUnderlayMtu = 1500) {
  const overhead = t.overhead > 0 ? t.overhead : encapOverhead(t.type, { ipv6: t.ipVersion === 6, geneveOptions: t.optionBytes });
  // What the path carries: the smallest MTU an ICMP advertised, else the size the sender cut
  // its fragments to (its interface MTU), else the assumption.
  let pathMtu: number | undefined;
  let pathMtuFrom: 'icmp' | 'fragments' | 'assumed' = 'assumed';
  if (t.advertisedMtus.length) {
    pathMtu = t.advertisedMtus[0]!;
    pathMtuFrom = 'icmp';
  } else if (t.outerFragments > 0 && t.largestOuterFragment > 0) {
    pathMtu = t.largestOuterFragment;
    pathMtuFrom = 'fragments';
  }
  const underlay = pathMtu ?? assumedUnderlayMtu;
  const recommendedMtu = underlay - overhead;
  const requiredUnderlayMtu = t.largestInnerPacket > 0 ? t.largestInnerPacket + overhead : t.largestOuterPacket;
  return { overhead, pathMtu: underlay, pathMtuFrom, recommendedMtu, requiredUnderlayMtu };
}

export function describeTunnel(t: Pick<TunnelTraffic, 'type' | 'key' | 'src' | 'dst'>): string {
  const key = t.key === undefined ? '' : t.type === 'gre' ? ` key ${t.key}` : t.type === 'stt' ? ` context ${t.key}` : ` vni ${t.key}`;
  return `${t.type.toUpperCase()}${key} ${t.src} → ${t.dst}`;
}

export function analyzeMtuFragmentation(obs: ObservationReader, cfg: MtuFragmentationConfig): Finding[] {
  const findings: Finding[] = [];
  for (const t of merge(obs)) {
    const tooBig = t.icmpFragNeeded + t.packetTooBig;
    if (t.outerFragments < cfg.minFragments && tooBig < cfg.minTooBig) continue;
    const b = mtuBudget(t, cfg.assumedUnderlayMtu);
    const name = describeTunnel(t);
    const parts: string[] = [];
    if (t.outerFragments) parts.push(`${t.outerFragments} outer fragments of ${t.packets} packets`);
    if (t.icmpFragNeeded) parts.push(`${t.icmpFragNeeded} ICMP frag-needed`);
    if (t.packetTooBig) parts.push(`${t.packetTooBig} ICMPv6 Packet Too Big`);
    if (t.advertisedMtus.length) parts.push(`advertised MTU ${t.advertisedMtus.join('/')}`);
    const severity = tooBig >= cfg.minTooBig ? 'critical' : 'warning';
    const summary =
      `${name}: ${parts.join(', ')}; largest packet ${t.largestOuterPacket} B with ${b.overhead} B of encapsulation on a ${b.pathMtu} B path ` +
      `(${b.pathMtuFrom}) — set the guest MTU to ${b.recommendedMtu} or raise the underlay MTU to ${b.requiredUnderlayMtu}`;
    const subject: Record<string, unknown> = { tunnel: { type: t.type, ...(t.key !== undefined ? { key: t.key } : {}), src: t.src, dst: t.dst } };
    findings.push(
      makeFinding({
        kind: 'mtu_fragmentation',
        severity,
        host: t.host,
        subject,
        summary,
        metrics: {
          fragments: t.outerFragments,
          innerFragments: t.innerFragments,
          icmpFragNeeded: t.icmpFragNeeded,
          packetTooBig: t.packetTooBig,
          advertisedMtus: t.advertisedMtus,
          largestPacket: t.largestOuterPacket,
          largestInnerPacket: t.largestInnerPacket,
          recommendedMtu: b.recommendedMtu,
          requiredUnderlayMtu: b.requiredUnderlayMtu,
          pathMtu: b.pathMtu,
          overhead: b.overhead,
          packets: t.packets,
          bytes: t.bytes,
          outerDfPackets: t.outerDf,
          outerNoDfPackets: t.outerNoDf,
        },
        evidence: t.captures.map((c) => ({
          source: c,
          excerpt: excerpt(
            `${name} (IPv${t.ipVersion}): packets=${t.packets} outerFragments=${t.outerFragments} innerFragments=${t.innerFragments} ` +
              `DF=${t.outerDf} noDF=${t.outerNoDf} fragNeeded=${t.icmpFragNeeded} PTB=${t.packetTooBig} largestFrame=${t.largestFrame}`,
          ),
        })),
        ...(t.firstSeen !== undefined ? { firstSeen: new Date(t.firstSeen).toISOString() } : {}),
        ...(t.lastSeen !== undefined ? { lastSeen: new Date(t.lastSeen).toISOString() } : {}),
      }),
    );
  }
  return findings;
}
