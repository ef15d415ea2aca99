/**
 * `netdiag collect`: a support bundle of this host in the layout `diagnose` reads (DESIGN.md
 * "Inputs and the bundle"): OUT/<host>/ with OVS state, two flow dumps and two NIC counter
 * snapshots `intervalSeconds` apart (so rates come out), an optional short packet capture taken in
 * between, and the CloudStack logs. Every problem is noted in OUT/<host>/MANIFEST.json and the
 * rest is still collected; nothing here changes the host.
 */
import { spawn } from 'node:child_process';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, relative } from 'node:path';
import { DEFAULT_LOG_PATHS, copyLogs, selectLogFiles } from '../collectors/cloudstack-log/capture.js';
import { captureNicSnapshot } from '../collectors/nic/capture.js';
import { captureOvsFlows, captureOvsInterfaces, captureOvsInventory, safeName } from '../collectors/ovs/capture.js';
import { ovsConfigSchema, type OvsConfig } from '../collectors/ovs/index.js';
import { DEFAULT_FILTER } from '../collectors/pcap/live.js';
import { describeError, NetdiagError } from '../core/errors.js';
import { type Exec, runCommand } from '../core/exec.js';
import { sleep } from '../core/sleep.js';

export interface CollectOptions {
  out: string;
  host?: string;
  /** Seconds between the two snapshots of flows and counters. */
  intervalSeconds: number;
  /** Log files to copy (default: CloudStack's usual paths); [] copies none. */
  logs?: string[];
  /** Rotated logs older than this many days are left out. */
  logDays: number;
  ovs: boolean;
  ovsConfig?: Partial<OvsConfig>;
  nic: boolean;
  sysRoot: string;
  capture?: { interface: string; seconds: number; packets: number; filter: string; snaplen: number; tcpdump: string };
  exec?: Exec;
  now?: () => number;
  /** Progress lines for the operator (stderr in the CLI). */
  progress?: (line: string) => void;
}

export interface CollectResult {
  dir: string;
  files: string[];
  problems: string[];
}

async function isNonEmptyDir(p: string): Promise<boolean> {
  try {
    return (await readdir(p)).length > 0;
  } catch {
    return false;
  }
}

/** A bounded tcpdump: stops after `packets` packets or `seconds`, ended with SIGINT so the file is whole. */
async function capturePackets(file: string, c: NonNullable<CollectOptions['capture']>): Promise<string | undefined> {
  const args = ['-i', c.interface, '-w', file, '-U', '-n', '-s', String(c.snaplen), '-c', String(c.packets), c.filter];
  return new Promise((resolve) => {
    const child = spawn(c.tcpdump, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 4096) stderr += d.toString('utf8');
    });
    const timer = setTimeout(() => child.kill('SIGINT'), c.seconds * 1000);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve(`could not run ${c.tcpdump}: ${e.message}`);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0 || signal === 'SIGINT') resolve(undefined);
      else resolve(`${c.tcpdump} ${args.join(' ')} failed: ${stderr.trim().split('\n').slice(-2).join(' | ') || `exit status ${code ?? signal}`}`);
    });
  });
}

export async function collectBundle(o: CollectOptions): Promise<CollectResult> {
  const exec = o.exec ?? runCommand;
  const now = o.now ?? Date.now;
  const say = o.progress ?? (() => {});
  const host = o.host ?? hostname();
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/.test(host)) throw new NetdiagError('E_ARGS', `host name ${JSON.stringify(host)} cannot name a bundle directory`, { remedy: 'pass --host with letters, digits, dot, dash or underscore' });
  const dir = join(o.out, host);
  if (await isNonEmptyDir(dir)) throw new NetdiagError('E_ARGS', `${dir} already holds files`, { remedy: 'choose another --out, or remove the old bundle: collect never mixes two runs' });
  await mkdir(dir, { recursive: true });
  const started = now();
  const files: string[] = [];
  const problems: string[] = [];
  const note = (r: { files: string[]; warnings: string[] }) => {
    files.push(...r.files);
    problems.push(...r.warnings);
  };
  const step = async (what: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (e) {
      problems.push(`${what}: ${describeError(e)}`);
    }
  };

  const ovsCfg = ovsConfigSchema.parse(o.ovsConfig ?? {});
  let bridges: Awaited<ReturnType<typeof captureOvsInventory>>['bridges'] = [];
  const ovsOpts = { exec, cfg: ovsCfg, now };
  const nicOpts = (index: number) => ({ exec, sysRoot: o.sysRoot, host, now, index });

  if (o.ovs) {
    say('OVS: tables, bridges, first flow dump');
    await step('OVS inventory', async () => {
      const inv = await captureOvsInventory(dir, ovsOpts);
      note(inv);
      bridges = inv.bridges;
    });
    await step('OVS flows', async () => note(await captureOvsFlows(dir, ovsOpts, bridges, 1)));
  }
  if (o.nic) {
    say('NIC: first counter snapshot');
    await step('NIC counters', async () => note(await captureNicSnapshot(dir, nicOpts(1))));
  }
  const firstDone = now();

  // The capture runs during the interval, so it costs no extra time.
  let capture: Promise<void> = Promise.resolve();
  if (o.capture) {
    const c = o.capture;
    const file = join(dir, `tcpdump-${safeName(c.interface)}.pcap`);
    say(`capture: up to ${c.packets} packets or ${c.seconds} s on ${c.interface}`);
    capture = capturePackets(file, c).then(async (err) => {
      if (err) problems.push(err);
      try {
        if ((await stat(file)).size > 0) files.push(file);
      } catch {
        // tcpdump never opened the file: the error above says why
      }
    });
  }
  const wait = o.intervalSeconds * 1000 - (now() - firstDone);
  if ((o.ovs || o.nic) && wait > 0) {
    say(`waiting ${Math.ceil(wait / 1000)} s for the second snapshot (rates need two)`);
    await sleep(wait);
  }
  if (o.ovs && bridges.length > 0) {
    say('OVS: second flow dump and interface statistics');
    await step('OVS flows', async () => note(await captureOvsFlows(dir, ovsOpts, bridges, 2)));
    await step('OVS interfaces', async () => note(await captureOvsInterfaces(dir, ovsOpts, 2)));
  }
  if (o.nic) {
    say('NIC: second counter snapshot');
    await step('NIC counters', async () => note(await captureNicSnapshot(dir, nicOpts(2))));
  }
  await capture;

  const logPaths = o.logs ?? DEFAULT_LOG_PATHS;
  if (logPaths.length > 0) {
    say('logs: copying');
    await step('logs', async () => {
      const sel = await selectLogFiles(logPaths, started - o.logDays * 86_400_000, o.logs !== undefined);
      problems.push(...sel.warnings);
      if (sel.files.length > 0) note(await copyLogs(join(dir, 'logs'), sel.files));
    });
  }

  const manifest = {
    schema: 'netdiag.bundle/v1',
    host,
    startedAt: new Date(started).toISOString(),
    finishedAt: new Date(now()).toISOString(),
    intervalSeconds: o.intervalSeconds,
    files: await Promise.all(
      files.map(async (f) => ({ path: relative(dir, f), bytes: await stat(f).then((s) => s.size, () => 0) })),
    ),
    problems,
  };
  await writeFile(join(dir, 'MANIFEST.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return { dir, files, problems };
}

export const DEFAULT_CAPTURE = { seconds: 10, packets: 5000, filter: DEFAULT_FILTER, snaplen: 256, tcpdump: 'tcpdump' };
