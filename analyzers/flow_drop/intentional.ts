/**
 * The drop flows CloudStack installs on purpose (reference/cloudstack.md §5.4 A–E). This is the one
 * list `flow_drop` consults; the config key `analyzers.flow_drop.intentional` replaces it and
 * `extraIntentional` adds to it. A pattern matches a drop flow when every given condition holds:
 *   bridge    regular expression over the bridge name
 *   tables    the flow's table is one of these
 *   priority  exact priority, or priorityMin..priorityMax
 *   match     match fields that must be present: `name` or `name=value` (`name=*` any value),
 *             after normalisation (eth_dst → dl_dst, dl_type=0x86dd → ipv6, ...)
 *   exact     (default true) the flow matches on nothing beyond `match`
 */
import { z } from 'zod';
import type { FlowEntry, MatchField } from '../../collectors/ovs/parse.js';

export const intentionalPatternSchema = z
  .object({
    id: z.string().min(1),
    why: z.string().default(''),
    bridge: z.string().optional(),
    tables: z.array(z.number().int().min(0)).optional(),
    priority: z.number().int().optional(),
    priorityMin: z.number().int().optional(),
    priorityMax: z.number().int().optional(),
    match: z.array(z.string()).default([]),
    exact: z.boolean().default(true),
  })
  .strict();

export type IntentionalPattern = z.infer<typeof intentionalPatternSchema>;

const TUNNEL_BRIDGES = '^(OVSTunnel\\d+|OVS-DR-VPC-Bridge\\d+)$';
const DR_BRIDGE = '^OVS-DR-VPC-Bridge\\d+$';

export const DEFAULT_INTENTIONAL: IntentionalPattern[] = [
  { id: 'tunnel-ingress-broadcast', why: '§5.4 A/D: ovstunnel create_tunnel drops broadcast arriving from the GRE mesh', bridge: TUNNEL_BRIDGES, tables: [0], priority: 1000, match: ['in_port=*', 'dl_dst=ff:ff:ff:ff:ff:ff'], exact: true },
  { id: 'tunnel-ingress-multicast', why: '§5.4 A/D: ovstunnel create_tunnel drops 224.0.0.0/24 arriving from the GRE mesh', bridge: TUNNEL_BRIDGES, tables: [0], priority: 1000, match: ['in_port=*', 'ip', 'nw_dst=224.0.0.0/24'], exact: true },
  { id: 'xen-vif-broadcast-no-local-vif', why: '§5.4 B: XenServer per-VIF flood rule with no local VIF left prints as drop', bridge: '^OVSTunnel\\d+$', tables: [0], priority: 1100, match: ['dl_dst=ff:ff:ff:ff:ff:ff'], exact: true },
  { id: 'xen-vif-multicast-no-local-vif', why: '§5.4 B: as above for 224.0.0.0/24', bridge: '^OVSTunnel\\d+$', tables: [0], priority: 1100, match: ['ip', 'nw_dst=224.0.0.0/24'], exact: true },
  { id: 'ipv6-block', why: '§5.4 C: older XenServer ovstunnel blocks IPv6 at priority 65000', priority: 65000, match: ['ipv6'], exact: true },
  { id: 'dr-vpc-l2-flood-default', why: '§5.4 D: distributed-routing bridge, table 2 (L2_FLOOD) default drop', bridge: DR_BRIDGE, tables: [2], priority: 0, match: [], exact: true },
  { id: 'dr-vpc-ingress-acl-default', why: '§5.4 D: distributed-routing bridge, table 5 (INGRESS_ACL) default drop', bridge: DR_BRIDGE, tables: [5], priority: 0, match: [], exact: true },
  { id: 'dr-vpc-acl-deny', why: '§5.4 D: network ACL deny items, priority 1000 + item number, tables 3 and 5 (user policy)', bridge: DR_BRIDGE, tables: [3, 5], priorityMin: 1001, priorityMax: 65535, match: [], exact: false },
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

export function matchesPattern(bridge: string, flow: FlowEntry, p: IntentionalPattern): boolean {
  if (p.bridge !== undefined && !new RegExp(p.bridge).test(bridge)) return false;
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
  return true;
}

/** The first intentional pattern a drop flow matches, if any. */
export function intentionalDrop(bridge: string, flow: FlowEntry, patterns: readonly IntentionalPattern[]): IntentionalPattern | undefined {
  return patterns.find((p) => matchesPattern(bridge, flow, p));
}
