import { readdir, realpath, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { isSysfsInterfaceDir } from '../collectors/nic/sysfs.js';
import { describeError } from '../core/errors.js';

export interface InputRef {
  path: string;
  /** Host from the bundle layout (top directory under the bundle root). */
  host?: string;
  /** Set when the path could not even be listed or stat'ed. */
  error?: string;
  /** A directory read as one input: a copy of an interface's sysfs directory (`…/net/eth0/`). */
  directory?: 'sysfs-interface';
}

const SKIP_NAMES = new Set(['.DS_Store', 'MANIFEST.json', 'manifest.json', 'README.md', 'README.txt']);

/**
 * Walk bundles and loose files into a list of inputs. A bundle's host is the name of the input's
 * top directory under the bundle root; files directly in the root have no host from the layout.
 */
export async function expandInputs(bundles: readonly string[], files: readonly string[]): Promise<InputRef[]> {
  const out: InputRef[] = [];
  for (const root of bundles) {
    let st;
    try {
      st = await stat(root);
    } catch (e) {
      out.push({ path: root, error: `bundle ${root} could not be read: ${describeError(e)}` });
      continue;
    }
    if (!st.isDirectory()) {
      out.push({ path: root, error: `bundle ${root} is not a directory` });
      continue;
    }
    await walk(root, root, out);
  }
  for (const f of files) {
    try {
      const st = await stat(f);
      if (st.isDirectory()) await walk(f, f, out);
      else out.push({ path: f });
    } catch (e) {
      out.push({ path: f, error: `input ${f} could not be read: ${describeError(e)}` });
    }
  }
  return dedupe(out);
}

/** The same file named twice (a bundle and one of its files, or a path given twice) is read once. */
async function dedupe(refs: InputRef[]): Promise<InputRef[]> {
  const seen = new Set<string>();
  const out: InputRef[] = [];
  for (const r of refs) {
    const key = r.error ? `error:${r.path}` : await realpath(r.path).catch(() => resolve(r.path));
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(r);
  }
  return out;
}

async function walk(root: string, dir: string, out: InputRef[]): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    out.push({ path: dir, error: `directory ${dir} could not be listed: ${describeError(e)}` });
    return;
  }
  const rel = relative(root, dir).split(sep).filter((p) => p !== '');
  if (rel.length !== 1 && (await isSysfsInterfaceDir(dir))) {
    // A copied /sys/class/net/<if> (or the live one given as an input): one input for the interface,
    // not one unreadable file per counter. A bundle's host directory itself is never an interface.
    out.push({ path: dir, host: rel.length > 1 ? rel[0] : undefined, directory: 'sysfs-interface' });
    return;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if (e.name.startsWith('.') || SKIP_NAMES.has(e.name)) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) await walk(root, p, out);
    else if (e.isFile() || e.isSymbolicLink()) {
      const parts = relative(root, p).split(sep);
      out.push({ path: p, host: parts.length > 1 ? parts[0] : undefined });
    }
  }
}
