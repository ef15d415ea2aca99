/**
 * Reads `<root>/class/net/*` (root = ctx.roots.sys, `/sys` in production, a fixture tree in tests)
 * into the same shape the sysfs dump parser gives, and writes that dump (`netdiag collect`).
 */
import { readdir, readFile, readlink, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { SYSFS_DUMP_COMMAND, SYSFS_STATISTICS, type SysfsInterface } from './parse.js';

const PLAIN_ATTRS = ['mtu', 'operstate', 'carrier_changes', 'type', 'ifindex', 'iflink'];

async function readText(p: string): Promise<string | undefined> {
  try {
    return (await readFile(p, 'utf8')).trim();
  } catch {
    return undefined; // absent, or unreadable while the interface is down (EINVAL): not an error
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

async function linkBase(p: string): Promise<string | undefined> {
  try {
    return basename(await readlink(p));
  } catch {
    return undefined;
  }
}

export interface SysfsReadResult {
  interfaces: Map<string, SysfsInterface>;
  warnings: string[];
}

/** Read the interfaces under `<sysRoot>/class/net`, optionally only those `include` accepts. */
export async function readSysfsTree(sysRoot: string, include: (name: string) => boolean = () => true): Promise<SysfsReadResult> {
  const base = join(sysRoot, 'class', 'net');
  const interfaces = new Map<string, SysfsInterface>();
  const warnings: string[] = [];
  let names: string[];
  try {
    names = (await readdir(base)).sort();
  } catch (e) {
    throw new Error(`cannot list ${base}: ${(e as Error).message}`);
  }
  for (const name of names) {
    if (!include(name)) continue;
    interfaces.set(name, await readSysfsInterface(join(base, name), name, warnings));
  }
  return { interfaces, warnings };
}

/** Read one interface directory (`/sys/class/net/<name>`, or a copy of it). Problems go to `warnings`. */
export async function readSysfsInterface(dir: string, name: string, warnings: string[] = []): Promise<SysfsInterface> {
  const iface: SysfsInterface = { name, attrs: new Map(), statistics: new Map() };
  let statNames: string[] = [];
  try {
    statNames = await readdir(join(dir, 'statistics'));
  } catch (e) {
    warnings.push(`${dir}/statistics: ${(e as Error).message}`);
  }
  for (const s of statNames.sort()) {
    const v = await readText(join(dir, 'statistics', s));
    if (v !== undefined && /^\d+$/.test(v)) iface.statistics.set(s, Number(v));
  }
  for (const a of PLAIN_ATTRS) {
    const v = await readText(join(dir, a));
    if (v !== undefined) iface.attrs.set(a, v);
  }
  const uevent = await readText(join(dir, 'uevent'));
  const devtype = uevent ? /^DEVTYPE=(.+)$/m.exec(uevent)?.[1] : undefined;
  if (devtype) iface.attrs.set('devtype', devtype.trim());
  const driver = await linkBase(join(dir, 'device', 'driver'));
  if (driver) iface.attrs.set('driver', driver);
  if (await exists(join(dir, 'device'))) iface.attrs.set('device', '1');
  const master = await linkBase(join(dir, 'master'));
  if (master) iface.attrs.set('master', master);
  const slaves = await readText(join(dir, 'bonding', 'slaves'));
  if (slaves !== undefined) iface.attrs.set('bonding/slaves', slaves);
  if (await exists(join(dir, 'bonding_slave'))) iface.attrs.set('bonding_slave', '1');
  if (await exists(join(dir, 'bridge'))) iface.attrs.set('bridge', '1');
  if (await exists(join(dir, 'tun_flags'))) iface.attrs.set('tun_flags', (await readText(join(dir, 'tun_flags'))) ?? '1');
  try {
    const entries = await readdir(dir);
    const brif = entries.includes('brif') ? await readdir(join(dir, 'brif')) : [];
    if (brif.length) iface.attrs.set('brif', brif.sort().join(' '));
    const lower = entries.filter((e) => e.startsWith('lower_')).map((e) => e.slice('lower_'.length));
    if (lower.length) iface.attrs.set('lower', lower.sort().join(' '));
  } catch {
    // listing failed: the attributes read above still stand
  }
  return iface;
}

/**
 * True when `dir` is a copy of an interface's sysfs directory: it has a `statistics/` directory
 * holding the kernel's counters (a bundle may carry `hv-01/sys/class/net/eth0/…` as copied).
 */
export async function isSysfsInterfaceDir(dir: string): Promise<boolean> {
  try {
    const names = await readdir(join(dir, 'statistics'));
    return names.filter((n) => SYSFS_STATISTICS.has(n)).length >= 3;
  } catch {
    return false;
  }
}

/** A copied interface directory as one input: netdiag's dump of it, dated by its newest counter file. */
export async function sysfsInterfaceDump(dir: string, host?: string): Promise<{ text: string; mtime: Date }> {
  const warnings: string[] = [];
  const iface = await readSysfsInterface(dir, basename(dir), warnings);
  let newest = 0;
  for (const s of iface.statistics.keys()) {
    try {
      newest = Math.max(newest, (await stat(join(dir, 'statistics', s))).mtimeMs);
    } catch {
      // read a moment ago; a vanished file only loses its date
    }
  }
  const mtime = new Date(newest || Date.now());
  return { text: formatSysfsDump(new Map([[iface.name, iface]]), mtime, host), mtime };
}

/** Write the documented dump format (README.md "Sysfs dump format"). */
export function formatSysfsDump(interfaces: ReadonlyMap<string, SysfsInterface>, collectedAt: Date, host?: string): string {
  const lines = [`# command: ${SYSFS_DUMP_COMMAND}`, `# collected-at: ${collectedAt.toISOString()}`];
  if (host) lines.push(`# host: ${host}`);
  for (const iface of interfaces.values()) {
    for (const [k, v] of iface.attrs) lines.push(`${iface.name}/${k} ${v}`);
    for (const [k, v] of iface.statistics) lines.push(`${iface.name}/statistics/${k} ${v}`);
  }
  return `${lines.join('\n')}\n`;
}
