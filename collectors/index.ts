/**
 * The collector registry: every collector netdiag has, listed explicitly (no directory scanning).
 * Order matters only for ties when two file collectors are equally sure of an input.
 */
import type { FileCollector, LiveCollector, OnlineCollector } from '../core/plugin.js';
import { ethtoolInfoFile, ethtoolStatsFile, ipLinkStatsFile, nicLiveCollector, sysfsDumpFile } from './nic/index.js';
import { cloudstackLogCollector, ovstunnelLogCollector } from './cloudstack-log/index.js';
import { nvpApiCollector, nvpApiResponseCollector } from './nvp-api/index.js';
import { dumpFlowsFile, listBrFile, ofctlShowFile, ovsLiveCollector, vsctlJsonFile, vsctlListFile, vsctlShowFile } from './ovs/index.js';
import { pcapFileCollector } from './pcap/index.js';
import { pcapLiveCollector } from './pcap/live.js';
import { cloudstackApiCollector, cloudstackApiResponseCollector } from './cloudstack-api/index.js';
import { cloudstackLogLive } from './cloudstack-log/live.js';
import { orchestratorLiveCollector } from './orchestrator-live/index.js';
// @registry-imports (one import per collector, keep this marker)

export const fileCollectors: readonly FileCollector[] = [
  ethtoolStatsFile,
  ethtoolInfoFile,
  ipLinkStatsFile,
  sysfsDumpFile,
  cloudstackLogCollector,
  ovstunnelLogCollector,
  nvpApiResponseCollector,
  dumpFlowsFile,
  ofctlShowFile,
  vsctlShowFile,
  vsctlJsonFile,
  vsctlListFile,
  listBrFile,
  pcapFileCollector,
  cloudstackApiResponseCollector,
  // @registry-file-collectors (keep this marker)
];

export const liveCollectors: readonly LiveCollector<any>[] = [
  nicLiveCollector,
  ovsLiveCollector,
  pcapLiveCollector,
  cloudstackLogLive,
  orchestratorLiveCollector,
  // @registry-live-collectors (keep this marker)
];

export const onlineCollectors: readonly OnlineCollector[] = [
  nvpApiCollector,
  cloudstackApiCollector,
  // @registry-online-collectors (keep this marker)
];
