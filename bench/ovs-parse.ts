/** Parse one dump-flows file through the same file collector `diagnose` uses, then run the flow analyzers; prints counts and times. */
import { analyzeFlowDrop, flowDropSchema } from '../analyzers/flow_drop/analyze.js';
import { analyzeFlowInvalidOutput, flowInvalidOutputSchema } from '../analyzers/flow_invalid_output/analyze.js';
import { dumpFlowsFile } from '../collectors/ovs/index.js';
import { openInput } from '../core/input.js';
import { ObservationStore } from '../core/observation.js';
import { nullLogger, nullMetrics } from '../core/plugin.js';

const path = process.argv[2];
if (!path) {
  console.error('usage: node dist/bench/ovs-parse.js DUMP_FILE');
  process.exit(3);
}
const t0 = process.hrtime.bigint();
let flows = 0;
const store = new ObservationStore();
const stats = await dumpFlowsFile.read(await openInput(path, 'bench'), {
  emit(o) {
    if (o.kind === 'ovs.flows') flows += (o.data as { flows: unknown[] }).flows.length;
    store.add(o);
  },
  metrics: nullMetrics,
  log: nullLogger,
});
const t1 = process.hrtime.bigint();
// The analyzers that read every flow of the snapshot, as `diagnose` runs them.
const ctx = { now: Date.now(), mode: 'diagnose' as const, state: new Map() };
const drops = analyzeFlowDrop(store, flowDropSchema.parse({}), ctx).length;
const outputs = analyzeFlowInvalidOutput(store, flowInvalidOutputSchema.parse({}), ctx).length;
const t2 = process.hrtime.bigint();
const ms = (a: bigint, b: bigint) => Math.round(Number(b - a) / 1e6);
console.log(JSON.stringify({ flows, records: stats.records, skipped: stats.skipped ?? 0, parseMs: ms(t0, t1), analyzeMs: ms(t1, t2), flowDropFindings: drops, invalidOutputFindings: outputs }));
