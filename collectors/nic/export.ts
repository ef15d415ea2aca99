/**
 * NIC counters as Prometheus counters: the increase between two samples of a counter, from the
 * same source (a source switch re-bases), with resets counted. Shared by the NIC collector and the
 * OVS collector's DPDK ports, so both export `netdiag_nic_*` the same way.
 */
import { counterDelta } from '../../core/counters.js';
import type { MetricsSink } from '../../core/plugin.js';

export class CounterIncreaseExport {
  private readonly last = new Map<string, { source: string; value: number; at: number }>();

  /** Add the increase of `value` since the last sample under `key` to `metric` (0 on the first). */
  inc(sink: MetricsSink, metric: string, labels: Record<string, string>, key: string, source: string, value: number, at: number): void {
    const prev = this.last.get(key);
    this.last.set(key, { source, value, at });
    if (!prev || prev.source !== source) {
      sink.inc(metric, labels, 0);
      return;
    }
    const d = counterDelta({ value: prev.value, at: prev.at }, { value, at }, 64);
    if (d.reset) sink.inc('netdiag_nic_counter_resets_total', { host: labels.host!, interface: labels.interface! }, 1);
    sink.inc(metric, labels, d.increase);
  }
}
