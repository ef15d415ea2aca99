#!/usr/bin/env node
// Benchmark: `netdiag diagnose` on a ~1 GiB CloudStack management-server.log versus
// `grep -c NiciraNvpApiException` on the same file (what an admin would otherwise run).
// Generates its input into bench/data/ (gitignored), warms the page cache, runs each tool a few
// times under GNU time, prints the time ratio and netdiag's peak RSS, writes bench/RESULTS-logs.md.
// Usage: npx tsc -p tsconfig.json && node bench/logs.mjs [--size-mib 1024] [--runs 3]
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i === -1 ? def : Number(args[i + 1]);
};
const SIZE = opt('--size-mib', 1024) * 1024 * 1024;
const RUNS = opt('--runs', 3);
const dataDir = join(root, 'bench', 'data');
const file = join(dataDir, `management-server-${SIZE >> 20}m.log`);

// ---- generator: the real line shapes of reference/cloudstack.md §1.4, §1.5, §2.3-2.5 ---------
let seed = 7;
const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const HEX = '0123456789abcdef';
const hex = (n) => {
  let s = '';
  for (let i = 0; i < n; i++) s += HEX[(rnd() * 16) | 0];
  return s;
};
const p2 = (n) => (n < 10 ? `0${n}` : `${n}`);
const p3 = (n) => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`);
function ts(ms) {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())},${p3(d.getUTCMilliseconds())}`;
}

function ordinary(t) {
  const r = rnd();
  const ctx = `ctx-${hex(8)}`;
  const logid = hex(8);
  if (r < 0.22) return `${ts(t)} DEBUG [c.c.a.ApiServlet] (qtp788117692-${(rnd() * 200) | 0}:${ctx}) (logid:${logid}) ===START===  192.168.1.${(rnd() * 250) | 0} -- GET  command=listVirtualMachines&response=json&listall=true&page=1&pagesize=500\n`;
  if (r < 0.4) return `${ts(t)} DEBUG [c.c.a.t.Request] (AgentManager-Handler-${(rnd() * 16) | 0}:null) (logid:) Seq ${(rnd() * 40) | 0}-8751619975887716${hex(3)}: Processing:  { Ans: , MgmtId: 6738937972795, via: 1, Ver: v1, Flags: 10, [{"com.cloud.agent.api.Answer":{"result":true,"details":"","wait":0}}] }\n`;
  if (r < 0.55) return `${ts(t)} DEBUG [o.a.c.f.j.i.AsyncJobManagerImpl] (AsyncJobMgr-Heartbeat-1:${ctx}) (logid:${logid}) Execute sync-queue item: SyncQueueItemVO {id:${(rnd() * 9999) | 0}, queueId: 5, contentType: AsyncJob, contentId: ${(rnd() * 9999) | 0}, lastProcessMsid: 6738937972795, lastprocessNumber: 1, lastProcessTime: null, created: null}\n`;
  if (r < 0.68) return `${ts(t)} DEBUG [o.a.c.f.j.i.AsyncJobManagerImpl] (Work-Job-Executor-${(rnd() * 20) | 0}:${ctx} job-${(rnd() * 9000) | 0}/job-${(rnd() * 9000) | 0}) (logid:${logid}) Publish async job-${(rnd() * 9000) | 0} complete on message bus\n`;
  if (r < 0.78) return `${ts(t)} DEBUG [c.c.a.ApiServlet] (qtp788117692-${(rnd() * 200) | 0}:${ctx}) (logid:${logid}) ===END=== 192.168.1.${(rnd() * 250) | 0} -- GET  command=listVirtualMachines&response=json&listall=true&page=1&pagesize=500\n`;
  if (r < 0.86) return `${ts(t)} INFO  [c.c.h.HighAvailabilityManagerImpl] (HA-Worker-${(rnd() * 5) | 0}:${ctx}) (logid:${logid}) Processing work HAWork[${(rnd() * 9999) | 0}-Migration-${(rnd() * 999) | 0}-Running-Scheduled]\n`;
  if (r < 0.93) return `${ts(t)} DEBUG [c.c.s.StatsCollector] (StatsCollector-${(rnd() * 4) | 0}:${ctx}) (logid:${logid}) HostStatsCollector is running...\n`;
  if (r < 0.985) return `${ts(t)} DEBUG [c.c.c.CapacityManagerImpl] (CapacityChecker:${ctx}) (logid:${logid}) Found ${(rnd() * 40) | 0} VMs on host ${(rnd() * 40) | 0}\n`;
  // ~1.5%: NVP plugin chatter (pings, REST trace): lines that hold "Nicira" but are no failure.
  if (r < 0.99) return `${ts(t)} INFO  [c.c.u.n.n.p.NiciraNvpApiVersion] (DirectAgent-${(rnd() * 30) | 0}:${ctx}) (logid:) NSX API VERSION: 4.2\n`;
  if (r < 0.995) return `${ts(t)} DEBUG [c.c.n.n.NiciraRestClient] (DirectAgent-${(rnd() * 30) | 0}:${ctx}) (logid:) Status of last request: HTTP/1.1 200 OK\n`;
  return `${ts(t)} WARN  [c.c.v.VirtualMachineManagerImpl] (Work-Job-Executor-${(rnd() * 20) | 0}:${ctx} job-${(rnd() * 9000) | 0}) (logid:${logid}) Unable to start VM\ncom.cloud.exception.InsufficientServerCapacityException: Unable to create a deployment for VM[User|i-2-${(rnd() * 99) | 0}-VM]Scope=interface com.cloud.dc.DataCenter; id=1\n\tat com.cloud.vm.VirtualMachineManagerImpl.orchestrateStart(VirtualMachineManagerImpl.java:1234)\n\tat com.cloud.vm.VirtualMachineManagerImpl.orchestrateStart(VirtualMachineManagerImpl.java:5500)\n`;
}

function failure(t, job, status) {
  const ctx = `ctx-${hex(8)}`;
  const logid = hex(8);
  const inner = status === 409 ? 'Conflict: Conflict' : `Unexpected status code: ${status}`;
  const ndc = `${ctx} job-${job}/job-${job + 1} ctx-${hex(8)}`;
  return (
    `${ts(t)} WARN  [c.c.n.u.CommandRetryUtility] (DirectAgent-${job % 30}:${ctx}) (logid:${logid}) Retrying CreateLogicalSwitchCommand. Number of retries remaining: 1\n` +
    `${ts(t + 5)} DEBUG [c.c.a.m.AgentManagerImpl] (Work-Job-Executor-${job % 20}:${ndc}) (logid:${logid}) Details from executing class com.cloud.agent.api.CreateLogicalSwitchCommand: Message: com.cloud.utils.rest.CloudstackRESTException: ${inner}\n` +
    `Stack: com.cloud.network.nicira.NiciraNvpApiException: com.cloud.utils.rest.CloudstackRESTException: ${inner}\n` +
    `\tat com.cloud.network.nicira.NiciraNvpApi.create(NiciraNvpApi.java:197)\n\tat com.cloud.network.nicira.NiciraNvpApi.createLogicalSwitch(NiciraNvpApi.java:276)\n` +
    `\tat com.cloud.network.resource.NiciraNvpResource.executeRequest(NiciraNvpResource.java:196)\n` +
    `${ts(t + 10)} ERROR [c.c.n.g.NiciraNvpGuestNetworkGuru] (Work-Job-Executor-${job % 20}:${ndc}) (logid:${logid}) CreateLogicalSwitchCommand failed\n`
  );
}

function generate() {
  mkdirSync(dataDir, { recursive: true });
  const fd = openSync(`${file}.tmp`, 'w');
  let written = 0;
  let t = Date.parse('2026-11-20T00:00:00Z');
  let job = 1000;
  let failures = 0;
  let nextStorm = 40_000; // lines until the next exception storm
  let line = 0;
  let block = '';
  while (written < SIZE) {
    t += 15;
    line++;
    let s;
    if (line === nextStorm) {
      // A storm: 8 failing creates about 20 s apart (a burst); now and then a lone failure.
      s = '';
      const status = [409, 404, 503][(rnd() * 3) | 0];
      const n = rnd() < 0.7 ? 8 : 1;
      for (let k = 0; k < n; k++) {
        s += failure(t, job, status);
        job += 2;
        failures++;
        for (let j = 0; j < 40; j++) s += ordinary((t += 500));
      }
      nextStorm = line + 30_000 + ((rnd() * 20_000) | 0);
    } else s = ordinary(t);
    block += s;
    if (block.length > 8 << 20) {
      written += writeSync(fd, block);
      block = '';
    }
  }
  if (block) written += writeSync(fd, block);
  closeSync(fd);
  spawnSync('mv', [`${file}.tmp`, file]);
  writeFileSync(`${file}.meta.json`, JSON.stringify({ bytes: written, failures }));
}

if (!existsSync(file) || !existsSync(`${file}.meta.json`)) {
  const t0 = Date.now();
  process.stdout.write(`generating ${file} (${SIZE >> 20} MiB)... `);
  generate();
  console.log(`${((Date.now() - t0) / 1000).toFixed(1)} s`);
}
const meta = JSON.parse(readFileSync(`${file}.meta.json`, 'utf8'));

function timed(cmd, argv, env = {}) {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', cmd, ...argv], { encoding: 'utf8', maxBuffer: 256 << 20, env: { ...process.env, ...env } });
  const m = /(\d+\.\d+) (\d+)\s*$/.exec(r.stderr);
  if (!m) throw new Error(`could not time ${cmd}: ${r.stderr}`);
  return { seconds: Number(m[1]), rssKiB: Number(m[2]), stdout: r.stdout, status: r.status };
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// Warm the cache for both tools.
spawnSync('sh', ['-c', `cat '${file}' > /dev/null`]);
const netdiagArgs = [join(root, 'bin', 'netdiag.js'), 'diagnose', file, '--format', 'json'];
const grepRuns = [];
const ndRuns = [];
let grepCount = '';
let report;
for (let i = 0; i < RUNS; i++) {
  const g = timed('grep', ['-c', 'NiciraNvpApiException', file]);
  grepRuns.push(g);
  grepCount = g.stdout.trim();
  const n = timed('node', netdiagArgs);
  ndRuns.push(n);
  report = JSON.parse(n.stdout);
}
// netdiag's fixed cost: CLI start-up (all plugins loaded) on a one-line log.
const tiny = join(dataDir, 'one-line.log');
writeFileSync(tiny, `${ts(Date.now())} INFO  [c.c.a.ApiServlet] (qtp1-1:ctx-1) (logid:1) ===START===\n`);
const startup = median(Array.from({ length: RUNS }, () => timed('node', [join(root, 'bin', 'netdiag.js'), 'diagnose', tiny, '--format', 'json']).seconds));
const gT = median(grepRuns.map((r) => r.seconds));
const nT = median(ndRuns.map((r) => r.seconds));
const rss = Math.max(...ndRuns.map((r) => r.rssKiB));
const bursts = report.findings.filter((f) => f.kind === 'nvp_api_exception_burst');
const counted = bursts.reduce((a, f) => a + f.metrics.count, 0);
const ratio = nT / gT;
const size = statSync(file).size;
const lines = [
  `file: ${file} (${(size / 2 ** 30).toFixed(2)} GiB, ${meta.failures} failing NVP calls inserted)`,
  `grep -c NiciraNvpApiException: median ${gT.toFixed(2)} s over ${RUNS} runs (count ${grepCount})`,
  `netdiag diagnose --format json: median ${nT.toFixed(2)} s over ${RUNS} runs, peak RSS ${(rss / 1024).toFixed(0)} MiB, exit ${ndRuns[0].status}`,
  `netdiag found ${bursts.length} burst episode(s) holding ${counted} exceptions (lone failures are not bursts)`,
  `netdiag start-up alone (one-line log): median ${startup.toFixed(2)} s, included above`,
  `ratio netdiag/grep: ${ratio.toFixed(2)}x (target ≤ 2x), peak RSS target < 200 MB: ${rss * 1024 < 200e6 ? 'met' : 'NOT met'}`,
  `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} (shared with other engineers' work)`,
];
console.log(lines.join('\n'));
const md = `# Log benchmark: netdiag diagnose vs grep on a 1 GiB management-server.log

Command: \`npx tsc -p tsconfig.json && node bench/logs.mjs\` (generates \`bench/data/management-server-${SIZE >> 20}m.log\`
once; the page cache is warmed with \`cat\` before the runs; both tools timed with \`/usr/bin/time -f '%e %M'\`).

The input: ordinary DEBUG/INFO lines of the real 4.11–4.19 shapes (API servlet, agent Request, async jobs,
HA, stats, capacity; 1.5% NVP plugin chatter that contains "Nicira"; some multi-line stack traces),
with storms of failing CreateLogicalSwitchCommand calls (retry WARN, multi-line Answer details
with NiciraNvpApiException, guru ERROR) every 30–50 k lines.

\`\`\`
${lines.join('\n')}
\`\`\`

netdiag reads files ≥ 64 MiB with the fast scan (\`collectors/cloudstack-log/scan.ts\` \`FastScanner\`):
4 MiB \`fs.read\` calls straight into two reused buffers (the next read overlaps the search of the current chunk), \`Buffer.indexOf\` for the needles \`Nicira\` and
\`Retryi\` (short needles with an uncommon first letter run at memchr speed: measured 0.1 s/GiB each,
against 0.6 s/GiB for \`Retrying \`), and only the record around each hit is decoded and parsed (the same parser as the full
scan and the live follower; tests prove both give identical observations). Its \`records\` count is
the number of decoded candidate records and evidence positions are byte offsets (\`file@offset\`).
Splitting the file in two halves scanned in parallel (main thread + a worker thread) was tried and
measured no gain on this 2-vCPU machine (collector alone: 0.49–0.53 s for the split against 0.49–0.56 s
single-threaded; more CPU and +20 MB RSS), so it was not kept. Of netdiag's time, about a quarter to a
third is the CLI start-up (loading every plugin), shown on its own above.
Figures taken ${new Date().toISOString()} on a machine shared with other engineers' builds and tests,
so they vary from run to run.
`;
writeFileSync(join(root, 'bench', 'RESULTS-logs.md'), md);
