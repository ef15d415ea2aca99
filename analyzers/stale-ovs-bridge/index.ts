import type { Analyzer } from '../../core/plugin.js';
import { analyzeStaleOvsBridges, KIND, staleOvsBridgeSchema, type StaleOvsBridgeConfig } from './analyze.js';

export const staleOvsBridge: Analyzer<StaleOvsBridgeConfig> = {
  name: 'stale_ovs_bridge',
  description: 'OVSTunnel<key> bridges and t<key>-<from>-<to> tunnel ports left behind by the OVS plugin (no network, no VM on the host, peer host gone)',
  kinds: [KIND],
  schema: staleOvsBridgeSchema,
  analyze: analyzeStaleOvsBridges,
  metrics: [{ name: 'netdiag_stale_ovs_bridges', help: 'Stale OVSTunnel bridges and tunnel ports per host', type: 'gauge', labelNames: ['host', 'what'] }],
  publish(obs, cfg, sink) {
    sink.reset('netdiag_stale_ovs_bridges');
    const counts = new Map<string, number>();
    for (const f of analyzeStaleOvsBridges(obs, cfg, { now: Date.now(), mode: 'serve', state: new Map() })) {
      const k = `${f.host ?? ''}\u0000${f.subject.port ? 'tunnel_port' : 'bridge'}`;
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    for (const [k, n] of counts) {
      const [host, what] = k.split('\u0000') as [string, string];
      sink.set('netdiag_stale_ovs_bridges', { host, what }, n);
    }
  },
};
