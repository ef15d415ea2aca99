/** The mtu_mismatch analyzer: overlay MTU + encapsulation overhead above the underlay MTU, from configuration alone. */
import type { Analyzer } from '../../core/plugin.js';
import { analyzeMtuMismatch, mtuMismatchSchema, type MtuMismatchConfig } from './analyze.js';

export const mtuMismatchAnalyzer: Analyzer<MtuMismatchConfig> = {
  name: 'mtu_mismatch',
  description: 'overlay/guest MTU plus tunnel overhead above the underlay MTU (ip link, OVS Interface mtu/mtu_request, CloudStack network MTUs)',
  kinds: ['mtu_mismatch'],
  schema: mtuMismatchSchema,
  analyze: (obs, cfg) => analyzeMtuMismatch(obs, cfg),
  metrics: [
    {
      name: 'netdiag_mtu_mismatch_bytes',
      help: 'Bytes by which an interface MTU falls short of what the overlay riding on it needs (required MTU - MTU), per mismatch found',
      type: 'gauge',
      labelNames: ['host', 'interface', 'kind'],
    },
  ],
  publish(obs, cfg, sink) {
    sink.reset('netdiag_mtu_mismatch_bytes');
    for (const f of analyzeMtuMismatch(obs, cfg)) {
      const s = f.subject as { interface: string; encapsulation: string };
      sink.set('netdiag_mtu_mismatch_bytes', { host: f.host ?? '', interface: s.interface, kind: s.encapsulation }, Number(f.metrics.requiredMtu) - Number(f.metrics.mtu));
    }
  },
};
