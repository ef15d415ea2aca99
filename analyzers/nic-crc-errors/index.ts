/** The nic_crc_errors analyzer: rising CRC/FCS errors on a physical NIC or bond member. */
import type { Analyzer } from '../../core/plugin.js';
import { analyzeNicCrc, nicCrcConfigSchema, type NicCrcConfig } from './analyze.js';

export const nicCrcErrors: Analyzer<NicCrcConfig> = {
  name: 'nic-crc-errors',
  description: 'CRC/FCS errors rising on a physical NIC or bond member (absolute increase over a window, with the error ratio and link flaps)',
  kinds: ['nic_crc_errors'],
  schema: nicCrcConfigSchema,
  analyze: (obs, cfg) => analyzeNicCrc(obs, cfg),
};
