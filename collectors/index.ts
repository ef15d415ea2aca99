/**
 * The collector registry: every collector netdiag has, listed explicitly (no directory scanning).
 * Order matters only for ties when two file collectors are equally sure of an input.
 */
import type { FileCollector, LiveCollector, OnlineCollector } from '../core/plugin.js';
// @registry-imports (one import per collector, keep this marker)

export const fileCollectors: readonly FileCollector[] = [
  // @registry-file-collectors (keep this marker)
];

export const liveCollectors: readonly LiveCollector<any>[] = [
  // @registry-live-collectors (keep this marker)
];

export const onlineCollectors: readonly OnlineCollector[] = [
  // @registry-online-collectors (keep this marker)
];
