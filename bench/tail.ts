/**
 * Follower benchmark (issue 2, live follow): how fast `FileFollower` catches up on a backlog,
 * and the whole live CloudStack log collector (follower + RecordAssembler + observations), against
 * GNU `tail -n +1` reading the same file to /dev/null. One run each under `/usr/bin/time -f '%e %M'`.
 * Run: `npx tsc -p tsconfig.json && node dist/bench/tail.js [LINES]` (default 1,000,000).
 * Input is generated into bench/data/tail/ (gitignored).
 */
import { execFile } from 'node:child_process';
import { createWriteStream, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const DATA = join(ROOT, 'bench', 'data', 'tail');

async function generate(file: string, lines: number): Promise<void> {
  const out = createWriteStream(file);
  const trace = [
    'com.cloud.network.nicira.NiciraNvpApiException: Unexpected status code: 409',
    '\tat com.cloud.network.nicira.NiciraNvpApi.executeCreateObject(NiciraNvpApi.java:120)',
    '\tat com.cloud.network.resource.NiciraNvpResource.executeRequest(NiciraNvpResource.java:88)',
  ];
  let n = 0;
  let buf = '';
  while (n < lines) {
    const s = n % 60;
    const ts = `2026-11-21 10:${String(Math.floor(n / 60000) % 60).padStart(2, '0')}:${String(s).padStart(2, '0')},${String(n % 1000).padStart(3, '0')}`;
    if (n % 500 === 0 && n + 4 <= lines) {
      buf += `${ts} ERROR [c.c.n.r.NiciraNvpResource] (DirectAgent-28:ctx-a9daa0d9) (logid:42202b12) CreateLogicalSwitchCommand failed\n${trace.join('\n')}\n`;
      n += 4;
    } else {
      buf += `${ts} DEBUG [c.c.a.t.Request] (AgentManager-Handler-${n % 16}:null) (logid:) Seq 1-${8751619975887716301n + BigInt(n)}: Processing:  { Ans: , MgmtId: 6738937972795, via: 1, Ver: v1, Flags: 10, [{"com.cloud.agent.api.Answer":{"result":true,"wait":0}}] }\n`;
      n++;
    }
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await new Promise<void>((r) => out.once('drain', () => r()));
      buf = '';
    }
  }
  out.write(buf);
  await new Promise<void>((r) => out.end(() => r()));
}

async function timed(cmd: string, args: string[]): Promise<{ secs: number; rssMiB: number; stdout: string }> {
  const { stdout, stderr } = await run('/usr/bin/time', ['-f', 'TIME %e %M', cmd, ...args], { maxBuffer: 1 << 26 });
  const m = /TIME ([\d.]+) (\d+)/.exec(stderr);
  if (!m) throw new Error(`no /usr/bin/time figures for ${cmd}: ${stderr.slice(-500)}`);
  return { secs: Number(m[1]), rssMiB: Number(m[2]) / 1024, stdout };
}

async function main(): Promise<void> {
  const mode = process.argv[2];
  if (mode === '--follow' || mode === '--live') return child(mode, process.argv[3]!, Number(process.argv[4]));
  const lines = Number(process.argv[2] ?? 1_000_000);
  mkdirSync(DATA, { recursive: true });
  const file = join(DATA, 'management-server.log');
  await generate(file, lines);
  const size = statSync(file).size;
  const self = join(ROOT, 'dist', 'bench', 'tail.js');
  const gnuQuiet = await timed('sh', ['-c', `tail -n +1 '${file}' > /dev/null`]);
  // What an admin would run to watch for NVP errors: GNU tail piped into a line-oriented grep.
  const gnuGrep = await timed('sh', ['-c', `tail -n +1 '${file}' | grep -c NiciraNvpApiException`]);
  const follow = await timed(process.execPath, [self, '--follow', file, String(lines)]);
  const live = await timed(process.execPath, [self, '--live', file, String(lines)]);
  const mb = size / 1e6;
  console.log(`input: ${lines} lines, ${mb.toFixed(1)} MB (${file})`);
  console.log(`GNU tail -n +1 > /dev/null        : ${gnuQuiet.secs.toFixed(2)} s, peak RSS ${gnuQuiet.rssMiB.toFixed(1)} MiB`);
  console.log(`GNU tail -n +1 | grep -c Nicira… : ${gnuGrep.secs.toFixed(2)} s, peak RSS ${gnuGrep.rssMiB.toFixed(1)} MiB  (${gnuGrep.stdout.trim()} matches)`);
  console.log(`FileFollower (batches, lines only): ${follow.secs.toFixed(2)} s, peak RSS ${follow.rssMiB.toFixed(1)} MiB, ${(mb / follow.secs).toFixed(0)} MB/s  ${follow.stdout.trim()}`);
  console.log(`cloudstack-log live (follow+parse): ${live.secs.toFixed(2)} s, peak RSS ${live.rssMiB.toFixed(1)} MiB, ${(lines / live.secs / 1000).toFixed(0)}k lines/s  ${live.stdout.trim()}`);
  console.log(`ratio follower / (tail | grep): ${(follow.secs / Math.max(gnuGrep.secs, 0.01)).toFixed(1)}x; live collector / (tail | grep): ${(live.secs / Math.max(gnuGrep.secs, 0.01)).toFixed(1)}x`);
}

async function child(mode: string, file: string, lines: number): Promise<void> {
  const { FileFollower } = await import('../collectors/tail/follower.js');
  const ac = new AbortController();
  if (mode === '--follow') {
    const f = new FileFollower({ path: file, pollMs: 50 });
    let n = 0;
    // batches(): what the live collector reads (lines() hands them out one at a time, slower)
    for await (const b of f.batches(ac.signal)) if ((n += b.length) >= lines) break;
    console.log(`(${n} lines)`);
    return;
  }
  const { cloudstackLogLive } = await import('../collectors/cloudstack-log/live.js');
  const state = join(DATA, 'state');
  rmSync(state, { recursive: true, force: true });
  let read = 0;
  let obs = 0;
  const cfg = cloudstackLogLive.schema.parse({ paths: [file], pollMs: 50, flushIdleMs: 100, startAt: 'start' });
  const done = cloudstackLogLive.run!(
    {
      emit: () => void obs++,
      metrics: {
        inc(name, _l, v = 1) {
          if (name === 'netdiag_log_lines_read_total') {
            read += v;
            if (read >= lines) ac.abort();
          }
        },
        set() {},
        reset() {},
      },
      log: { debug() {}, info() {}, warn() {}, error() {} },
      exec: async () => {
        throw new Error('unused');
      },
      host: 'bench',
      roots: { sys: '/sys', proc: '/proc' },
      stateDir: state,
      now: () => Date.now(),
    },
    cfg,
    ac.signal,
  );
  await done;
  console.log(`(${read} lines, ${obs} observations)`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
