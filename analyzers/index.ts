/** The analyzer registry: every failure mode netdiag finds, listed explicitly. */
import type { Analyzer } from '../core/plugin.js';
// @registry-imports (one import per analyzer, keep this marker)

export const analyzers: readonly Analyzer<any>[] = [
  // @registry-analyzers (keep this marker)
];
