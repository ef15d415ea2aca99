/**
 * Writes the simulator's answers for the lab inventory as saved API responses (the
 * `cloudstack-api-response` input), with `# command:` / `# collected-at:` headers and the keys
 * replaced by `***`. This is how examples/bundle/mgmt-01/cloudstack-*.json were made:
 *   npx tsc -p tsconfig.json && node dist/lab/cloudstack/save-responses.js examples/bundle/mgmt-01
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSignedQuery } from '../../orchestrator/cloudstack/sign.js';
import { PHYSNET_STT_ID } from '../inventory.js';
import { startCloudStackSimulator } from './server.js';

const dir = process.argv[2] ?? '.';
const collectedAt = process.argv[3] ?? '2026-11-22T21:00:05Z';
const sim = await startCloudStackSimulator();
try {
  const saved: [string, Record<string, string>][] = [
    ['cloudstack-listNetworks.json', { command: 'listNetworks', listall: 'true' }],
    ['cloudstack-listHosts.json', { command: 'listHosts' }],
    ['cloudstack-listNiciraNvpDevices.json', { command: 'listNiciraNvpDevices', physicalnetworkid: PHYSNET_STT_ID }],
    ['cloudstack-listConfigurations.json', { command: 'listConfigurations' }],
  ];
  for (const [name, params] of saved) {
    const r = await fetch(`${sim.url}?${buildSignedQuery({ ...params, response: 'json', apikey: sim.apiKey }, sim.secretKey)}`);
    const body: unknown = await r.json();
    const shown = Object.entries(params).map(([k, v]) => `${k}=${v}`).join('&');
    const text = `# command: curl -s 'http://mgmt-01:8080/client/api?${shown}&response=json&apikey=***&signatureversion=3&expires=***&signature=***'\n# collected-at: ${collectedAt}\n${JSON.stringify(body, null, 1)}\n`;
    writeFileSync(join(dir, name), text);
    process.stdout.write(`${join(dir, name)}\n`);
  }
} finally {
  await sim.close();
}
