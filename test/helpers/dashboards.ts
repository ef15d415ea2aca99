/** The Grafana dashboards' queries, for the dashboard tests and the end-to-end run against Prometheus. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const DASHBOARDS = join(__dirname, '..', '..', 'dashboards');

export function dashboardFiles(): string[] {
  return readdirSync(DASHBOARDS).filter((f) => f.endsWith('.json'));
}

export interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: { expr: string; refId: string }[];
}

/** The query as Prometheus would get it from Grafana, with the dashboard variables filled in. */
export function concrete(expr: string): string {
  return expr.replaceAll('$__rate_interval', '1m').replaceAll('$instance', '.*').replaceAll('$host', '.*');
}

export function dashboardQueries(): { file: string; panel: string; expr: string }[] {
  return dashboardFiles().flatMap((f) => {
    const d = JSON.parse(readFileSync(join(DASHBOARDS, f), 'utf8')) as { panels: Panel[] };
    return d.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ file: f, panel: p.title, expr: t.expr })));
  });
}
