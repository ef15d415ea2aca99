/**
 * A small routed lab for capture tests, made of real kernel parts (see reference/lab-notes.md):
 *
 *   ns A (10.98.1.1, fd98:1::1) ──veth a0/r0── ns R (router) ──veth r1/b0── ns B (10.98.2.1, fd98:2::1)
 *
 * VXLAN devices in A and B (no `dev`, so MTU 1500): vx42 (VNI 42, port 4789, DF unset: the
 * kernel fragments the outer IPv4), vx43 (VNI 4343, Linux's port 8472, `df set`: a smaller hop
 * makes R send ICMP frag-needed), vx60 (VNI 60 over IPv6: R sends Packet Too Big). A userspace
 * gretap endpoint (TAP + raw IPPROTO_GRE socket, key 42, in python3) for GRE. Names carry the
 * test process pid; `stop()` removes only what this lab made.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '../../core/exec.js';

export interface PcapLab {
  dir: string;
  ns: { a: string; r: string; b: string };
  /** Run a command in a namespace. */
  run(ns: string, file: string, ...args: string[]): Promise<string>;
  /** Start a capture in a namespace; resolves once the capturer listens. */
  capture(ns: string, iface: string, file: string, tool?: 'tcpdump' | 'tcpdump-ns' | 'dumpcap'): Promise<() => Promise<void>>;
  /** Set the MTU of the R→B hop (both ends). */
  setHopMtu(mtu: number): Promise<void>;
  /** Set every veth's MTU. */
  setAllMtu(mtu: number): Promise<void>;
  /** Send `count` frames through the userspace gretap endpoint (ping over it). */
  greping(size: number, count: number): Promise<void>;
  stop(): Promise<void>;
}

const GRE_ENDPOINT = String.raw`
import fcntl, os, socket, struct, sys, select, time
TUNSETIFF = 0x400454ca
IFF_TAP, IFF_NO_PI = 0x0002, 0x1000
name, remote, key, maxframes = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
tap = os.open('/dev/net/tun', os.O_RDWR)
fcntl.ioctl(tap, TUNSETIFF, struct.pack('16sH', name.encode(), IFF_TAP | IFF_NO_PI))
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 47)
s.setsockopt(socket.IPPROTO_IP, 10, 0)  # IP_MTU_DISCOVER = IP_PMTUDISC_DONT: let the kernel fragment
hdr = struct.pack('!HHI', 0x2000, 0x6558, key)  # GRE: key present, TEB
print('ready', flush=True)
sent, deadline = 0, time.time() + 20
while sent < maxframes and time.time() < deadline:
    r, _, _ = select.select([tap], [], [], 0.5)
    if not r:
        continue
    frame = os.read(tap, 65535)
    if len(frame) >= 14 and frame[12:14] == b'\x08\x00':
        s.sendto(hdr + frame, (remote, 0))
        sent += 1
print('sent', sent, flush=True)
`;

function waitFor(child: ChildProcess, pattern: RegExp, stream: 'stdout' | 'stderr', timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let text = '';
    const t = setTimeout(() => reject(new Error(`timed out waiting for ${pattern} (got: ${text.slice(-300)})`)), timeoutMs);
    child[stream]!.on('data', (c: Buffer) => {
      text += c.toString();
      if (pattern.test(text)) {
        clearTimeout(t);
        resolve();
      }
    });
    child.on('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`exited (${code}) before ${pattern}: ${text.slice(-300)}`));
    });
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const t = setTimeout(() => child.pid && child.kill('SIGKILL'), 5000);
    child.on('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function startPcapLab(): Promise<PcapLab> {
  const id = String(process.pid);
  const ns = { a: `ndpcA${id}`, r: `ndpcR${id}`, b: `ndpcB${id}` };
  const dir = await mkdtemp(join(tmpdir(), `nd-pcap-${id}-`));
  const children: ChildProcess[] = [];
  const made: string[] = [];
  const ip = (...args: string[]) => runCommand('ip', args, { timeoutMs: 10_000 });
  const run = async (n: string, file: string, ...args: string[]) => (await runCommand('ip', ['netns', 'exec', n, file, ...args], { timeoutMs: 30_000 })).stdout;
  const lab: PcapLab = {
    dir,
    ns,
    run,
    async capture(n, iface, file, tool = 'tcpdump') {
      const args =
        tool === 'dumpcap'
          ? ['netns', 'exec', n, 'dumpcap', '-i', iface, '-w', file]
          : // --immediate-mode: without it packets wait in the kernel ring up to a second, and
            // those still there when tcpdump is stopped never reach the file.
            ['netns', 'exec', n, 'tcpdump', '-i', iface, '-s', '0', '-U', '-n', '--immediate-mode', ...(tool === 'tcpdump-ns' ? ['--time-stamp-precision', 'nano'] : []), '-w', file];
      const child = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      await waitFor(child, tool === 'dumpcap' ? /Capturing on/ : /listening on/, 'stderr');
      // Both print their banner a moment before the capture is really active: on A's underlay,
      // probe with pings to R until the file grows.
      await new Promise((r) => setTimeout(r, 300));
      if (n === ns.a && iface === 'a0') {
        const size0 = (await stat(file)).size;
        for (let i = 0; i < 30; i++) {
          await run(ns.a, 'ping', '-c', '1', '-W', '1', '10.98.1.254').catch(() => '');
          await new Promise((r) => setTimeout(r, 100));
          if ((await stat(file)).size > size0) break;
        }
      }
      return async () => {
        // dumpcap has no immediate mode: give its ring buffer time to be read before stopping it.
        await new Promise((r) => setTimeout(r, tool === 'dumpcap' ? 1500 : 300));
        await stopChild(child);
      };
    },
    async setHopMtu(mtu) {
      // Forget learned path MTUs so the next big packet meets the hop again.
      await run(ns.a, 'ip', 'route', 'flush', 'cache').catch(() => '');
      await run(ns.a, 'ip', '-6', 'route', 'flush', 'cache').catch(() => '');
      await run(ns.r, 'ip', 'link', 'set', 'r1', 'mtu', String(mtu));
      await run(ns.b, 'ip', 'link', 'set', 'b0', 'mtu', String(mtu));
    },
    async setAllMtu(mtu) {
      await run(ns.a, 'ip', 'link', 'set', 'a0', 'mtu', String(mtu));
      await run(ns.r, 'ip', 'link', 'set', 'r0', 'mtu', String(mtu));
      await lab.setHopMtu(mtu);
    },
    async greping(size, count) {
      const child = spawn('ip', ['netns', 'exec', ns.a, '/usr/bin/python3', join(dir, 'gre.py'), 'gt0', '10.98.2.1', '42', String(count)], { stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      await waitFor(child, /ready/, 'stdout');
      await run(ns.a, 'ping', '-c', String(count), '-i', '0.2', '-W', '1', '-s', String(size), '10.97.0.2').catch(() => '');
      await stopChild(child);
    },
    async stop() {
      for (const c of children) await stopChild(c);
      for (const n of made) await ip('netns', 'del', n).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    for (const n of [ns.a, ns.r, ns.b]) {
      await ip('netns', 'add', n);
      made.push(n);
      await run(n, 'ip', 'link', 'set', 'lo', 'up');
    }
    await ip('link', 'add', 'a0', 'netns', ns.a, 'type', 'veth', 'peer', 'name', 'r0', 'netns', ns.r);
    await ip('link', 'add', 'b0', 'netns', ns.b, 'type', 'veth', 'peer', 'name', 'r1', 'netns', ns.r);
    await run(ns.r, 'sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1');
    const addrs: [string, string, string, string][] = [
      [ns.a, 'a0', '10.98.1.1/24', 'fd98:1::1/64'],
      [ns.r, 'r0', '10.98.1.254/24', 'fd98:1::fe/64'],
      [ns.r, 'r1', '10.98.2.254/24', 'fd98:2::fe/64'],
      [ns.b, 'b0', '10.98.2.1/24', 'fd98:2::1/64'],
    ];
    for (const [n, dev, v4, v6] of addrs) {
      await run(n, 'ip', 'addr', 'add', v4, 'dev', dev);
      await run(n, 'ip', '-6', 'addr', 'add', v6, 'dev', dev, 'nodad');
      await run(n, 'ip', 'link', 'set', dev, 'up');
    }
    await run(ns.a, 'ip', 'route', 'add', 'default', 'via', '10.98.1.254');
    await run(ns.a, 'ip', '-6', 'route', 'add', 'default', 'via', 'fd98:1::fe');
    await run(ns.b, 'ip', 'route', 'add', 'default', 'via', '10.98.2.254');
    await run(ns.b, 'ip', '-6', 'route', 'add', 'default', 'via', 'fd98:2::fe');
    const vx: [string, string, string[]][] = [
      ['vx42', '42', ['dstport', '4789']],
      ['vx43', '4343', ['dstport', '8472', 'df', 'set']],
    ];
    for (const [side, self, peer, last] of [[ns.a, '10.98.1.1', '10.98.2.1', '1'], [ns.b, '10.98.2.1', '10.98.1.1', '2']] as const) {
      for (const [dev, vni, extra] of vx) {
        await run(side, 'ip', 'link', 'add', dev, 'type', 'vxlan', 'id', vni, 'remote', peer, 'local', self, ...extra);
        await run(side, 'ip', 'addr', 'add', `10.${vni === '42' ? 42 : 43}.0.${last}/24`, 'dev', dev);
        await run(side, 'ip', 'link', 'set', dev, 'up');
      }
      const [self6, peer6] = side === ns.a ? ['fd98:1::1', 'fd98:2::1'] : ['fd98:2::1', 'fd98:1::1'];
      await run(side, 'ip', 'link', 'add', 'vx60', 'type', 'vxlan', 'id', '60', 'remote', peer6, 'local', self6, 'dstport', '4789');
      await run(side, 'ip', 'addr', 'add', `10.60.0.${last}/24`, 'dev', 'vx60');
      await run(side, 'ip', 'link', 'set', 'vx60', 'up');
    }
    // The userspace gretap endpoint's TAP in A, with a static neighbour so pings need no ARP reply.
    await writeFile(join(dir, 'gre.py'), GRE_ENDPOINT);
    await run(ns.a, 'ip', 'tuntap', 'add', 'dev', 'gt0', 'mode', 'tap');
    await run(ns.a, 'ip', 'addr', 'add', '10.97.0.1/24', 'dev', 'gt0');
    await run(ns.a, 'ip', 'link', 'set', 'gt0', 'up');
    await run(ns.a, 'ip', 'neigh', 'add', '10.97.0.2', 'lladdr', '02:00:00:97:00:02', 'dev', 'gt0');
    // Warm up: the underlay and every VXLAN answer before captures start.
    await run(ns.a, 'ping', '-c', '1', '-W', '2', '10.98.2.1');
    await run(ns.a, 'ping', '-6', '-c', '1', '-W', '2', 'fd98:2::1');
    for (const t of ['10.42.0.2', '10.43.0.2', '10.60.0.2']) await run(ns.a, 'ping', '-c', '1', '-W', '2', t);
  } catch (e) {
    await lab.stop();
    throw e;
  }
  return lab;
}
