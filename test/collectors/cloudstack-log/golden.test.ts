/**
 * Golden, folder-per-case tests: every directory under test/fixtures/cloudstack-log/cases holds
 * `input/<host>/<files>` (a small bundle) and `expected.json` (inputs, observations, findings).
 * Runs the real pipeline (recognition by content, collectors, the burst analyzer).
 * Regenerate after an intended change with UPDATE_GOLDEN=1 and review the diff.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readInputs } from '../../../engine/pipeline.js';
import { analyzeNvpBursts, nvpBurstConfigSchema } from '../../../analyzers/nvp-api-exception-burst/analyze.js';

const CASES = join(__dirname, '..', '..', 'fixtures', 'cloudstack-log', 'cases');
const KINDS = ['nvp.exception', 'nvp.command_failure', 'nvp.retry', 'nvp.controller', 'nvp.network_op', 'ovstunnel.event'] as const;

export async function runCase(dir: string) {
  const root = join(dir, 'input');
  const { store, inputs } = await readInputs({ bundles: [root] });
  const rel = (p: string) => relative(root, p);
  const observations = KINDS.flatMap((k) => store.get(k)).map((o) => ({ ...o, source: rel(o.source) }));
  const findings = analyzeNvpBursts(store, nvpBurstConfigSchema.parse({})).map((f) => ({
    ...f,
    evidence: f.evidence.map((e) => ({ ...e, source: e.source.split(', ').map(rel).join(', ') })),
  }));
  return { inputs: inputs.map((i) => ({ ...i, path: rel(i.path) })), observations, findings };
}

describe('cloudstack-log golden cases', () => {
  const cases = readdirSync(CASES).filter((d) => existsSync(join(CASES, d, 'input')));
  it('has cases', () => expect(cases.length).toBeGreaterThanOrEqual(10));
  for (const c of cases) {
    it(c, async () => {
      const got = JSON.parse(JSON.stringify(await runCase(join(CASES, c))));
      const file = join(CASES, c, 'expected.json');
      if (process.env.UPDATE_GOLDEN === '1') writeFileSync(file, `${JSON.stringify(got, null, 2)}\n`);
      expect(got).toEqual(JSON.parse(readFileSync(file, 'utf8')));
    });
  }
});
