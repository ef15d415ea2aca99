/**
 * Ground truth for capture tests, from tshark on the same file (reassembly off, Linux's VXLAN
 * port 8472 decoded as VXLAN too): per tunnel (type, key, outer src, outer dst) the packets,
 * outer and inner fragments, ICMP frag-needed / Packet Too Big with their MTUs, largest frame.
 * Non-first fragments carry no tunnel header: they are tied to their first fragment by
 * (src, dst, proto, IP id) — what a human does reading tshark's output. Pitfalls handled here
 * (reference/lab-notes.md): tshark's `ip.*` fields hold every IP layer (outer, inner, quoted), so
 * each field is read at the layer index it belongs to.
 */
import { runCommand } from '../../core/exec.js';

export interface TruthTunnel {
  type: 'vxlan' | 'gre' | 'geneve';
  key?: number;
  src: string;
  dst: string;
  packets: number;
  outerFragments: number;
  innerFragments: number;
  icmpFragNeeded: number;
  packetTooBig: number;
  advertisedMtus: number[];
  largestFrame: number;
  vlanTagged: number;
}

const FIELDS = [
  'frame.len', 'frame.protocols', 'ip.flags.mf', 'ip.frag_offset', 'ip.id', 'ip.proto', 'ip.src', 'ip.dst',
  'ipv6.src', 'ipv6.dst', 'ipv6.fraghdr.offset', 'ipv6.fraghdr.more', 'ipv6.fraghdr.ident', 'ipv6.nxt',
  'vxlan.vni', 'gre.key', 'geneve.vni', 'icmp.type', 'icmp.code', 'icmp.mtu', 'icmpv6.type', 'icmpv6.mtu', 'vlan.id',
] as const;

export async function tsharkTruth(file: string): Promise<{ tunnels: Map<string, TruthTunnel>; fragmentsTotal: number; frames: number }> {
  const args = ['-r', file, '-n', '-o', 'ip.defragment:FALSE', '-o', 'ipv6.defragment:FALSE', '-d', 'udp.port==8472,vxlan', '-T', 'fields', '-E', 'separator=|', '-E', 'occurrence=a'];
  for (const f of FIELDS) args.push('-e', f);
  const { stdout } = await runCommand('tshark', args, { timeoutMs: 60_000, maxBytes: 64 * 1024 * 1024 });
  const tunnels = new Map<string, TruthTunnel>();
  const firstFrag = new Map<string, TruthTunnel>();
  let fragmentsTotal = 0;
  let frames = 0;
  const get = (t: Omit<TruthTunnel, 'packets' | 'outerFragments' | 'innerFragments' | 'icmpFragNeeded' | 'packetTooBig' | 'advertisedMtus' | 'largestFrame' | 'vlanTagged'>) => {
    const k = `${t.type}|${t.key ?? ''}|${t.src}|${t.dst}`;
    let x = tunnels.get(k);
    if (!x) tunnels.set(k, (x = { ...t, packets: 0, outerFragments: 0, innerFragments: 0, icmpFragNeeded: 0, packetTooBig: 0, advertisedMtus: [], largestFrame: 0, vlanTagged: 0 }));
    return x;
  };
  for (const line of stdout.split('\n')) {
    if (!line) continue;
    frames++;
    const cols = line.split('|');
    const f: Record<string, string[]> = {};
    FIELDS.forEach((name, i) => (f[name] = cols[i] ? cols[i]!.split(',') : []));
    const protos = f['frame.protocols']![0]!.split(':');
    const v4 = protos.indexOf('ip');
    const v6 = protos.indexOf('ipv6');
    if (v4 < 0 && v6 < 0) continue;
    const outer6 = v6 >= 0 && (v4 < 0 || v6 < v4);
    const frameLen = Number(f['frame.len']![0]);
    const vlan = f['vlan.id']!.length > 0;
    // The outer header's fields are the first occurrence of their family.
    let src: string, dst: string, fragment: boolean, first: boolean, fragKey: string;
    if (!outer6) {
      const mf = f['ip.flags.mf']![0] === '1' || f['ip.flags.mf']![0] === 'True';
      const off = Number(f['ip.frag_offset']![0] ?? 0);
      src = f['ip.src']![0]!;
      dst = f['ip.dst']![0]!;
      fragment = mf || off > 0;
      first = off === 0;
      fragKey = `4|${src}|${dst}|${f['ip.proto']![0]}|${f['ip.id']![0]}`;
    } else {
      src = f['ipv6.src']![0]!;
      dst = f['ipv6.dst']![0]!;
      // A fragment header directly in the outer IPv6 (the only place the lab puts one).
      const hasFrag = protos[v6 + 1] === 'ipv6.fraghdr';
      fragment = hasFrag;
      first = !hasFrag || Number(f['ipv6.fraghdr.offset']![0] ?? 0) === 0;
      fragKey = `6|${src}|${dst}|${f['ipv6.fraghdr.ident']![0] ?? ''}`;
    }
    if (fragment) fragmentsTotal++;
    // ICMP errors about a tunnel packet: the quoted header is the next IP layer.
    const icmp4 = !outer6 && f['icmp.type']![0] === '3' && f['icmp.code']![0] === '4';
    const icmp6 = outer6 && protos[v6 + 1] === 'icmpv6' && f['icmpv6.type']![0] === '2';
    if (icmp4 || icmp6) {
      const quotedTunnel = tunnelOf(protos, f);
      if (!quotedTunnel) continue;
      const qsrc = icmp4 ? f['ip.src']![1]! : f['ipv6.src']![1]!;
      const qdst = icmp4 ? f['ip.dst']![1]! : f['ipv6.dst']![1]!;
      const t = get({ ...quotedTunnel, src: qsrc, dst: qdst });
      if (icmp4) t.icmpFragNeeded++;
      else t.packetTooBig++;
      const mtu = Number(icmp4 ? f['icmp.mtu']![0] : f['icmpv6.mtu']![0]);
      if (!t.advertisedMtus.includes(mtu)) t.advertisedMtus.push(mtu);
      t.advertisedMtus.sort((a, b) => a - b);
      continue;
    }
    let t: TruthTunnel | undefined;
    // A tunnel packet: the outer IP carries UDP, GRE or TCP (not an ICMP error quoting a tunnel).
    const outerIdx = outer6 ? v6 : v4;
    const next = protos.slice(outerIdx + 1).find((p) => !p.startsWith('ipv6.'));
    const tun = first && (next === 'udp' || next === 'gre' || next === 'tcp') ? tunnelOf(protos, f) : undefined;
    if (tun) {
      t = get({ ...tun, src, dst });
      if (fragment) firstFrag.set(fragKey, t);
      // The inner IPv4 header: the IPv4 layer after the outer one.
      const innerIdx = outer6 ? 0 : 1;
      const imf = f['ip.flags.mf']![innerIdx];
      const ioff = Number(f['ip.frag_offset']![innerIdx] ?? 0);
      if (imf === '1' || imf === 'True' || ioff > 0) t.innerFragments++;
    } else if (fragment && !first) t = firstFrag.get(fragKey);
    if (!t) continue;
    t.packets++;
    if (fragment) t.outerFragments++;
    if (vlan) t.vlanTagged++;
    if (frameLen > t.largestFrame) t.largestFrame = frameLen;
  }
  return { tunnels, fragmentsTotal, frames };
}

function tunnelOf(protos: string[], f: Record<string, string[]>): { type: TruthTunnel['type']; key?: number } | undefined {
  if (protos.includes('vxlan')) return { type: 'vxlan', key: Number(f['vxlan.vni']![0]) };
  if (protos.includes('geneve')) return { type: 'geneve', key: Number(f['geneve.vni']![0]) };
  if (protos.includes('gre')) {
    const k = f['gre.key']![0];
    return { type: 'gre', ...(k ? { key: Number.parseInt(k, 16) } : {}) };
  }
  return undefined;
}
