/**
 * The drop flows CloudStack installs on purpose (reference/cloudstack.md §5.4 A–E). This is the one
 * list `flow_drop` consults; the config key `analyzers.flow_drop.intentional` replaces it and
 * `extraIntentional` adds to it. A pattern matches a drop flow when every given condition holds:
 *   bridge            regular expression over the bridge name, or (when given)
 *   bridgeOtherConfig the bridge's OVSDB other_config has one of these `key` / `key=value` entries
 *                     (XenServer names the OVS bridge xapiN after the xapi network, so only
 *                     other_config tells a CloudStack bridge there)
 *   tables            the flow's table is one of these
 *   priority          exact priority, or priorityMin..priorityMax
 *   match             match fields that must be present: `name` or `name=value` (`name=*` any value),
 *                     after normalisation (eth_dst → dl_dst, dl_type=0x86dd → ipv6, ...)
 *   exact             (default true) the flow matches on nothing beyond `match`
 *   inPort: tunnel    `in_port` must be one of the bridge's tunnel ports (GRE/VXLAN/… or a
 *                     `t<key>-<from>-<to>` port) when the port map says what it is; a broadcast drop
 *                     on a VM's port is not CloudStack's
 *
 * Checked against the CloudStack sources (apache/cloudstack):
 * - A: `scripts/vm/network/vnet/ovstunnel.py` create_tunnel (KVM) and the XenServer
 *   `cloudstack_pluginlib.create_tunnel`: per tunnel port, `priority=1000,in_port=<tun>,
 *   dl_dst=ff:ff:ff:ff:ff:ff,actions=drop` and `priority=1000,in_port=<tun>,nw_dst=224.0.0.0/24,
 *   actions=drop` (`_build_flow_expr` adds `,ip`); both KVM and XenServer set other_config:gre_key.
 * - B: `scripts/vm/hypervisor/xenserver/ovs-vif-flows.py` apply_flows: priority 1100
 *   `dl_dst=ff:ff:ff:ff:ff:ff` / `nw_dst=224.0.0.0/24` with `output:<vif>,...`, table 0 — an
 *   empty VIF list leaves an empty action list, which OVS prints as `drop`.
 * - C: XenServer `ovstunnel` block_ipv6_v5/v6: `priority=65000,dl_type=0x86dd` / `ipv6`, `drop`
 *   (the call is commented out in current versions).
 * - D: XenServer `ovstunnel` setup_ovs_bridge_for_distributed_routing and cloudstack_pluginlib:
 *   table 2 (L2 flood) and table 5 (ingress ACL) `priority=0,actions=drop`; ACL items at priority
 *   1000+number in tables 3 (egress) and 5 (ingress) with `actions=drop` for deny; flood rules
 *   `cookie=111,table=2,priority=1100,in_port=<port>` whose output list is empty when no local VIF
 *   of the tier is left (update_flooding_rules_on_port_plug_unplug / add_flooding_rules_for_port);
 *   the DR bridge carries other_config topology-/route-policy-update-sequence-number. The KVM copy
 *   of this code in ovstunnel.py cannot run (its __main__ passes undefined names) and the KVM
 *   `_build_flow_expr` never appends `table=`, so on KVM these patterns should not be needed.
 * - E: `scripts/vm/network/ovs-pvlan-kvm-vm.sh` "Security101": `table=1,priority=0,actions=drop`.
 */
import { z } from 'zod';
import type { FlowEntry, MatchField } from '../../collectors/ovs/parse.js';

export const intentionalPatternSchema = z
  .object({
    id: z.string().min(1),
    why: z.string().default(''),
    bridge: z
      .string()
      .refine((src) => {
        try {
          new RegExp(src);
          return true;
        } catch {
          return false;
        }
      }, 'not a valid regular expression')
      .optional(),
    tables: z.array(z.number().int().min(0)).optional(),
    priority: z.number().int().optional(),
    priorityMin: z.number().int().optional(),
    priorityMax: z.number().int().optional(),
    bridgeOtherConfig: z.array(z.string().min(1)).optional(),
    match: z.array(z.string()).default([]),
    exact: z.boolean().default(true),
    inPort: z.enum(['tunnel']).optional(),
  })
  .strict();

export type IntentionalPattern = z.infer<typeof intentionalPatternSchema>;

const TUNNEL_BRIDGES = '^(OVSTunnel\\d+|OVS-DR-VPC-Bridge\\d+)$';
const DR_BRIDGE = '^OVS-DR-VPC-Bridge\\d+$';
/** other_config keys CloudStack sets on its bridges (ovstunnel setup_ovs_bridge*, both hypervisors). */
const TUNNEL_CONFIG = ['gre_key', 'is-ovs-tun-network=true', 'is-ovs_vpc_distributed_vr_network=true', 'topology-update-sequence-number', 'route-policy-update-sequence-number'];
const DR_CONFIG = ['is-ovs_vpc_distributed_vr_network=true', 'topology-update-sequence-number', 'route-policy-update-sequence-number'];

export const DEFAULT_INTENTIONAL: IntentionalPattern[] = [
  { id: 'tunnel-ingress-broadcast', why: '§5.4 A/D: ovstunnel create_tunnel drops broadcast arriving from the GRE mesh', bridge: TUNNEL_BRIDGES, bridgeOtherConfig: TUNNEL_CONFIG, tables: [0], priority: 1000, match: ['in_port=*', 'dl_dst=ff:ff:ff:ff:ff:ff'], exact: true, inPort: 'tunnel' },
  { id: 'tunnel-ingress-multicast', why: '§5.4 A/D: ovstunnel create_tunnel drops 224.0.0.0/24 arriving from the GRE mesh', bridge: TUNNEL_BRIDGES, bridgeOtherConfig: TUNNEL_CONFIG, tables: [0], priority: 1000, match: ['in_port=*', 'ip', 'nw_dst=224.0.0.0/24'], exact: true, inPort: 'tunnel' },
  { id: 'xen-vif-broadcast-no-local-vif', why: '§5.4 B: XenServer ovs-vif-flows.py flood rule with no local VIF left prints as drop', bridge: '^OVSTunnel\\d+$', bridgeOtherConfig: ['gre_key', 'is-ovs-tun-network=true'], tables: [0], priority: 1100, match: ['dl_dst=ff:ff:ff:ff:ff:ff'], exact: true },
  { id: 'xen-vif-multicast-no-local-vif', why: '§5.4 B: as above for 224.0.0.0/24', bridge: '^OVSTunnel\\d+$', bridgeOtherConfig: ['gre_key', 'is-ovs-tun-network=true'], tables: [0], priority: 1100, match: ['ip', 'nw_dst=224.0.0.0/24'], exact: true },
  { id: 'ipv6-block', why: '§5.4 C: older XenServer ovstunnel blocks IPv6 at priority 65000', priority: 65000, match: ['ipv6'], exact: true },
  { id: 'dr-vpc-l2-flood-default', why: '§5.4 D: distributed-routing bridge, table 2 (L2_FLOOD) default drop', bridge: DR_BRIDGE, bridgeOtherConfig: DR_CONFIG, tables: [2], priority: 0, match: [], exact: true },
  { id: 'dr-vpc-flood-no-local-vif', why: '§5.4 D: distributed-routing flood rule (cookie 111, table 2, priority 1100) of a port whose tier has no local VIF left: empty output list', bridge: DR_BRIDGE, bridgeOtherConfig: DR_CONFIG, tables: [2], priority: 1100, match: ['in_port=*'], exact: true },
  { id: 'dr-vpc-ingress-acl-default', why: '§5.4 D: distributed-routing bridge, table 5 (INGRESS_ACL) default drop', bridge: DR_BRIDGE, bridgeOtherConfig: DR_CONFIG, tables: [5], priority: 0, match: [], exact: true },
  { id: 'dr-vpc-acl-deny', why: '§5.4 D: network ACL deny items, priority 1000 + item number, tables 3 and 5 (user policy)', bridge: DR_BRIDGE, bridgeOtherConfig: DR_CONFIG, tables: [3, 5], priorityMin: 1001, priorityMax: 65535, match: [], exact: false },
  { id: 'pvlan-default-deny', why: '§5.4 E: ovs-pvlan-kvm-vm.sh table 1 priority 0 default deny ("Security101")', tables: [1], priority: 0, match: [], exact: true },
];

const NAME_ALIASES: Record<string, string> = {
  eth_dst: 'dl_dst',
  eth_src: 'dl_src',
  eth_type: 'dl_type',
  ip_dst: 'nw_dst',
  ip_src: 'nw_src',
  ipv4_dst: 'nw_dst',
  ipv4_src: 'nw_src',
  in_port_oxm: 'in_port',
};
const DL_TYPES: Record<string, string> = { '0x0800': 'ip', '0x800': 'ip', '0x86dd': 'ipv6', '0x0806': 'arp', '0x806': 'arp' };

/** Match fields with aliases folded: `dl_type=0x86dd` → `ipv6`, `eth_dst` → `dl_dst`. */
export function normaliseFields(fields: readonly MatchField[]): { name: string; value?: string }[] {
  return fields.map((f) => {
    const name = NAME_ALIASES[f.name] ?? f.name;
    if (name === 'dl_type' && f.value && DL_TYPES[f.value.toLowerCase()]) return { name: DL_TYPES[f.value.toLowerCase()]! };
    if (f.value === undefined) return { name };
    return { name, value: (f.mask ? `${f.value}/${f.mask}` : f.value).toLowerCase() };
  });
}

/** What a pattern may ask about the bridge beyond its name (from OVSDB and the port map). */
export interface BridgeFacts {
  name: string;
  otherConfig?: Record<string, string>;
  /** Whether an `in_port` value (number or name) is a tunnel port; undefined when unknown. */
  inPortIsTunnel?(value: string): boolean | undefined;
}

const regexCache = new Map<string, RegExp>();
const regex = (src: string): RegExp => regexCache.get(src) ?? regexCache.set(src, new RegExp(src)).get(src)!;

function bridgeMatches(b: BridgeFacts, p: IntentionalPattern): boolean {
  if (p.bridge === undefined && p.bridgeOtherConfig === undefined) return true;
  if (p.bridge !== undefined && regex(p.bridge).test(b.name)) return true;
  if (p.bridgeOtherConfig && b.otherConfig) {
    const oc = b.otherConfig;
    return p.bridgeOtherConfig.some((e) => {
      const eq = e.indexOf('=');
      if (eq === -1) return oc[e] !== undefined;
      const v = oc[e.slice(0, eq)];
      return v !== undefined && v.replace(/^"|"$/g, '').toLowerCase() === e.slice(eq + 1).toLowerCase();
    });
  }
  return false;
}

export function matchesPattern(bridge: string | BridgeFacts, flow: FlowEntry, p: IntentionalPattern): boolean {
  const b = typeof bridge === 'string' ? { name: bridge } : bridge;
  if (!bridgeMatches(b, p)) return false;
  if (p.tables && !p.tables.includes(flow.table)) return false;
  if (p.priority !== undefined && flow.priority !== p.priority) return false;
  if (p.priorityMin !== undefined && flow.priority < p.priorityMin) return false;
  if (p.priorityMax !== undefined && flow.priority > p.priorityMax) return false;
  const fields = normaliseFields(flow.fields);
  const required = p.match.map((m) => {
    const eq = m.indexOf('=');
    return eq === -1 ? { name: m } : { name: m.slice(0, eq), value: m.slice(eq + 1).toLowerCase() };
  });
  for (const r of required) {
    const ok = fields.some((f) => f.name === r.name && (r.value === undefined || r.value === '*' ? true : f.value === r.value));
    if (!ok) return false;
  }
  if (p.exact) {
    for (const f of fields) if (!required.some((r) => r.name === f.name)) return false;
  }
  if (p.inPort === 'tunnel') {
    const inPort = flow.fields.find((f) => f.name === 'in_port')?.value;
    if (inPort !== undefined && b.inPortIsTunnel?.(inPort) === false) return false;
  }
  return true;
}

/** The first intentional pattern a drop flow matches, if any. */
export function intentionalDrop(bridge: string | BridgeFacts, flow: FlowEntry, patterns: readonly IntentionalPattern[]): IntentionalPattern | undefined {
  return patterns.find((p) => matchesPattern(bridge, flow, p));
}
