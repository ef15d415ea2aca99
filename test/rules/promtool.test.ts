import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const RULES = join(__dirname, '..', '..', 'rules');

// Every rules/*.yml is checked by promtool, and every rules/tests/*.test.yml is a promtool unit test.
const ruleFiles = readdirSync(RULES).filter((f) => f.endsWith('.yml')).map((f) => join(RULES, f));
const testFiles = readdirSync(join(RULES, 'tests')).filter((f) => f.endsWith('.test.yml')).map((f) => join(RULES, 'tests', f));

describe('Prometheus rules', () => {
  it('exist, with a promtool unit test for each rules file', () => {
    expect(ruleFiles.length).toBeGreaterThan(0);
    expect(testFiles.length).toBeGreaterThanOrEqual(ruleFiles.length);
  });

  it.each(ruleFiles)('promtool check rules %s', async (f) => {
    const r = await run('promtool', ['check', 'rules', f]);
    expect(r.stdout).toMatch(/SUCCESS/);
  });

  it.each(testFiles)('promtool test rules %s', async (f) => {
    const r = await run('promtool', ['test', 'rules', f]);
    expect(r.stdout).toMatch(/SUCCESS/);
  });

  it('every alert has summary, description and a runbook link', async () => {
    const { parse } = await import('yaml');
    const { readFileSync } = await import('node:fs');
    for (const f of ruleFiles) {
      const doc = parse(readFileSync(f, 'utf8')) as { groups: { rules: { alert?: string; annotations?: Record<string, string>; labels?: Record<string, string> }[] }[] };
      for (const g of doc.groups) {
        for (const r of g.rules) {
          if (!r.alert) continue;
          expect(r.annotations?.summary, `${f} ${r.alert} summary`).toBeTruthy();
          expect(r.annotations?.description, `${f} ${r.alert} description`).toBeTruthy();
          expect(r.annotations?.runbook_url, `${f} ${r.alert} runbook_url`).toMatch(/^https?:\/\//);
          expect(['warning', 'critical', 'info']).toContain(r.labels?.severity);
        }
      }
    }
  });
});
