import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { diagnose, statusOf } from '../../../engine/pipeline.js';

// Folder-per-case: test/testcases/nic-crc-errors/<case>/{bundle/<host>/..., expected.json}.
const CASES = join(__dirname, '..', '..', 'testcases', 'nic-crc-errors');
const cases = readdirSync(CASES).sort();

describe('nic_crc_errors golden cases (diagnose --bundle)', () => {
  it('has cases', () => expect(cases.length).toBeGreaterThanOrEqual(6));

  it.each(cases)('%s', async (name) => {
    const expected = JSON.parse(readFileSync(join(CASES, name, 'expected.json'), 'utf8')) as {
      status: string;
      findings: { kind: string; severity: string; host: string; subject: object; metrics: object }[];
    };
    const report = await diagnose({ bundles: [join(CASES, name, 'bundle')], now: () => Date.parse('2026-11-20T12:00:00Z') });
    expect(report.inputs.filter((i) => i.error)).toEqual([]);
    const mine = report.findings.filter((f) => f.kind === 'nic_crc_errors');
    expect(statusOf(mine)).toBe(expected.status);
    expect(mine).toHaveLength(expected.findings.length);
    for (const [i, e] of expected.findings.entries()) expect(mine[i]).toMatchObject(e);
  });
});
