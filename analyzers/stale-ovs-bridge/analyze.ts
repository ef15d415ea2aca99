/**
 * stale_ovs_bridge: what the OVS plugin left behind on a hypervisor (reference/cloudstack.md §5):
 *  - an `OVSTunnel<key>` bridge (or tunnel ports `t<key>-<from>-<to>`) for a GRE key that no
 *    CloudStack network holds any more (`broadcasturi = vswitch://<key>`);
 *  - an `OVSTunnel<key>` bridge of a live network with no VM port on this host (CloudStack tears
 *    the bridge down when the last VM of the network leaves the host), when the bridge's ports
 *    are known;
 *  - a tunnel port towards a host that no longer exists.
 *
 * What the API does and does not tell: tunnel port names and `other_config:ovs-host-setup` carry
 * CloudStack's *numeric* host ids, but listHosts returns only uuids. netdiag learns a hypervisor's
 * numeric id from its own tunnel ports (`t<key>-<self>-<peer>`) and ovs-host-setup, and ties it to
 * a CloudStack host by name; a peer it cannot tie that way is matched by the port's `remote_ip`
 * against the hosts' `ipaddress`. A peer is called gone only when neither matches and remote_ip
 * matching demonstrably works for other tunnels (the GRE endpoint may sit on another interface
 * than the management address, and then nothing can be concluded).
 * Without complete CloudStack network (and, for peers, host) listings nothing is called stale.
 */
import { z } from 'zod';
import { GONE_STATES, greKeyOfUri } from '../../core/broadcast.js';
import { type Evidence, type Finding, makeFinding } from '../../core/finding.js';
import { listingsComplete } from '../../core/listings.js';
import type { ObservationReader } from '../../core/observation.js';
import type { AnalyzerContext } from '../../core/plugin.js';

export const KIND = 'stale_ovs_bridge';

export const staleOvsBridgeSchema = z
  .object({
    /** Flag a live network's bridge that has no VM port on the host. */
    checkVmPlacement: z.boolean().default(true),
    severity: z.enum(['info', 'warning', 'critical']).default('warning'),
  })
  .strict();
export type StaleOvsBridgeConfig = z.infer<typeof staleOvsBridgeSchema>;

const BRIDGE_RE = /^OVSTunnel(\d+)$/;
const PORT_RE = /^t(\d+)-(\d+)-(\d+)$/;
export { greKeyOfUri };

/** `ovs.dbref` as the OVS collector emits it (uuid joins of OVSDB rows read from separate files). */
interface DbRef {
  table: string;
  uuid: string;
  name: string;
  refs: string[];
}

interface TunnelPort {
  name: string;
  key: number;
  from: number;
  to: number;
  bridge: string;
  remoteIp?: string;
  source: string;
}

interface HostView {
  bridges: Map<string, { key: number; otherConfig: Record<string, string>; ports?: string[]; source: string }>;
  tunnels: Map<string, TunnelPort>;
  /** Numeric CloudStack ids this host calls itself. */
  selfIds: Set<number>;
}

function viewOf(obs: ObservationReader): Map<string, HostView> {
  const hosts = new Map<string, HostView>();
  const get = (h: string) => {
    let v = hosts.get(h);
    if (!v) hosts.set(h, (v = { bridges: new Map(), tunnels: new Map(), selfIds: new Set() }));
    return v;
  };
  // Port names of bridges read from separate `list Bridge` / `list Port` files: join the uuids.
  const refs = new Map<string, { portName: Map<string, string>; bridgePorts: Map<string, string[]> }>();
  for (const o of obs.get('ovs.dbref' as never) as readonly { host?: string; data: DbRef }[]) {
    const h = o.host ?? '';
    let r = refs.get(h);
    if (!r) refs.set(h, (r = { portName: new Map(), bridgePorts: new Map() }));
    if (o.data.table === 'Port') r.portName.set(o.data.uuid, o.data.name);
    else if (o.data.table === 'Bridge') r.bridgePorts.set(o.data.name, o.data.refs);
  }
  const portsOf = (host: string, bridge: string, listed: string[]): string[] | undefined => {
    if (listed.length) return listed;
    const r = refs.get(host);
    const uuids = r?.bridgePorts.get(bridge);
    if (!r || !uuids?.length) return undefined;
    const names = uuids.map((u) => r.portName.get(u));
    return names.every((n): n is string => n !== undefined) ? names : undefined; // a Port row missing: unknown
  };
  for (const o of obs.get('ovs.bridge')) {
    const m = BRIDGE_RE.exec(o.data.name);
    if (!m) continue;
    const v = get(o.host ?? '');
    const ports = portsOf(o.host ?? '', o.data.name, o.data.ports);
    v.bridges.set(o.data.name, { key: Number(m[1]), otherConfig: o.data.otherConfig, ports, source: o.source });
    for (const id of (o.data.otherConfig['ovs-host-setup'] ?? '').split(',')) {
      const n = Number(id.replace(/"/g, '').trim());
      if (Number.isInteger(n) && n > 0) v.selfIds.add(n);
    }
    for (const p of ports ?? []) {
      const pm = PORT_RE.exec(p);
      if (pm && !v.tunnels.has(p)) v.tunnels.set(p, { name: p, key: Number(pm[1]), from: Number(pm[2]), to: Number(pm[3]), bridge: o.data.name, source: o.source });
    }
  }
  for (const o of obs.get('ovs.interface')) {
    const pm = PORT_RE.exec(o.data.name);
    if (!pm) continue;
    const v = get(o.host ?? '');
    const prev = v.tunnels.get(o.data.name);
    v.tunnels.set(o.data.name, {
      name: o.data.name,
      key: Number(pm[1]),
      from: Number(pm[2]),
      to: Number(pm[3]),
      bridge: o.data.bridge ?? prev?.bridge ?? `OVSTunnel${pm[1]}`,
      remoteIp: o.data.options.remote_ip ?? prev?.remoteIp,
      source: o.source,
    });
  }
  for (const v of hosts.values()) for (const t of v.tunnels.values()) v.selfIds.add(t.from);
  return hosts;
}

export function analyzeStaleOvsBridges(obs: ObservationReader, cfg: StaleOvsBridgeConfig, _ctx: AnalyzerContext): Finding[] {
  const view = viewOf(obs);
  if (view.size === 0) return [];
  const nets = listingsComplete(obs, 'cloudstack', /network/i, 'network');
  if (!nets.ok) return [];

  const networks = obs.get('cloudstack.network');
  const liveKeys = new Map<number, string[]>();
  for (const n of networks) {
    const k = greKeyOfUri(n.data.broadcasturi);
    if (k === undefined || GONE_STATES.has((n.data.state ?? '').toLowerCase())) continue;
    liveKeys.set(k, [...(liveKeys.get(k) ?? []), `${n.data.name ?? n.data.id} (${n.data.state ?? '?'})`]);
  }

  // Hosts: numeric ids of live hosts (via host name) and their addresses.
  const hostsOk = listingsComplete(obs, 'cloudstack', /host/i, 'host').ok;
  const csHosts = (obs.get('cloudstack.host') as readonly { data: { name?: string; ipaddress?: string; type?: string } }[]).map((o) => o.data);
  const csNames = new Set(csHosts.map((h) => (h.name ?? '').toLowerCase()));
  const csIps = new Set(csHosts.map((h) => h.ipaddress).filter((x): x is string => Boolean(x)));
  const liveIds = new Set<number>();
  for (const [h, v] of view) if (csNames.has(h.toLowerCase())) for (const id of v.selfIds) liveIds.add(id);
  const ipMatchingWorks = [...view.values()].some((v) => [...v.tunnels.values()].some((t) => t.remoteIp !== undefined && csIps.has(t.remoteIp)));

  const findings: Finding[] = [];
  const listed = `${networks.length} CloudStack networks listed`;
  for (const [host, v] of view) {
    const keys = new Set<number>([...[...v.bridges.values()].map((b) => b.key), ...[...v.tunnels.values()].map((t) => t.key)]);
    for (const key of [...keys].sort((a, b) => a - b)) {
      const bridge = `OVSTunnel${key}`;
      const br = v.bridges.get(bridge);
      const tunnels = [...v.tunnels.values()].filter((t) => t.key === key).sort((a, b) => a.name.localeCompare(b.name));
      const brEvidence: Evidence[] = br
        ? [{ source: br.source, excerpt: `bridge ${bridge} other_config=${JSON.stringify(br.otherConfig)}${br.ports ? ` ports=${br.ports.join(',')}` : ''}` }]
        : [];
      const tunEvidence: Evidence[] = tunnels.map((t) => ({ source: t.source, excerpt: `tunnel port ${t.name} on ${t.bridge}: key ${t.key}, from host id ${t.from} to host id ${t.to}${t.remoteIp ? `, remote_ip ${t.remoteIp}` : ''}` }));

      if (!liveKeys.has(key)) {
        findings.push(
          makeFinding({
            kind: KIND,
            severity: cfg.severity,
            host: host || undefined,
            subject: { bridge, key },
            summary: `${bridge}${br ? '' : ' (tunnel ports only)'} on ${host || 'this host'} belongs to GRE key ${key}, but no CloudStack network holds vswitch://${key}: left over from a network that was shut down${tunnels.length ? ` (${tunnels.length} tunnel port(s))` : ''}`,
            metrics: { tunnelPorts: tunnels.length },
            evidence: [...brEvidence, ...tunEvidence, { source: 'cloudstack listNetworks', excerpt: `no network with broadcasturi vswitch://${key} among ${listed} (states Shutdown/Allocated/Destroy hold none)` }],
          }),
        );
        continue;
      }
      // Live network: VM placement from the bridge's own ports.
      if (cfg.checkVmPlacement && br?.ports) {
        const vmPorts = br.ports.filter((p) => p !== bridge && !PORT_RE.test(p));
        if (vmPorts.length === 0) {
          findings.push(
            makeFinding({
              kind: KIND,
              severity: cfg.severity,
              host: host || undefined,
              subject: { bridge, key },
              summary: `${bridge} on ${host || 'this host'} has no VM port although network ${liveKeys.get(key)!.join(', ')} is live: CloudStack tears the bridge down when the last VM of the network leaves a host`,
              metrics: { tunnelPorts: tunnels.length, vmPorts: 0 },
              evidence: [...brEvidence, ...tunEvidence, { source: 'cloudstack listNetworks', excerpt: `vswitch://${key} is held by ${liveKeys.get(key)!.join(', ')}` }],
            }),
          );
          continue;
        }
      }
      // Tunnel ports to hosts that no longer exist.
      if (!hostsOk || csHosts.length === 0) continue;
      for (const t of tunnels) {
        if (liveIds.has(t.to)) continue;
        if (t.remoteIp === undefined || csIps.has(t.remoteIp) || !ipMatchingWorks) continue;
        findings.push(
          makeFinding({
            kind: KIND,
            severity: cfg.severity,
            host: host || undefined,
            subject: { bridge: t.bridge, key, port: t.name },
            summary: `tunnel port ${t.name} on ${host || 'this host'} points to CloudStack host id ${t.to} (${t.remoteIp}), which is no longer a CloudStack host`,
            metrics: { tunnelPorts: 1, peerHostId: t.to },
            evidence: [
              { source: t.source, excerpt: `tunnel port ${t.name} on ${t.bridge}: from host id ${t.from} to host id ${t.to}, remote_ip ${t.remoteIp}` },
              {
                source: 'cloudstack listHosts',
                excerpt: `host id ${t.to} is none of the ids known for live hosts (${[...liveIds].sort((a, b) => a - b).join(', ') || 'none'}), and ${t.remoteIp} is the address of none of ${csHosts.length} CloudStack hosts`,
              },
            ],
          }),
        );
      }
    }
  }
  return findings;
}
