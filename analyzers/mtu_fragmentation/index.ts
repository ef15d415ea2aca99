import type { Analyzer } from '../../core/plugin.js';
import { analyzeMtuFragmentation, mtuFragmentationSchema, type MtuFragmentationConfig } from './analyze.js';

export const mtuFragmentationAnalyzer: Analyzer<MtuFragmentationConfig> = {
  name: 'mtu_fragmentation',
  description: 'tunnels whose packets fragment in the underlay or draw ICMP frag-needed / Packet Too Big, with the MTU to set',
  kinds: ['mtu_fragmentation'],
  schema: mtuFragmentationSchema,
  analyze: (obs, cfg) => analyzeMtuFragmentation(obs, cfg),
  metrics: [
    { name: 'netdiag_mtu_tunnel_fragments', help: 'Outer IP fragments per tunnel type in the current captures', type: 'gauge', labelNames: ['host', 'kind'] },
    { name: 'netdiag_mtu_tunnel_too_big_messages', help: 'ICMP frag-needed / Packet Too Big messages about tunnel packets in the current captures', type: 'gauge', labelNames: ['host', 'kind'] },
  ],
  publish(obs, _cfg, sink) {
    sink.reset('netdiag_mtu_tunnel_fragments');
    sink.reset('netdiag_mtu_tunnel_too_big_messages');
    const frag = new Map<string, number>();
    const big = new Map<string, number>();
    for (const o of obs.get('pcap.tunnel')) {
      const k = `${o.host ?? ''}\0${o.data.type}`;
      frag.set(k, (frag.get(k) ?? 0) + o.data.outerFragments);
      big.set(k, (big.get(k) ?? 0) + o.data.icmpFragNeeded + o.data.packetTooBig);
    }
    for (const [k, v] of frag) {
      const [host, kind] = k.split('\0') as [string, string];
      sink.set('netdiag_mtu_tunnel_fragments', { host, kind }, v);
      sink.set('netdiag_mtu_tunnel_too_big_messages', { host, kind }, big.get(k) ?? 0);
    }
  },
};
