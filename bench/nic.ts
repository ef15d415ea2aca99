/**
 * NIC counter benchmark (issue 4): a bundle of HOSTS hypervisors × NICS ethtool -S snapshots taken
 * twice, read by `netdiag diagnose` and by the grep/awk pipeline an admin would otherwise write
 * (rx_crc_errors difference per interface, ≥ 10 printed). Same input, one run, time ratio and peak
 * RSS via GNU time. Run: `npx tsc -p tsconfig.json && node dist/bench/nic.js [HOSTS] [NICS]`.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');
const HOSTS = Number(process.argv[2] ?? 300);
const NICS = Number(process.argv[3] ?? 4);
const DATA = join(ROOT, 'bench', 'data', 'nic');

function generate(): { files: number; bytes: number; expectedFailing: number } {
  rmSync(DATA, { recursive: true, force: true });
  const template = readFileSync(join(ROOT, 'test', 'fixtures', 'nic', 'ethtool', 'ixgbe-eno1.txt'), 'utf8').replace(/^#.*\n/gm, '');
  let files = 0;
  let bytes = 0;
  let expectedFailing = 0;
  for (let h = 0; h < HOSTS; h++) {
    const dir = join(DATA, `hv-${String(h).padStart(4, '0')}`);
    mkdirSync(dir, { recursive: true });
    for (let n = 0; n < NICS; n++) {
      const iface = `eno${n + 1}`;
      const failing = (h * NICS + n) % 17 === 0; // about 6 % of the NICs gain CRC errors
      if (failing) expectedFailing++;
      const base = 1000 + h * 7 + n;
      for (const [i, at] of ['2026-11-20T03:10:00Z', '2026-11-20T03:15:00Z'].entries()) {
        const crc = base + (failing && i === 1 ? 250 : 0);
        const rx = 900_000_000 + h * 1000 + n + i * 30_000_000;
        const text = `# command: ethtool -S ${iface}\n# collected-at: ${at}\n# driver: ixgbe\n${template.replace(/rx_crc_errors: \d+/, `rx_crc_errors: ${crc}`).replace(/ rx_packets: \d+/, ` rx_packets: ${rx}`)}`;
        writeFileSync(join(dir, `ethtool-S-${iface}.${i + 1}.txt`), text);
        files++;
        bytes += text.length;
      }
    }
  }
  return { files, bytes, expectedFailing };
}

function timed(cmd: string, args: string[]): { seconds: number; maxRssKb: number; stdout: string } {
  const timeFile = join(DATA, '..', 'nic-time.txt');
  const stdout = execFileSync('/usr/bin/time', ['-o', timeFile, '-f', '%e %M', cmd, ...args], { maxBuffer: 256 << 20, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const [e, m] = readFileSync(timeFile, 'utf8').trim().split(/\s+/).slice(-2);
  return { seconds: Number(e), maxRssKb: Number(m), stdout };
}

const gen = generate();
console.log(`input: ${HOSTS} hosts × ${NICS} NICs × 2 snapshots = ${gen.files} files, ${(gen.bytes / 1e6).toFixed(1)} MB, ${gen.expectedFailing} NICs with rising CRC errors`);

// netdiag: diagnose exits 2 when it finds a critical problem, so allow non-zero via sh.
const nd = timed('sh', ['-c', `node ${join(ROOT, 'bin', 'netdiag.js')} diagnose --bundle ${DATA} --format json; true`]);
const report = JSON.parse(nd.stdout) as { findings: { kind: string; severity: string }[] };
const ndFailing = report.findings.filter((f) => f.kind === 'nic_crc_errors' && f.severity !== 'info').length;

const AWK = `FNR==1{split(FILENAME,p,"/"); host=p[length(p)-1]} /^# command: ethtool -S/{iface=$4} $1=="rx_crc_errors:"{k=host"/"iface; if (k in a) {d=$2-a[k]; if (d>=10) {print k, d; n++}} else a[k]=$2} END{print n+0, "failing"}`;
const awk = timed('sh', ['-c', `awk '${AWK}' $(find ${DATA} -name '*.txt' | sort)`]);
const awkFailing = Number(/(\d+) failing/.exec(awk.stdout)?.[1]);

console.log(`netdiag diagnose: ${nd.seconds.toFixed(2)} s, peak RSS ${(nd.maxRssKb / 1024).toFixed(0)} MiB, ${ndFailing} failing NICs found`);
console.log(`find | awk     : ${awk.seconds.toFixed(2)} s, peak RSS ${(awk.maxRssKb / 1024).toFixed(0)} MiB, ${awkFailing} failing NICs found`);
console.log(`time ratio netdiag/awk: ${(nd.seconds / Math.max(awk.seconds, 0.01)).toFixed(1)}×`);
if (ndFailing !== gen.expectedFailing || awkFailing !== gen.expectedFailing) {
  console.error(`MISMATCH: expected ${gen.expectedFailing}`);
  process.exitCode = 1;
}
