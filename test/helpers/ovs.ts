/**
 * A real Open vSwitch for tests: ovsdb-server + ovs-vswitchd from Debian's openvswitch-switch,
 * in a temp dir, with ovs-vswitchd inside a network namespace the harness creates (this kernel has
 * no openvswitch module: use `datapath_type=netdev` bridges; see reference/lab-notes.md).
 *
 *   const ovs = await startOvs('flows');      // tag: your area, kept short
 *   await ovs.vsctl('add-br', 'br0', '--', 'set', 'Bridge', 'br0', 'datapath_type=netdev');
 *   await ovs.ofctl('add-flow', 'br0', 'priority=0,actions=NORMAL');
 *   await ovs.inNs('ip', 'link', 'set', 'x', 'up');   // commands inside the switch's namespace
 *   await ovs.stop();                          // kills only the daemons it started, by pid
 *
 * Every command gets OVS_RUNDIR/OVS_DBDIR/... of the temp dir, so nothing touches a system OVS or
 * another test's OVS. Names (namespace, dir) carry the tag and the test process pid.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand, type ExecResult } from '../../core/exec.js';

export interface OvsLab {
  /** Temp dir holding conf.db, db.sock, pid files, logs and the bridges' .mgmt sockets. */
  dir: string;
  /** The namespace ovs-vswitchd runs in (its ports live there). */
  ns: string;
  /** Environment pointing OVS tools at this instance. */
  env: NodeJS.ProcessEnv;
  /** `ovs-vsctl ARGS` against this instance; returns stdout. */
  vsctl(...args: string[]): Promise<string>;
  /** `ovs-ofctl ARGS` against this instance's bridges; returns stdout. */
  ofctl(...args: string[]): Promise<string>;
  /** Run a command inside the switch's namespace. */
  inNs(file: string, ...args: string[]): Promise<ExecResult>;
  stop(): Promise<void>;
}

async function pidOf(file: string): Promise<number | undefined> {
  try {
    const n = Number((await readFile(file, 'utf8')).trim());
    return Number.isInteger(n) && n > 1 ? n : undefined;
  } catch {
    return undefined;
  }
}

async function killPid(pid: number | undefined): Promise<void> {
  if (!pid) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let i = 0; i < 50; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}

export async function startOvs(tag = 'ovs'): Promise<OvsLab> {
  const dir = await mkdtemp(join(tmpdir(), `nd-ovs-${tag}-${process.pid}-`));
  const ns = `nd-${tag}-${process.pid}`.slice(0, 30);
  const env: NodeJS.ProcessEnv = { ...process.env, OVS_RUNDIR: dir, OVS_DBDIR: dir, OVS_LOGDIR: dir, OVS_SYSCONFDIR: dir, OVS_PKGDATADIR: '/usr/share/openvswitch' };
  const opts = { env, timeoutMs: 30_000 };
  let nsMade = false;
  const lab: OvsLab = {
    dir,
    ns,
    env,
    async vsctl(...args) {
      return (await runCommand('ovs-vsctl', [`--db=unix:${dir}/db.sock`, '--timeout=20', ...args], opts)).stdout;
    },
    async ofctl(...args) {
      return (await runCommand('ovs-ofctl', args, { ...opts, maxBytes: 512 * 1024 * 1024, timeoutMs: 300_000 })).stdout;
    },
    inNs(file, ...args) {
      return runCommand('ip', ['netns', 'exec', ns, file, ...args], opts);
    },
    async stop() {
      await killPid(await pidOf(join(dir, 'ovs-vswitchd.pid')));
      await killPid(await pidOf(join(dir, 'ovsdb-server.pid')));
      if (nsMade) await runCommand('ip', ['netns', 'del', ns], { allowFailure: true });
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    await runCommand('ovsdb-tool', ['create', join(dir, 'conf.db'), '/usr/share/openvswitch/vswitch.ovsschema'], opts);
    await runCommand('ovsdb-server', [join(dir, 'conf.db'), `--remote=punix:${dir}/db.sock`, `--pidfile=${dir}/ovsdb-server.pid`, '--detach', '--no-chdir', `--log-file=${dir}/ovsdb-server.log`], opts);
    await lab.vsctl('--no-wait', 'init');
    await runCommand('ip', ['netns', 'add', ns]);
    nsMade = true;
    await lab.inNs('ip', 'link', 'set', 'lo', 'up');
    await runCommand('ip', ['netns', 'exec', ns, 'ovs-vswitchd', `unix:${dir}/db.sock`, `--pidfile=${dir}/ovs-vswitchd.pid`, '--detach', '--no-chdir', `--log-file=${dir}/ovs-vswitchd.log`], opts);
  } catch (e) {
    await lab.stop();
    throw e;
  }
  return lab;
}
