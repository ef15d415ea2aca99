/**
 * The pcap collector: classic pcap and pcapng files (plain or gzip'd) in `diagnose` and bundles,
 * and live capture with tcpdump / a rotating capture directory in `serve` (see live.ts).
 * Each capture becomes one `pcap.tunnel` observation per tunnel plus one `pcap.capture`.
 */
import type { FileCollector, MetricSpec } from '../../core/plugin.js';
import { analyseCapture, emitSummary } from './analyse.js';
import { captureFormat } from './reader.js';

export const pcapMetrics: readonly MetricSpec[] = [
  { name: 'netdiag_pcap_packets_total', help: 'Packets read from captures (files and live)', type: 'counter', labelNames: ['host', 'interface'] },
  { name: 'netdiag_pcap_decoded_packets_total', help: 'Captured packets with a decodable IP header', type: 'counter', labelNames: ['host', 'interface'] },
  { name: 'netdiag_pcap_truncated_records_total', help: 'Capture records cut by the snap length (captured < original length)', type: 'counter', labelNames: ['host', 'interface'] },
  { name: 'netdiag_pcap_capture_restarts_total', help: 'Times the live tcpdump was (re)started after exiting', type: 'counter', labelNames: ['host', 'interface'] },
  { name: 'netdiag_pcap_capture_errors_total', help: 'Live capture failures (tcpdump exit, unreadable rotated file, corrupt stream)', type: 'counter', labelNames: ['host', 'interface'] },
];

export const pcapFileCollector: FileCollector = {
  type: 'pcap',
  description: 'pcap (µs/ns, either byte order) and pcapng captures, plain or gzip: tunnels, fragments, ICMP frag-needed / PTB',
  sniff(input) {
    return captureFormat(input.head) ? 1 : 0;
  },
  async read(input, ctx) {
    const summary = await analyseCapture(input.open(), input.path);
    const stats = emitSummary(summary, ctx, { host: input.host, at: input.collectedAt().getTime(), interfaceLabel: 'file' });
    if (summary.error !== undefined) throw summary.error;
    return stats;
  },
};
