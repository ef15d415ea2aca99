/** The mtu_mismatch analyzer: overlay MTU + encapsulation overhead above the underlay MTU, from configuration alone. */
import type { Analyzer } from '../../core/plugin.js';
import { analyzeMtuMismatch, mtuMismatchSchema, type MtuMismatchConfig } from './analyze.js';

export const mtuMismatchAnalyzer: Analyzer<MtuMismatchConfig> = {
  name: 'mtu_mismatch',
  description: 'overlay/guest MTU plus tunnel overhead above the underlay MTU (ip link, OVS Interface mtu/mtu_request, CloudStack network MTUs)',
  kinds: ['mtu_mismatch'],
  schema: mtuMismatchSchema,
  analyze: (obs, cfg) => analyzeMtuMismatch(obs, cfg),
};
