/** Parse one dump-flows file through the same file collector `diagnose` uses; prints flows and time. */
import { dumpFlowsFile } from '../collectors/ovs/index.js';
import { openInput } from '../core/input.js';
import { nullLogger, nullMetrics } from '../core/plugin.js';

const path = process.argv[2];
if (!path) {
  console.error('usage: node dist/bench/ovs-parse.js DUMP_FILE');
  process.exit(3);
}
const t0 = process.hrtime.bigint();
let flows = 0;
const stats = await dumpFlowsFile.read(await openInput(path, 'bench'), {
  emit(o) {
    if (o.kind === 'ovs.flows') flows += (o.data as { flows: unknown[] }).flows.length;
  },
  metrics: nullMetrics,
  log: nullLogger,
});
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
console.log(JSON.stringify({ flows, records: stats.records, skipped: stats.skipped ?? 0, parseMs: Math.round(ms) }));
