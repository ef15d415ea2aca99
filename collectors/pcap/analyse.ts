/**
 * One capture stream → per-tunnel observations and capture health. Shared by the file collector
 * (diagnose, bundles) and the live collector (tcpdump, rotating directory).
 */
import type { Readable } from 'node:stream';
import { describeError } from '../../core/errors.js';
import type { ParseContext, ReadStats } from '../../core/plugin.js';
import { TunnelAggregator, type CaptureHealth, type TunnelTraffic } from './aggregate.js';
import { decodePacket, newDecoded } from './decode.js';
import { readCapture, type PacketRecord, type ReadResult } from './reader.js';

declare module '../../core/observation.js' {
  interface ObservationMap {
    'pcap.tunnel': TunnelTraffic;
    'pcap.capture': CaptureHealth;
  }
}

export interface CaptureSummary {
  tunnels: TunnelTraffic[];
  health: CaptureHealth;
  error?: unknown;
}

/** Read and aggregate a whole capture stream; a read error is returned with what was read. */
export async function analyseCapture(stream: Readable, name: string, onRecord?: (rec: PacketRecord, agg: TunnelAggregator) => void): Promise<CaptureSummary> {
  const agg = new TunnelAggregator(name);
  const d = newDecoded();
  let res: ReadResult | undefined;
  let error: unknown;
  try {
    res = await readCapture(stream, name, (rec) => {
      agg.add(rec, decodePacket(d, rec.data, rec.offset, rec.capLen, rec.linkType));
      onRecord?.(rec, agg);
    });
  } catch (e) {
    error = e;
    res = (e as { result?: ReadResult }).result;
    agg.health.error = describeError(e);
  }
  if (res) {
    agg.health.format = res.format;
    agg.health.linkTypes = [...new Set(res.linkTypes)];
    agg.health.snapLens = [...new Set(res.snapLens)];
  }
  return { tunnels: agg.finish(), health: agg.health, ...(error !== undefined ? { error } : {}) };
}

/** Emit a summary as observations and metrics; returns the ReadStats for the report. */
export function emitSummary(s: CaptureSummary, ctx: ParseContext, opts: { host?: string; at: number; interfaceLabel: string }): ReadStats {
  for (const t of s.tunnels) {
    ctx.emit({ kind: 'pcap.tunnel', host: opts.host, at: t.lastSeen !== undefined ? Math.round(t.lastSeen) : opts.at, source: s.health.capture, data: t });
  }
  ctx.emit({ kind: 'pcap.capture', host: opts.host, at: opts.at, source: s.health.capture, data: s.health });
  const h = s.health;
  const labels = { host: opts.host ?? '', interface: opts.interfaceLabel };
  ctx.metrics.inc('netdiag_pcap_packets_total', labels, h.packets);
  ctx.metrics.inc('netdiag_pcap_decoded_packets_total', labels, h.decoded);
  ctx.metrics.inc('netdiag_pcap_truncated_records_total', labels, h.truncatedRecords);
  const warnings: string[] = [];
  if (h.truncatedRecords > 0) {
    warnings.push(`${h.truncatedRecords} of ${h.packets} records were cut by the snap length (${h.snapLens.join('/')}); sizes use the original length`);
  }
  if (h.unattributedFragments > 0) warnings.push(`${h.unattributedFragments} fragments could not be tied to a tunnel (their first fragment is not in the capture)`);
  if (h.unattributedFragments === 0 && h.packets > h.decoded) warnings.push(`${h.packets - h.decoded} packets carry no IP (ARP, LLDP...) and were not analysed`);
  return { records: h.packets, ...(warnings.length ? { warnings } : {}) };
}
