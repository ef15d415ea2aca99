/**
 * What `netdiag collect` calls to put NIC counters into a support bundle: the sysfs dump, `ip -d`
 * link details and `ethtool -S` of every NIC and bond member, with `# command:`/`# collected-at:` headers, so that
 * two calls some time apart give `diagnose` a rate. Files: `nic-sysfs.<n>.txt`, `ip-link.<n>.json`
 * (`ip -j -d -s -s link show`), `ethtool-S-<if>.<n>.txt` in `outDir` (the host's directory of the bundle).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Exec } from '../../core/exec.js';
import { sysfsSnapshots } from './parse.js';
import { formatSysfsDump, readSysfsTree } from './sysfs.js';
import { crcRelevant } from './types.js';

export interface NicCaptureOptions {
  exec: Exec;
  sysRoot: string;
  host?: string;
  now(): number;
  /** Snapshot number, part of the file names (1, 2, ...). */
  index: number;
  timeoutMs?: number;
}

/** Capture one snapshot; returns the files written and the problems met (never throws for one NIC). */
export async function captureNicSnapshot(outDir: string, o: NicCaptureOptions): Promise<{ files: string[]; warnings: string[] }> {
  const at = new Date(o.now());
  const { interfaces, warnings } = await readSysfsTree(o.sysRoot);
  const files: string[] = [];
  const dump = join(outDir, `nic-sysfs.${o.index}.txt`);
  await writeFile(dump, formatSysfsDump(interfaces, at, o.host));
  files.push(dump);
  // `ip -d` adds what sysfs lacks: a VXLAN's VNI, remote and underlay device, for mtu_mismatch.
  // It reads the running kernel, so it is left out when the sysfs tree is a copy (--sys-root).
  if (o.sysRoot === '/sys') {
    try {
      const r = await o.exec('ip', ['-j', '-d', '-s', '-s', 'link', 'show'], { timeoutMs: o.timeoutMs ?? 5000, maxBytes: 16 << 20 });
      const f = join(outDir, `ip-link.${o.index}.json`);
      await writeFile(f, `# command: ip -j -d -s -s link show\n# collected-at: ${at.toISOString()}\n${r.stdout}`);
      files.push(f);
    } catch (e) {
      warnings.push(`ip -j -d -s -s link show: ${(e as Error).message}`);
    }
  }
  for (const { snapshot } of sysfsSnapshots(interfaces)) {
    if (!crcRelevant(snapshot.class)) continue;
    try {
      const r = await o.exec('ethtool', ['-S', snapshot.interface], { timeoutMs: o.timeoutMs ?? 5000, maxBytes: 4 << 20 });
      const header = [`# command: ethtool -S ${snapshot.interface}`, `# collected-at: ${at.toISOString()}`];
      if (snapshot.driver) header.push(`# driver: ${snapshot.driver}`);
      if (snapshot.bond) header.push(`# bond: ${snapshot.bond}`);
      const f = join(outDir, `ethtool-S-${snapshot.interface}.${o.index}.txt`);
      await writeFile(f, `${header.join('\n')}\n${r.stdout}`);
      files.push(f);
    } catch (e) {
      warnings.push(`ethtool -S ${snapshot.interface}: ${(e as Error).message}`);
    }
  }
  return { files, warnings };
}
