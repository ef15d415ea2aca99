import { isIP } from 'node:net';
import { z } from 'zod';
import { latestFlows, ovsInventory } from '../../collectors/ovs/model.js';
import { parseTunnelPortName } from '../../collectors/ovs/parse.js';
import { type Finding, makeFinding, type Severity } from '../../core/finding.js';
import type { OvsInterfaceInfo } from '../../core/kinds.js';
import type { ObservationReader } from '../../core/observation.js';
import type { AnalyzerContext, MetricsSink } from '../../core/plugin.js';

export const ovsTunnelSchema = z
  .object({
    /** Interface types that are tunnels. */
    tunnelTypes: z.array(z.string()).default(['gre', 'vxlan', 'geneve', 'stt', 'gre64', 'erspan']),
    /**
     * CloudStack host id → tunnel endpoint IP (optional). When given, a port `t<key>-<from>-<to>`
     * whose remote_ip is not host <to>'s address is reported (`remote_ip_mismatch`).
     */
    hostIps: z.record(z.string(), z.string()).default({}),
  })
  .strict();

export type OvsTunnelConfig = z.infer<typeof ovsTunnelSchema>;

export type TunnelReason =
  | 'interface_error'
  | 'ofport_invalid'
  | 'key_mismatch'
  | 'name_key_mismatch'
  | 'remote_ip_invalid'
  | 'remote_ip_mismatch'
  | 'remote_ip_inconsistent'
  | 'no_tunnel_port';

interface Problem {
  host?: string;
  bridge: string;
  port?: string;
  reason: TunnelReason;
  severity: Severity;
  summary: string;
  metrics: Record<string, unknown>;
  excerpt: string;
}

function ifaceText(i: OvsInterfaceInfo): string {
  const opts = Object.entries(i.options).map(([k, v]) => `${k}="${v}"`).join(', ');
  return `Interface ${i.name}: type=${i.type || 'system'} ofport=${i.ofport ?? '?'} options={${opts}}${i.error ? ` error="${i.error}"` : ''}`;
}

/** Every tunnel problem visible in OVSDB, per host. */
export function tunnelProblems(obs: ObservationReader, cfg: OvsTunnelConfig): Problem[] {
  const out: Problem[] = [];
  for (const [hk, h] of ovsInventory(obs)) {
    const host = hk === '' ? undefined : hk;
    const isTunnel = (i: OvsInterfaceInfo) => cfg.tunnelTypes.includes(i.type) || (i.type === '' && parseTunnelPortName(i.name) !== undefined && Object.keys(i.options).length > 0);
    const tunnels = [...h.interfaces.values()].filter(isTunnel);
    for (const i of tunnels) {
      const bridge = i.bridge ?? '';
      const b = bridge ? h.bridges.get(bridge) : undefined;
      const add = (reason: TunnelReason, severity: Severity, summary: string, metrics: Record<string, unknown> = {}) =>
        out.push({ host, bridge, port: i.name, reason, severity, summary, metrics, excerpt: ifaceText(i) });
      if (i.error) add('interface_error', 'critical', `tunnel ${i.name} on ${bridge || 'an unknown bridge'} has an OVS error: ${i.error}`, { ofport: i.ofport ?? null });
      else if (i.ofport === -1) add('ofport_invalid', 'critical', `tunnel ${i.name} on ${bridge || 'an unknown bridge'} has ofport -1: OVS could not add it`);
      const key = i.options.key;
      const greKey = b?.otherConfig.gre_key;
      const named = parseTunnelPortName(i.name);
      if (key !== undefined && key !== 'flow' && greKey !== undefined && Number(key) !== Number(greKey)) {
        add('key_mismatch', 'critical', `tunnel ${i.name} uses key ${key} but bridge ${bridge} carries gre_key ${greKey}: its traffic lands in another network or nowhere`, { key: Number(key), expectedKey: Number(greKey) });
      } else if (named && key !== undefined && key !== 'flow' && named.key !== Number(key)) {
        add('name_key_mismatch', 'warning', `tunnel ${i.name} is named for key ${named.key} but its options say key ${key}`, { key: Number(key), expectedKey: named.key });
      } else if (named && greKey !== undefined && named.key !== Number(greKey)) {
        add('key_mismatch', 'warning', `tunnel ${i.name} is named for key ${named.key} but sits on bridge ${bridge} with gre_key ${greKey}`, { key: named.key, expectedKey: Number(greKey) });
      }
      const remote = i.options.remote_ip;
      if (!i.error && (remote === undefined || (remote !== 'flow' && isIP(remote) === 0))) {
        add('remote_ip_invalid', 'critical', `tunnel ${i.name} has ${remote === undefined ? 'no remote_ip' : `an invalid remote_ip "${remote}"`}`);
      } else if (named && remote && cfg.hostIps[String(named.to)] !== undefined && cfg.hostIps[String(named.to)] !== remote) {
        add('remote_ip_mismatch', 'critical', `tunnel ${i.name} points at ${remote} but host ${named.to} is ${cfg.hostIps[String(named.to)]}`, { remoteIp: remote, expectedRemoteIp: cfg.hostIps[String(named.to)] });
      }
    }
    out.push(...remoteIpInconsistencies(host, tunnels));
    // ovs-host-setup lists the CloudStack hosts that set this bridge up; each needs a tunnel port.
    for (const b of h.bridges.values()) {
      const setup = b.otherConfig['ovs-host-setup'];
      if (setup === undefined) continue;
      const ids = setup.replace(/["']/g, '').split(',').map((s) => s.trim()).filter((s) => /^\d+$/.test(s));
      const portsHere = b.ports.map((p) => ({ name: p, t: parseTunnelPortName(p) })).filter((p) => p.t);
      for (const id of [...new Set(ids)]) {
        const n = Number(id);
        if (portsHere.some((p) => p.t!.from === n || p.t!.to === n)) continue;
        const severity: Severity = portsHere.length > 0 ? 'warning' : 'info';
        out.push({
          host,
          bridge: b.name,
          reason: 'no_tunnel_port',
          severity,
          summary: `bridge ${b.name} was set up by CloudStack host ${id} (other_config:ovs-host-setup="${setup}") but has no tunnel port t${b.otherConfig.gre_key ?? '<key>'}-${id}-* or -*-${id}${portsHere.length === 0 ? ' (no tunnel port at all: either the only host of the network, or create_tunnel failed)' : ''}`,
          metrics: { tunnelPorts: portsHere.length, hostId: n },
          excerpt: `Bridge ${b.name}: other_config=${JSON.stringify(b.otherConfig)} ports=[${b.ports.join(', ')}]`,
        });
      }
    }
  }
  return out;
}

/**
 * Without any configuration, the tunnel ports of one host must agree among themselves: every port
 * `t<key>-<from>-<to>` towards CloudStack host <to> (one per network) should carry the same
 * remote_ip, and one remote_ip should not stand for two different hosts. The odd one out (against
 * the majority) is reported; with no majority, every disagreeing port is.
 */
function remoteIpInconsistencies(host: string | undefined, tunnels: readonly OvsInterfaceInfo[]): Problem[] {
  const out: Problem[] = [];
  const named = tunnels
    .map((i) => ({ i, t: parseTunnelPortName(i.name), ip: i.options.remote_ip }))
    // Ports OVS refused are reported with OVS's own error already.
    .filter((x): x is { i: OvsInterfaceInfo; t: NonNullable<ReturnType<typeof parseTunnelPortName>>; ip: string } => x.t !== undefined && x.ip !== undefined && isIP(x.ip) !== 0 && !x.i.error && x.i.ofport !== -1);
  const report = (x: (typeof named)[number], summary: string, metrics: Record<string, unknown>, severity: Severity) =>
    out.push({ host, bridge: x.i.bridge ?? '', port: x.i.name, reason: 'remote_ip_inconsistent', severity, summary, metrics, excerpt: ifaceText(x.i) });
  const groupBy = <K>(key: (x: (typeof named)[number]) => K) => {
    const m = new Map<K, typeof named>();
    for (const x of named) (m.get(key(x)) ?? m.set(key(x), []).get(key(x))!).push(x);
    return m;
  };
  const reported = new Set<string>();
  for (const [to, list] of groupBy((x) => x.t.to)) {
    const votes = new Map<string, number>();
    for (const x of list) votes.set(x.ip, (votes.get(x.ip) ?? 0) + 1);
    if (votes.size < 2) continue;
    const ranked = [...votes.entries()].sort((a, b) => b[1] - a[1]);
    const majority = ranked[0]![1] > ranked[1]![1] ? ranked[0]![0] : undefined;
    for (const x of list) {
      if (x.ip === majority) continue;
      reported.add(x.i.name);
      const others = [...votes.keys()].filter((ip) => ip !== x.ip);
      report(
        x,
        `tunnel ${x.i.name} points host ${to} at ${x.ip}, but ${majority ? `the other tunnels to host ${to} use ${majority}` : `other tunnels to host ${to} use ${others.join(', ')}`}: one of them goes to the wrong hypervisor`,
        { remoteIp: x.ip, otherRemoteIps: others, hostId: to },
        majority ? 'critical' : 'warning',
      );
    }
  }
  for (const [ip, list] of groupBy((x) => x.ip)) {
    const hosts = [...new Set(list.map((x) => x.t.to))];
    if (hosts.length < 2) continue;
    for (const x of list) {
      if (reported.has(x.i.name)) continue;
      report(x, `tunnel ${x.i.name} (to host ${x.t.to}) and tunnels to host(s) ${hosts.filter((h) => h !== x.t.to).join(', ')} all use remote_ip ${ip}: one IP cannot be two CloudStack hosts (a host re-added with a new id leaves stale tunnels)`, { remoteIp: ip, hostIds: hosts }, 'warning');
    }
  }
  return out;
}

export function analyzeOvsTunnel(obs: ObservationReader, cfg: OvsTunnelConfig, _ctx?: AnalyzerContext): Finding[] {
  const findings: Finding[] = tunnelProblems(obs, cfg).map((p) =>
    makeFinding({
      kind: 'ovs_tunnel_error',
      severity: p.severity,
      host: p.host,
      subject: { bridge: p.bridge, ...(p.port ? { port: p.port } : {}), reason: p.reason, ...(p.metrics.hostId !== undefined ? { hostId: p.metrics.hostId } : {}) },
      summary: p.summary,
      metrics: p.metrics,
      evidence: [{ source: 'OVSDB', excerpt: p.excerpt }],
    }),
  );
  // Poll failures still current: newer than the last successful dump of the same bridge.
  const flowsAt = new Map(latestFlows(obs).map((b) => [`${b.host ?? ''}\u0000${b.bridge}`, b.at ?? 0]));
  const groups = new Map<string, { host?: string; bridge?: string; command: string; count: number; last: number; error: string; source: string; partial: boolean }>();
  for (const o of obs.get('ovs.poll_failure')) {
    const at = o.at ?? 0;
    if (o.data.command === 'dump-flows' && o.data.bridge && (flowsAt.get(`${o.host ?? ''}\u0000${o.data.bridge}`) ?? -1) > at) continue;
    const k = `${o.host ?? ''}\u0000${o.data.bridge ?? ''}\u0000${o.data.command}`;
    const g = groups.get(k) ?? { host: o.host, bridge: o.data.bridge, command: o.data.command, count: 0, last: 0, error: '', source: o.source, partial: false };
    g.count++;
    if (at >= g.last) {
      g.last = at;
      g.error = o.data.error;
      g.source = o.source;
      g.partial = o.data.partial === true;
    }
    groups.set(k, g);
  }
  for (const g of groups.values()) {
    findings.push(
      makeFinding({
        kind: 'ovs_poll_failure',
        severity: 'warning',
        host: g.host,
        subject: { ...(g.bridge ? { bridge: g.bridge } : {}), command: g.command },
        summary: g.partial
          ? `netdiag read only part of ${g.command}${g.bridge ? ` of bridge ${g.bridge}` : ''}: ${g.error} — the flows it could not read are not being checked`
          : `netdiag cannot read ${g.command}${g.bridge ? ` of bridge ${g.bridge}` : ''}: ${g.error} — its flows are not being checked`,
        metrics: { failures: g.count, ...(g.partial ? { partial: true } : {}) },
        evidence: [{ source: g.source, excerpt: g.error }],
        ...(g.last ? { lastSeen: new Date(g.last).toISOString() } : {}),
      }),
    );
  }
  return findings;
}

export function publishOvsTunnel(obs: ObservationReader, cfg: OvsTunnelConfig, sink: MetricsSink): void {
  sink.reset('netdiag_ovs_tunnel_problems');
  const counts = new Map<string, { host: string; bridge: string; reason: string; n: number }>();
  for (const p of tunnelProblems(obs, cfg)) {
    const k = `${p.host ?? ''}|${p.bridge}|${p.reason}`;
    const c = counts.get(k) ?? { host: p.host ?? '', bridge: p.bridge, reason: p.reason, n: 0 };
    c.n++;
    counts.set(k, c);
  }
  for (const c of counts.values()) sink.set('netdiag_ovs_tunnel_problems', { host: c.host, bridge: c.bridge, reason: c.reason }, c.n);
}
