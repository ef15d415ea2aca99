/**
 * The Grafana dashboards: built from dashboards/build.mjs, every query parsed by promtool, every
 * series and label it names exported by netdiag. (test/e2e/serve.test.ts runs them against a real
 * Prometheus scraping a real `netdiag serve`.)
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { allMetricSpecs } from '../../engine/appliance.js';
import { concrete, DASHBOARDS as DIR, dashboardFiles, dashboardQueries, type Panel } from '../helpers/dashboards.js';

const run = promisify(execFile);
const files = dashboardFiles();

describe('Grafana dashboards', () => {
  it('are what dashboards/build.mjs writes', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'nd-dash-'));
    try {
      await run('node', [join(DIR, 'build.mjs'), join(tmp, 'out.json')]);
      expect(readFileSync(join(tmp, 'out.json'), 'utf8')).toBe(readFileSync(join(DIR, 'netdiag-overview.json'), 'utf8'));
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it.each(files)('%s: unique ids, panels inside the 24-column grid, a Prometheus datasource variable', (f) => {
    const d = JSON.parse(readFileSync(join(DIR, f), 'utf8')) as { uid: string; title: string; panels: Panel[]; templating: { list: { name: string; type: string }[] } };
    expect(d.uid).toMatch(/^[a-z0-9-]{1,40}$/);
    const ids = d.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of d.panels) expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
    expect(d.templating.list.find((v) => v.name === 'datasource')?.type).toBe('datasource');
    expect(d.panels.filter((p) => p.type !== 'row').every((p) => (p.targets ?? []).length > 0)).toBe(true);
  });

  it('every query parses (promtool) and names only series and labels netdiag exports', async () => {
    const specs = new Map(allMetricSpecs().map((s) => [s.name, new Set([...(s.labelNames ?? []), 'instance', 'job'])]));
    specs.set('netdiag_build_info', new Set(['version', 'instance', 'job']));
    const queries = dashboardQueries();
    expect(queries.length).toBeGreaterThan(15);
    for (const q of queries) {
      for (const m of q.expr.matchAll(/(netdiag_[a-z0-9_]+)(?:\{([^}]*)\})?/g)) {
        const labels = specs.get(m[1]!);
        expect(labels, `${q.panel}: ${m[1]} is not a netdiag series`).toBeDefined();
        for (const l of (m[2] ?? '').matchAll(/([a-z_]+)\s*(?:=~|!~|!=|=)/g)) expect(labels!.has(l[1]!), `${q.panel}: ${m[1]} has no label ${l[1]}`).toBe(true);
      }
      for (const by of q.expr.matchAll(/by \(([^)]*)\)\s*\((?:\w+\()?(netdiag_[a-z0-9_]+)/g)) {
        for (const l of by[1]!.split(',').map((x) => x.trim())) expect(specs.get(by[2]!)!.has(l), `${q.panel}: by (${l}) on ${by[2]}`).toBe(true);
      }
    }
    // promtool parses each query as a recording rule's expression.
    const tmp = mkdtempSync(join(tmpdir(), 'nd-dash-'));
    try {
      const rules = { groups: [{ name: 'dashboard', rules: queries.map((q, i) => ({ record: `netdiag:dashboard_query_${i}`, expr: concrete(q.expr) })) }] };
      writeFileSync(join(tmp, 'q.yml'), JSON.stringify(rules));
      const r = await run('promtool', ['check', 'rules', join(tmp, 'q.yml')]);
      expect(r.stdout).toMatch(new RegExp(`SUCCESS: ${queries.length} rules found`));
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
