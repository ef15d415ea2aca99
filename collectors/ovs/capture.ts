/**
 * What `netdiag collect` calls to put Open vSwitch state into a support bundle: the OVSDB tables as
 * JSON, `ovs-vsctl show`, and per bridge `ovs-ofctl show` and `dump-flows` — each file with its
 * `# command:`/`# collected-at:` header, so `diagnose` reads it back by content and two flow dumps
 * some time apart give rates. One failing command is a warning; the rest is still captured.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError } from '../../core/errors.js';
import type { Exec, ExecOptions } from '../../core/exec.js';
import { dumpFlows, firstProtocol, type OvsConfig } from './index.js';
import { bridgeRow, parseOvsdbList } from './parse.js';

export interface OvsCaptureOptions {
  exec: Exec;
  cfg: OvsConfig;
  now(): number;
}

export interface OvsCaptured {
  files: string[];
  warnings: string[];
  /** The bridges found, with the OpenFlow version to ask them in. */
  bridges: { name: string; proto?: string }[];
}

/** A file name part that cannot leave the directory: bridge names are OVS's, but never trusted. */
export function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_') || '_';
}

function context(o: OvsCaptureOptions): { base: ExecOptions; vsctl: (args: string[]) => string[] } {
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (o.cfg.rundir) env.OVS_RUNDIR = o.cfg.rundir;
  const base: ExecOptions = { timeoutMs: o.cfg.timeoutSeconds * 1000, env };
  const vsctl = (args: string[]) => [...(o.cfg.db ? [`--db=${o.cfg.db}`] : []), `--timeout=${Math.ceil(o.cfg.timeoutSeconds)}`, ...args];
  return { base, vsctl };
}

async function save(outDir: string, name: string, command: string, at: number, body: string): Promise<string> {
  const f = join(outDir, name);
  await writeFile(f, `# command: ${command}\n# collected-at: ${new Date(at).toISOString()}\n${body}`);
  return f;
}

/** OVSDB tables, `ovs-vsctl show`, the bridge list and each bridge's `ovs-ofctl show`. */
export async function captureOvsInventory(outDir: string, o: OvsCaptureOptions): Promise<OvsCaptured> {
  const { base, vsctl } = context(o);
  const out: OvsCaptured = { files: [], warnings: [], bridges: [] };
  const run = async (file: string, args: string[], name: string): Promise<string | undefined> => {
    const at = o.now();
    try {
      const r = await o.exec(file, args, base);
      out.files.push(await save(outDir, name, `${file} ${args.join(' ')}`, at, r.stdout));
      return r.stdout;
    } catch (e) {
      const msg = describeError(e);
      if (/database connection failed|could not run/.test(msg)) unreachable = msg;
      out.warnings.push(msg);
      return undefined;
    }
  };
  let unreachable: string | undefined;
  let bridgeTable: string | undefined;
  for (const t of ['Bridge', 'Port', 'Interface']) {
    const text = await run(o.cfg.vsctlPath, vsctl(['--format=json', 'list', t]), `ovs-vsctl-list-${t.toLowerCase()}.json`);
    if (t === 'Bridge') bridgeTable = text;
    // No OVSDB (or no ovs-vsctl): one problem, not one per command.
    if (unreachable) return out;
  }
  await run(o.cfg.vsctlPath, vsctl(['show']), 'ovs-vsctl-show.txt');
  let rows: ReturnType<typeof bridgeRow>[] = [];
  try {
    rows = bridgeTable ? parseOvsdbList(bridgeTable).rows.map(bridgeRow) : [];
  } catch (e) {
    out.warnings.push(`ovs-vsctl --format=json list Bridge: ${describeError(e)}`);
  }
  let names: string[];
  try {
    names = (await o.exec(o.cfg.vsctlPath, vsctl(['list-br']), base)).stdout.split('\n').map((s) => s.trim()).filter(Boolean);
  } catch (e) {
    out.warnings.push(describeError(e));
    names = rows.map((r) => r.name);
  }
  if (o.cfg.bridges) names = names.filter((b) => o.cfg.bridges!.includes(b));
  for (const name of names) {
    const proto = firstProtocol(rows.find((r) => r.name === name));
    out.bridges.push({ name, ...(proto ? { proto } : {}) });
    await run(o.cfg.ofctlPath, [...(proto ? ['-O', proto] : []), 'show', name], `ovs-ofctl-show-${safeName(name)}.txt`);
  }
  return out;
}

/**
 * The Interface table again (`ovs-vsctl-list-interface.<index>.json`): its `statistics` are the only
 * counters of a DPDK port, and two listings an interval apart give their rates.
 */
export async function captureOvsInterfaces(outDir: string, o: OvsCaptureOptions, index: number): Promise<{ files: string[]; warnings: string[] }> {
  const { base, vsctl } = context(o);
  const args = vsctl(['--format=json', 'list', 'Interface']);
  const at = o.now();
  try {
    const r = await o.exec(o.cfg.vsctlPath, args, base);
    return { files: [await save(outDir, `ovs-vsctl-list-interface.${index}.json`, `${o.cfg.vsctlPath} ${args.join(' ')}`, at, r.stdout)], warnings: [] };
  } catch (e) {
    return { files: [], warnings: [describeError(e)] };
  }
}

/** One `dump-flows` of every bridge: `ovs-ofctl-dump-flows-<bridge>.<index>.txt`. */
export async function captureOvsFlows(outDir: string, o: OvsCaptureOptions, bridges: OvsCaptured['bridges'], index: number): Promise<{ files: string[]; warnings: string[] }> {
  const { base } = context(o);
  const files: string[] = [];
  const warnings: string[] = [];
  for (const b of bridges) {
    const at = o.now();
    try {
      const d = await dumpFlows(o.exec, o.cfg, base, b.name, b.proto);
      if (d.proto) b.proto = d.proto;
      warnings.push(...d.warnings);
      if (d.result.incomplete) warnings.push(`${b.name}: dump-flows incomplete: ${d.result.incomplete}`);
      const command = `${o.cfg.ofctlPath}${d.proto ? ` -O ${d.proto}` : ''} dump-flows ${b.name}`;
      files.push(await save(outDir, `ovs-ofctl-dump-flows-${safeName(b.name)}.${index}.txt`, command, at, d.stdout));
    } catch (e) {
      warnings.push(`${b.name}: ${describeError(e)}`);
    }
  }
  return { files, warnings };
}
