import { z } from 'zod';
import { bridgePorts, latestFlows, ovsInventory, type BridgePorts } from '../../collectors/ovs/model.js';
import { type FlowEntry, outputActions } from '../../collectors/ovs/parse.js';
import { type Finding, makeFinding } from '../../core/finding.js';
import type { ObservationReader } from '../../core/observation.js';
import type { AnalyzerContext, MetricsSink } from '../../core/plugin.js';
import { flowText } from '../flow_drop/analyze.js';

export const flowInvalidOutputSchema = z
  .object({
    /** Report broken outputs of flows that never matched a packet too (as warnings). */
    includeIdle: z.boolean().default(true),
  })
  .strict();

export type FlowInvalidOutputConfig = z.infer<typeof flowInvalidOutputSchema>;

/** Reserved OpenFlow port names: never "absent". */
const RESERVED = new Set(['local', 'in_port', 'normal', 'flood', 'all', 'controller', 'table', 'any', 'none', 'unset']);

export type InvalidOutputReason = 'port_zero' | 'absent_port' | 'ofport_invalid' | 'interface_error';

export interface InvalidOutput {
  port: string;
  reason: InvalidOutputReason;
  detail: string;
  /** Set when the port is a member of a `bundle(...)` action: how many members it has, how many cannot deliver. */
  bundle?: { members: number; invalid: number };
}

/** Why one output port cannot deliver, or undefined when it can (or cannot be judged). */
function judgePort(p: string, ports: BridgePorts): Omit<InvalidOutput, 'port'> | undefined {
  if (p.includes('[') || RESERVED.has(p.toLowerCase())) return undefined; // output to a field, or a reserved port
  const num = /^\d+$/.test(p) ? Number(p) : /^0x[0-9a-f]+$/i.test(p) ? parseInt(p, 16) : undefined;
  if (num === 0) return { reason: 'port_zero', detail: 'output to port 0, which is no port at all' };
  if (num !== undefined && num >= 0xff00) return undefined; // OpenFlow 1.0 reserved range (LOCAL 65534 ...)
  const ref = num !== undefined ? ports.byNumber.get(num) ?? [...ports.byName.values()].find((r) => r.ofport === num) : ports.byName.get(p);
  if (!ref) {
    // The port asked for this ofport (ofport_request) but OVS could not add it: name the cause.
    const asked = num !== undefined ? [...ports.byName.values()].find((r) => r.iface?.ofportRequest === num && (r.iface.ofport === undefined || r.iface.ofport < 0)) : undefined;
    if (asked?.iface) {
      return { reason: 'ofport_invalid', detail: `port ${p} was requested by interface ${asked.iface.name} (ofport_request=${num}), which has ofport ${asked.iface.ofport ?? 'unset'}: OVS could not add it${asked.iface.error ? ` (${asked.iface.error})` : ''}` };
    }
    // Without a port map only names can be checked (against OVSDB's interfaces of the bridge).
    const canJudge = ports.source !== 'none' || (num === undefined && ports.byName.size > 0);
    return canJudge ? { reason: 'absent_port', detail: `port ${p} is not on the bridge (port map from ${ports.source === 'ofctl-show' ? 'ovs-ofctl show' : 'OVSDB'})` } : undefined;
  }
  if (ref.iface?.ofport === -1) return { reason: 'ofport_invalid', detail: `interface ${ref.iface.name} has ofport -1: OVS could not add it${ref.iface.error ? ` (${ref.iface.error})` : ''}` };
  if (ref.iface?.error) return { reason: 'interface_error', detail: `interface ${ref.iface.name} has error "${ref.iface.error}"` };
  return undefined;
}

/**
 * The output/enqueue targets of one flow that cannot deliver, judged against the bridge's ports.
 * A `bundle(...)` member that cannot deliver is listed with `bundle` set: the bundle still sends
 * through its other members, so it loses traffic only when none of them can deliver.
 */
export function invalidOutputs(f: FlowEntry, ports: BridgePorts): InvalidOutput[] {
  const out: InvalidOutput[] = [];
  for (const a of outputActions(f.actions)) {
    if (a.members !== undefined) {
      const bad = a.members.flatMap((p) => {
        const j = judgePort(p, ports);
        return j ? [{ port: p, ...j }] : [];
      });
      const bundle = { members: a.members.length, invalid: bad.length };
      for (const b of bad) {
        const rest = bundle.invalid === bundle.members ? 'no member of the bundle can deliver' : `${bundle.members - bundle.invalid} of its ${bundle.members} members remain`;
        out.push({ ...b, detail: `bundle member ${b.detail}; ${rest}`, bundle });
      }
      continue;
    }
    const j = judgePort(a.port!, ports);
    if (j) out.push({ port: a.port!, ...j });
  }
  return out;
}

/** True when the flow's traffic is lost to this broken output (a bundle with a live member still delivers). */
function losesTraffic(b: InvalidOutput): boolean {
  return b.bundle === undefined || b.bundle.invalid === b.bundle.members;
}

export function analyzeFlowInvalidOutput(obs: ObservationReader, cfg: FlowInvalidOutputConfig, _ctx?: AnalyzerContext): Finding[] {
  const inv = ovsInventory(obs);
  const findings: Finding[] = [];
  for (const bf of latestFlows(obs)) {
    const ports = bridgePorts(obs, inv, bf.host, bf.bridge);
    for (const v of bf.flows) {
      const f = v.entry;
      const bad = invalidOutputs(f, ports);
      if (bad.length === 0) continue;
      const packets = f.packets ?? 0;
      if (packets === 0 && !cfg.includeIdle) continue;
      const matching = v.packetsPerSecond !== undefined ? v.packetsPerSecond > 0 : packets > 0;
      for (const b of bad) {
        const losing = matching && losesTraffic(b);
        const metrics: Record<string, unknown> = { packets };
        if (v.packetsPerSecond !== undefined) metrics.packetsPerSecond = Number(v.packetsPerSecond.toFixed(3));
        findings.push(
          makeFinding({
            kind: 'flow_invalid_output',
            severity: losing ? 'critical' : 'warning',
            host: bf.host,
            subject: { bridge: bf.bridge, table: f.table, priority: f.priority, match: f.match, actions: f.actionsText, port: b.port, reason: b.reason },
            summary: `${bf.bridge}: flow in table ${f.table} priority ${f.priority} (${f.match || 'match all'}) outputs to port ${b.port}: ${b.detail}; ${packets} packets ${losing ? 'are being lost' : 'matched so far'}`,
            metrics,
            evidence: [{ source: `${bf.source}${f.line ? `:${f.line}` : ''}`, excerpt: flowText(f) }],
            ...(bf.at !== undefined ? { lastSeen: new Date(bf.at).toISOString() } : {}),
          }),
        );
      }
    }
  }
  return findings;
}

export function publishFlowInvalidOutput(obs: ObservationReader, _cfg: FlowInvalidOutputConfig, sink: MetricsSink): void {
  sink.reset('netdiag_ovs_invalid_output_flows');
  sink.reset('netdiag_ovs_invalid_output_packets_per_second');
  const inv = ovsInventory(obs);
  for (const bf of latestFlows(obs)) {
    const ports = bridgePorts(obs, inv, bf.host, bf.bridge);
    const counts: Record<InvalidOutputReason, number> = { port_zero: 0, absent_port: 0, ofport_invalid: 0, interface_error: 0 };
    const rates: Record<InvalidOutputReason, number> = { port_zero: 0, absent_port: 0, ofport_invalid: 0, interface_error: 0 };
    let haveRate = false;
    for (const v of bf.flows) {
      const bad = invalidOutputs(v.entry, ports);
      for (const r of new Set(bad.map((b) => b.reason))) counts[r]++;
      // Only traffic actually lost counts as lost: a bundle with a live member still delivers.
      for (const r of new Set(bad.filter(losesTraffic).map((b) => b.reason))) if (v.packetsPerSecond !== undefined) rates[r] += v.packetsPerSecond;
      if (v.packetsPerSecond !== undefined) haveRate = true;
    }
    const labels = (reason: string) => ({ host: bf.host ?? '', bridge: bf.bridge, reason });
    for (const [reason, n] of Object.entries(counts)) sink.set('netdiag_ovs_invalid_output_flows', labels(reason), n);
    // Packets/s matched by those flows: traffic being lost now (needs two dumps).
    if (haveRate) for (const [reason, r] of Object.entries(rates)) sink.set('netdiag_ovs_invalid_output_packets_per_second', labels(reason), r);
  }
}
