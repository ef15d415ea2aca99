/** The analyzer registry: every failure mode netdiag finds, listed explicitly. */
import type { Analyzer } from '../core/plugin.js';
import { nicCrcErrors } from './nic-crc-errors/index.js';
import { staleLogicalSwitch } from './stale-logical-switch/index.js';
import { staleOvsBridge } from './stale-ovs-bridge/index.js';
import { orchestratorHealth } from './orchestrator-health/index.js';
import { nvpApiExceptionBurst } from './nvp-api-exception-burst/index.js';
import { flowDrop } from './flow_drop/index.js';
import { flowInvalidOutput } from './flow_invalid_output/index.js';
import { ovsTunnel } from './ovs_tunnel/index.js';
import { mtuFragmentationAnalyzer } from './mtu_fragmentation/index.js';
import { mtuMismatchAnalyzer } from './mtu_mismatch/index.js';
// @registry-imports (one import per analyzer, keep this marker)

export const analyzers: readonly Analyzer<any>[] = [
  nicCrcErrors,
  staleLogicalSwitch,
  staleOvsBridge,
  orchestratorHealth,
  nvpApiExceptionBurst,
  flowDrop,
  flowInvalidOutput,
  ovsTunnel,
  mtuFragmentationAnalyzer,
  mtuMismatchAnalyzer,
  // @registry-analyzers (keep this marker)
];
