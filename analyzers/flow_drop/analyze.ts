import { z } from 'zod';
import { bridgePorts, type FlowView, type HostOvs, latestFlows, ovsInventory, hostKey } from '../../collectors/ovs/model.js';
import { type FlowEntry, parseTunnelPortName } from '../../collectors/ovs/parse.js';
import { type Finding, makeFinding, type Severity } from '../../core/finding.js';
import type { ObservationReader } from '../../core/observation.js';
import type { AnalyzerContext, MetricsSink } from '../../core/plugin.js';
import { type BridgeFacts, DEFAULT_INTENTIONAL, intentionalDrop, intentionalPatternSchema, type IntentionalPattern } from './intentional.js';

export const flowDropSchema = z
  .object({
    /** The intentional-drop list (default: CloudStack's own drops, reference/cloudstack.md §5.4). */
    intentional: z.array(intentionalPatternSchema).default(DEFAULT_INTENTIONAL),
    /** Patterns added to `intentional` (site policy) without restating the defaults. */
    extraIntentional: z.array(intentionalPatternSchema).default([]),
    /** A drop flow is reported once it has counted at least this many packets. */
    minPackets: z.number().int().min(1).default(1),
    /** Drop rate (packets/s, from two snapshots) at which a finding becomes critical. */
    criticalPacketsPerSecond: z.number().positive().default(100),
  })
  .strict();

export type FlowDropConfig = z.infer<typeof flowDropSchema>;

/** Render a flow the way dump-flows prints it, for evidence. */
export function flowText(f: FlowEntry): string {
  const stats = [`cookie=${f.cookie}`, `table=${f.table}`];
  if (f.packets !== undefined) stats.push(`n_packets=${f.packets}`);
  if (f.bytes !== undefined) stats.push(`n_bytes=${f.bytes}`);
  return `${stats.join(', ')}, priority=${f.priority}${f.match ? `,${f.match}` : ''} actions=${f.actionsText || 'drop'}`;
}

const UNICAST_MAC = /^[0-9a-f]{1}[02468ace](:[0-9a-f]{2}){5}$/i;

/** A drop keyed on one VM: an exact unicast MAC or a host IP (no mask, /32, /128). */
export function vmTarget(f: FlowEntry): { mac?: string; ip?: string } | undefined {
  const t: { mac?: string; ip?: string } = {};
  for (const x of f.fields) {
    if (!x.value) continue;
    if ((x.name === 'dl_src' || x.name === 'dl_dst' || x.name === 'eth_src' || x.name === 'eth_dst') && !x.mask && UNICAST_MAC.test(x.value)) t.mac = x.value.toLowerCase();
    if (['nw_src', 'nw_dst', 'ip_src', 'ip_dst', 'ipv4_src', 'ipv4_dst', 'ipv6_src', 'ipv6_dst', 'arp_tpa', 'arp_spa'].includes(x.name)) {
      if (!x.mask || x.mask === '32' || x.mask === '128' || x.mask === '255.255.255.255') t.ip = x.value;
    }
  }
  return t.mac || t.ip ? t : undefined;
}

function fmtRate(r: number): string {
  return r >= 10 ? r.toFixed(0) : r.toFixed(2);
}

export type DropVerdict = 'forward' | 'drop_intentional' | 'drop_unexpected';

const TUNNEL_TYPES = new Set(['gre', 'vxlan', 'geneve', 'stt', 'gre64', 'erspan', 'ip6gre', 'lisp', 'gtpu', 'bareudp']);

/** What the intentional patterns may ask about a bridge: its other_config and which ports are tunnels. */
export function bridgeFacts(obs: ObservationReader, inv: Map<string, HostOvs>, host: string | undefined, bridge: string): BridgeFacts {
  const b = inv.get(hostKey(host))?.bridges.get(bridge);
  const ports = bridgePorts(obs, inv, host, bridge);
  return {
    name: bridge,
    otherConfig: b?.otherConfig,
    inPortIsTunnel(value) {
      const ref = /^\d+$/.test(value) ? ports.byNumber.get(Number(value)) ?? [...ports.byName.values()].find((r) => r.ofport === Number(value)) : ports.byName.get(value);
      const name = ref?.iface?.name ?? ref?.name;
      if (!ref || (!ref.iface && name === undefined)) return undefined;
      if (ref.iface && TUNNEL_TYPES.has(ref.iface.type)) return true;
      if (name !== undefined && parseTunnelPortName(name)) return true;
      // Known port, known type, not a tunnel; a port only `ovs-ofctl show` names is judged by its name.
      return ref.iface ? false : undefined;
    },
  };
}

export function dropVerdict(bridge: string | BridgeFacts, f: FlowEntry, patterns: readonly IntentionalPattern[]): { verdict: DropVerdict; pattern?: IntentionalPattern } {
  if (!f.drop) return { verdict: 'forward' };
  const p = intentionalDrop(bridge, f, patterns);
  return p ? { verdict: 'drop_intentional', pattern: p } : { verdict: 'drop_unexpected' };
}

export function analyzeFlowDrop(obs: ObservationReader, cfg: FlowDropConfig, _ctx?: AnalyzerContext): Finding[] {
  const patterns = [...cfg.intentional, ...cfg.extraIntentional];
  const inv = ovsInventory(obs);
  const findings: Finding[] = [];
  for (const bf of latestFlows(obs)) {
    const ifaces = [...(inv.get(hostKey(bf.host))?.interfaces.values() ?? [])];
    const facts = bridgeFacts(obs, inv, bf.host, bf.bridge);
    for (const v of bf.flows) {
      const f = v.entry;
      if (!f.drop) continue;
      if (intentionalDrop(facts, f, patterns)) continue;
      const packets = f.packets ?? 0;
      if (packets < cfg.minPackets) continue;
      const rate = v.packetsPerSecond;
      let severity: Severity;
      if (rate === undefined) severity = 'warning';
      else if (rate >= cfg.criticalPacketsPerSecond) severity = 'critical';
      else if (rate > 0) severity = 'warning';
      else severity = 'info';
      const target = vmTarget(f);
      const vm = target?.mac ? ifaces.find((i) => i.externalIds['attached-mac']?.toLowerCase() === target.mac) : undefined;
      const subject: Record<string, unknown> = { bridge: bf.bridge, table: f.table, priority: f.priority, match: f.match, actions: f.actionsText || 'drop' };
      const metrics: Record<string, unknown> = { packets, bytes: f.bytes ?? 0 };
      if (rate !== undefined) metrics.packetsPerSecond = Number(rate.toFixed(3));
      if (v.packetsIncrease !== undefined) metrics.packetsIncrease = v.packetsIncrease;
      if (bf.intervalSeconds !== undefined) metrics.intervalSeconds = bf.intervalSeconds;
      if (f.durationSeconds !== undefined) metrics.flowAgeSeconds = f.durationSeconds;
      if (v.reset) metrics.flowReAdded = true;
      const rateText = rate !== undefined ? `, ${fmtRate(rate)} packets/s over the last ${bf.intervalSeconds ?? '?'} s` : '';
      let summary: string;
      if (target) {
        const who = [target.mac, target.ip].filter(Boolean).join(' / ');
        const vmName = vm ? ` (${vm.externalIds['vm-id'] ? `vm ${vm.externalIds['vm-id']}, ` : ''}port ${vm.name})` : '';
        subject.vm = { ...target, ...(vm?.externalIds['vm-id'] ? { vmId: vm.externalIds['vm-id'] } : {}), ...(vm?.externalIds['iface-id'] ? { ifaceId: vm.externalIds['iface-id'] } : {}) };
        summary = `${bf.bridge}: traffic of ${who}${vmName} is dropped by table ${f.table} priority ${f.priority} (${packets} packets${rateText}) — the controller has not pushed a valid flow for this VM`;
      } else {
        summary = `${bf.bridge}: unexpected drop flow in table ${f.table} priority ${f.priority} (${f.match || 'match all'}) is dropping traffic: ${packets} packets${rateText}`;
      }
      findings.push(
        makeFinding({
          kind: 'flow_drop',
          severity,
          host: bf.host,
          subject,
          summary,
          metrics,
          evidence: [{ source: `${bf.source}${f.line ? `:${f.line}` : ''}`, excerpt: flowText(f) }],
          ...(bf.at !== undefined ? { lastSeen: new Date(bf.at).toISOString() } : {}),
        }),
      );
    }
  }
  return findings;
}

/** Gauges: flows by verdict, and drop-flow packets and rates by intentional/unexpected. */
export function publishFlowDrop(obs: ObservationReader, cfg: FlowDropConfig, sink: MetricsSink): void {
  const patterns = [...cfg.intentional, ...cfg.extraIntentional];
  for (const n of ['netdiag_ovs_flows', 'netdiag_ovs_drop_flow_packets', 'netdiag_ovs_drop_packets_per_second']) sink.reset(n);
  const inv = ovsInventory(obs);
  for (const bf of latestFlows(obs)) {
    const facts = bridgeFacts(obs, inv, bf.host, bf.bridge);
    const host = bf.host ?? '';
    const counts: Record<DropVerdict, number> = { forward: 0, drop_intentional: 0, drop_unexpected: 0 };
    const packets = { intentional: 0, unexpected: 0 };
    const rates = { intentional: 0, unexpected: 0 };
    let haveRate = false;
    for (const v of bf.flows as FlowView[]) {
      const { verdict } = dropVerdict(facts, v.entry, patterns);
      counts[verdict]++;
      if (verdict === 'forward') continue;
      const reason = verdict === 'drop_intentional' ? 'intentional' : 'unexpected';
      packets[reason] += v.entry.packets ?? 0;
      if (v.packetsPerSecond !== undefined) {
        rates[reason] += v.packetsPerSecond;
        haveRate = true;
      }
    }
    for (const [verdict, n] of Object.entries(counts)) sink.set('netdiag_ovs_flows', { host, bridge: bf.bridge, verdict }, n);
    for (const reason of ['intentional', 'unexpected'] as const) {
      sink.set('netdiag_ovs_drop_flow_packets', { host, bridge: bf.bridge, reason }, packets[reason]);
      if (haveRate) sink.set('netdiag_ovs_drop_packets_per_second', { host, bridge: bf.bridge, reason }, rates[reason]);
    }
  }
}
