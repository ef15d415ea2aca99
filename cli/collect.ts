import { type Command, InvalidArgumentError } from 'commander';
import { DEFAULT_CAPTURE, collectBundle } from '../engine/collect.js';
import { collect } from './options.js';

function positive(name: string, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0 || n > max) throw new InvalidArgumentError(`${name} must be a number above 0 and at most ${max}`);
    return n;
  };
}

export function registerCollect(program: Command): void {
  program
    .command('collect')
    .description('capture a support bundle of this host (OVS tables and flows, NIC counters twice, logs, an optional short capture) that diagnose reads')
    .requiredOption('--out <dir>', 'bundle directory; files go to <dir>/<host>/')
    .option('--host <name>', 'host name for the bundle directory (default: this machine\'s)')
    .option('--interval <seconds>', 'seconds between the two snapshots of flows and counters', positive('--interval', 3600), 10)
    .option('--log <file>', 'a log file to copy with its rotated siblings (repeatable; default: CloudStack\'s usual paths)', collect, undefined)
    .option('--no-logs', 'copy no logs')
    .option('--log-days <days>', 'leave out rotated logs older than this', positive('--log-days', 365), 2)
    .option('--no-ovs', 'skip Open vSwitch')
    .option('--ovs-rundir <dir>', 'OVS_RUNDIR of the switch to ask (default: the system\'s)')
    .option('--ovs-db <remote>', 'OVSDB remote for ovs-vsctl, e.g. unix:/var/run/openvswitch/db.sock')
    .option('--no-nic', 'skip NIC counters')
    .option('--sys-root <dir>', 'sysfs root to read NIC counters from', '/sys')
    .option('--capture <interface>', 'also capture tunnel, fragment and ICMP frag-needed packets on this interface during the interval (needs root)')
    .option('--capture-seconds <n>', 'longest capture', positive('--capture-seconds', 3600), DEFAULT_CAPTURE.seconds)
    .option('--capture-packets <n>', 'most packets captured', positive('--capture-packets', 1_000_000), DEFAULT_CAPTURE.packets)
    .option('--capture-filter <bpf>', 'BPF filter (default: tunnels, fragments, frag-needed/PTB)')
    .action(async (opts: Record<string, unknown>) => {
      const logs = opts.logs === false ? [] : (opts.log as string[] | undefined);
      const res = await collectBundle({
        out: opts.out as string,
        host: opts.host as string | undefined,
        intervalSeconds: opts.interval as number,
        logs,
        logDays: opts.logDays as number,
        ovs: opts.ovs !== false,
        ovsConfig: { ...(opts.ovsRundir ? { rundir: opts.ovsRundir as string } : {}), ...(opts.ovsDb ? { db: opts.ovsDb as string } : {}) },
        nic: opts.nic !== false,
        sysRoot: opts.sysRoot as string,
        ...(opts.capture
          ? { capture: { ...DEFAULT_CAPTURE, interface: opts.capture as string, seconds: opts.captureSeconds as number, packets: Math.floor(opts.capturePackets as number), filter: (opts.captureFilter as string | undefined) ?? DEFAULT_CAPTURE.filter } }
          : {}),
        progress: (line) => process.stderr.write(`netdiag collect: ${line}\n`),
      });
      process.stdout.write(`${res.dir}: ${res.files.length} file(s) collected${res.problems.length ? `, ${res.problems.length} problem(s):` : ''}\n`);
      for (const p of res.problems) process.stdout.write(`  - ${p}\n`);
      process.stdout.write(`read it with: netdiag diagnose --bundle ${res.dir.replace(/\/[^/]+$/, '')}\n`);
      // Nothing collected at all is "could not run"; a partial bundle is still a bundle.
      process.exitCode = res.files.length === 0 ? 3 : 0;
    });
}
