/**
 * CloudStack inventory benchmark (issue 6): a CloudStack simulator holding NETWORKS guest networks
 * read in full with paging — `netdiag diagnose --cloudstack-url` (which also lists zones,
 * physical networks, hosts, NVP devices and their networks, configurations) against the
 * openssl + curl + jq loop an admin would otherwise write to page a signed listNetworks.
 * Same server, one run each, time ratio and peak RSS via GNU time; both must count the same networks.
 * Run: `npx tsc -p tsconfig.json && node dist/bench/cloudstack.js [NETWORKS] [PAGESIZE]`.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startCloudStackSimulator } from '../lab/cloudstack/server.js';
import { PHYSNET_GRE_ID, PHYSNET_STT_ID, ZONE_ID } from '../lab/inventory.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const NETWORKS = Number(process.argv[2] ?? 20000);
const PAGE = Number(process.argv[3] ?? 500);
const DATA = join(ROOT, 'bench', 'data', 'cloudstack');

const hex = (n: number, w: number) => n.toString(16).padStart(w, '0');
const networks = Array.from({ length: NETWORKS }, (_, i) => {
  const nvp = i % 2 === 0;
  return {
    id: `${hex(i, 8)}-0000-4000-8000-${hex(i, 12)}`,
    name: `net-${i}`,
    displaytext: `network ${i}`,
    state: i % 7 === 0 ? 'Allocated' : 'Implemented',
    broadcastdomaintype: nvp ? 'Lswitch' : 'Vswitch',
    ...(i % 7 === 0 ? {} : { broadcasturi: nvp ? `lswitch:${hex(i, 8)}-0001-4000-8000-${hex(i, 12)}` : `vswitch://${3000 + i}` }),
    physicalnetworkid: nvp ? PHYSNET_STT_ID : PHYSNET_GRE_ID,
    zoneid: ZONE_ID,
    account: `acct${i % 97}`,
    domain: 'ROOT',
    traffictype: 'Guest',
    type: 'Isolated',
    publicmtu: 1500,
    privatemtu: 1500,
    cidr: `10.${(i >> 8) & 255}.${i & 255}.0/24`,
  };
});

mkdirSync(DATA, { recursive: true });
const script = join(DATA, 'cs-networks.sh');
// What an admin would write: sign each page with openssl, page until count, keep the broadcast URIs.
writeFileSync(
  script,
  `#!/bin/sh
set -eu
U=$1; O=$(mktemp); trap 'rm -f "$O"' EXIT
page=1; n=0
while :; do
  q="apikey=$CS_KEY&command=listNetworks&listall=true&page=$page&pagesize=${PAGE}&response=json"
  s=$(printf '%s' "$q" | tr 'A-Z' 'a-z' | openssl dgst -sha1 -hmac "$CS_SECRET" -binary | base64 | tr -d '\\n' | jq -sRr @uri)
  P=$(curl -sf "$U?$q&signature=$s")
  echo "$P" | jq -r '.listnetworksresponse.network[]? | [.id, .state, .broadcasturi // ""] | @tsv' >> "$O"
  c=$(echo "$P" | jq '.listnetworksresponse.network | length'); t=$(echo "$P" | jq '.listnetworksresponse.count // 0')
  n=$((n + c)); [ "$c" -gt 0 ] && [ "$n" -lt "$t" ] || break
  page=$((page + 1))
done
echo "networks $(wc -l < "$O")"
`,
);

async function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ seconds: number; rssKiB: number; stdout: string }> {
  const r = await run('/usr/bin/time', ['-f', '%e %M', cmd, ...args], { env: { ...process.env, ...env }, maxBuffer: 256 << 20 }).catch((e) => e as { stdout: string; stderr: string });
  const last = r.stderr.trim().split('\n').at(-1)!.split(' ');
  return { seconds: Number(last[0]), rssKiB: Number(last[1]), stdout: r.stdout };
}

const sim = await startCloudStackSimulator({ inventory: { networks } });
try {
  const env = { NETDIAG_API_KEY: sim.apiKey, NETDIAG_SECRET_KEY: sim.secretKey, CS_KEY: sim.apiKey, CS_SECRET: sim.secretKey };
  const nd = await timed('node', [join(ROOT, 'bin', 'netdiag.js'), 'diagnose', '--cloudstack-url', sim.url, '--format', 'json'], env);
  const report = JSON.parse(nd.stdout) as { inputs: { type: string; records: number; error?: string }[] };
  const ndInput = report.inputs.find((i) => i.type === 'cloudstack-api')!;
  const calls = sim.requests.length;
  const sh = await timed('sh', [script, sim.url], env);
  const shNets = Number(/networks (\d+)/.exec(sh.stdout)?.[1]);
  console.log(`networks ${NETWORKS} (pagesize ${PAGE})`);
  console.log(`netdiag diagnose --cloudstack-url: ${nd.seconds.toFixed(2)} s, peak RSS ${(nd.rssKiB / 1024).toFixed(0)} MiB, ${calls} API calls, records ${ndInput.records}${ndInput.error ? `, error ${ndInput.error}` : ''}`);
  console.log(`openssl + curl + jq loop:          ${sh.seconds.toFixed(2)} s, peak RSS ${(sh.rssKiB / 1024).toFixed(0)} MiB, networks ${shNets}`);
  console.log(`ratio (shell / netdiag):           ${(sh.seconds / nd.seconds).toFixed(1)}×`);
  if (shNets !== NETWORKS || ndInput.records < NETWORKS) console.log('MISMATCH: the two did not read the same inventory');
} finally {
  await sim.close();
}
