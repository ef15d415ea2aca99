import type { MetricsSink } from '../../core/plugin.js';

/** A MetricsSink that records every increment as `name{labels-json}` → total, for assertions. */
export function recordingSink(): { sink: MetricsSink; counts: Map<string, number> } {
  const counts = new Map<string, number>();
  const sink: MetricsSink = {
    inc(name, labels = {}, v = 1) {
      const k = `${name}${JSON.stringify(labels)}`;
      counts.set(k, (counts.get(k) ?? 0) + v);
    },
    set() {},
    reset() {},
  };
  return { sink, counts };
}
