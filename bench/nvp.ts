/**
 * NVP inventory benchmark (issue 6): an NVP simulator holding SWITCHES logical switches (90 %
 * tagged cs_account, 2 ports each) read in full — every page of `lswitch?fields=*` and the ports
 * of every CloudStack switch — by `netdiag diagnose --nvp-url` and by the curl + jq loop an admin
 * would otherwise write (login, follow page_cursor, then one lport call per tagged switch). Same
 * controller, one run each, time ratio and peak RSS via GNU time; both must count the same ports.
 * Run: `npx tsc -p tsconfig.json && node dist/bench/nvp.js [SWITCHES] [PAGE]`.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startNvpSimulator } from '../lab/nvp/server.js';
import type { SeedLswitch } from '../lab/inventory.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const SWITCHES = Number(process.argv[2] ?? 2000);
const PAGE = Number(process.argv[3] ?? 1000);
const DATA = join(ROOT, 'bench', 'data', 'nvp');

const hex = (n: number, w: number) => n.toString(16).padStart(w, '0');
const seed: SeedLswitch[] = [];
let expectedPorts = 0;
for (let i = 0; i < SWITCHES; i++) {
  const tagged = i % 10 !== 0;
  const ports = tagged ? 2 : 0;
  expectedPorts += ports;
  seed.push({
    uuid: `${hex(i, 8)}-0000-4000-8000-${hex(i, 12)}`,
    display_name: `lswitch-net-${i}`,
    tags: tagged ? [{ scope: 'cs_account', tag: `ROOT-acct${i % 97}` }] : [{ scope: 'os_tid', tag: 'x' }],
    created: '2025-01-01T00:00:00Z',
    ports: Array.from({ length: ports }, (_, p) => ({ uuid: `${hex(i, 8)}-0001-4000-8000-${hex(p, 12)}`, display_name: `p${p}`, vif_uuid: `${hex(i, 8)}-0002-4000-8000-${hex(p, 12)}` })),
  });
}

mkdirSync(DATA, { recursive: true });
const script = join(DATA, 'nvp-inventory.sh');
// What an admin would write: follow page_cursor, then the ports of every cs_account switch.
writeFileSync(
  script,
  `#!/bin/sh
set -eu
U=$1; J=$(mktemp); trap 'rm -f "$J" "$J".*' EXIT
curl -sf -c "$J" -d "username=$NVP_USER&password=$NVP_PASSWORD" "$U/ws.v1/login" >/dev/null
C=""; : > "$J.ids"
while :; do
  P=$(curl -sf -b "$J" "$U/ws.v1/lswitch?fields=*&_page_length=${PAGE}\${C:+&_page_cursor=$C}")
  echo "$P" | jq -r '.results[] | select(any(.tags[]?; .scope=="cs_account")) | .uuid' >> "$J.ids"
  C=$(echo "$P" | jq -r '.page_cursor // empty'); [ -n "$C" ] || break
done
n=0
while read -r id; do
  c=$(curl -sf -b "$J" "$U/ws.v1/lswitch/$id/lport?fields=*&relations=LogicalPortAttachment" | jq '.results | length'); n=$((n + c))
done < "$J.ids"
echo "ports $n"
`,
);

async function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ seconds: number; rssKiB: number; stdout: string }> {
  const r = await run('/usr/bin/time', ['-f', '%e %M', cmd, ...args], { env: { ...process.env, ...env }, maxBuffer: 256 << 20 }).catch((e) => e as { stdout: string; stderr: string });
  const last = r.stderr.trim().split('\n').at(-1)!.split(' ');
  return { seconds: Number(last[0]), rssKiB: Number(last[1]), stdout: r.stdout };
}

const sim = await startNvpSimulator({ lswitches: seed, maxPageLength: PAGE });
try {
  const env = { NETDIAG_NVP_USER: sim.user, NETDIAG_NVP_PASSWORD: sim.password, NVP_USER: sim.user, NVP_PASSWORD: sim.password };
  const nd = await timed('node', [join(ROOT, 'bin', 'netdiag.js'), 'diagnose', '--nvp-url', sim.url, '--format', 'json'], env);
  const report = JSON.parse(nd.stdout) as { inputs: { type: string; records: number; error?: string }[] };
  const ndInput = report.inputs.find((i) => i.type === 'nvp-api')!;
  const sh = await timed('sh', [script, sim.url], env);
  const shPorts = Number(/ports (\d+)/.exec(sh.stdout)?.[1]);
  console.log(`switches ${SWITCHES} (page ${PAGE}), ports of CloudStack switches ${expectedPorts}`);
  console.log(`netdiag diagnose --nvp-url: ${nd.seconds.toFixed(2)} s, peak RSS ${(nd.rssKiB / 1024).toFixed(0)} MiB, switches read ${ndInput.records - 1}${ndInput.error ? `, error ${ndInput.error}` : ''}`);
  console.log(`curl + jq loop:             ${sh.seconds.toFixed(2)} s, peak RSS ${(sh.rssKiB / 1024).toFixed(0)} MiB, ports ${shPorts}`);
  console.log(`ratio (curl+jq / netdiag):  ${(sh.seconds / nd.seconds).toFixed(1)}×`);
  if (shPorts !== expectedPorts || ndInput.records - 1 !== SWITCHES) console.log('MISMATCH: the two did not read the same inventory');
} finally {
  await sim.close();
}
