/**
 * Encapsulation overhead against the underlay IP MTU: outer IP + tunnel headers + inner Ethernet
 * (+4 per inner 802.1Q tag). Figures from reference/peers.md §4.6:
 *   GRE/TEB with key 42 (38 without key, +4 checksum, +4 sequence); VXLAN 50; Geneve 50 + options;
 *   STT 72 = IP 20 + TCP-like 20 + STT header 18 + inner Ethernet 14 (the first segment of a
 *   frame carries the STT header; later segments only 40). IPv6 outer adds 20 to each.
 */
export type Encapsulation = 'gre' | 'vxlan' | 'geneve' | 'stt';

export interface OverheadOptions {
  ipv6?: boolean;
  /** GRE: whether a key is configured (CloudStack always sets one). Default true. */
  greKey?: boolean;
  /** GRE: checksum / sequence fields. */
  greChecksum?: boolean;
  greSequence?: boolean;
  /** Geneve option bytes (multiple of 4). */
  geneveOptions?: number;
  /** Inner 802.1Q tags carried inside the tunnel. */
  innerVlanTags?: number;
}

export function encapOverhead(encap: Encapsulation, o: OverheadOptions = {}): number {
  const ip = o.ipv6 ? 40 : 20;
  const inner = 14 + 4 * (o.innerVlanTags ?? 0);
  switch (encap) {
    case 'gre':
      return ip + 4 + ((o.greKey ?? true) ? 4 : 0) + (o.greChecksum ? 4 : 0) + (o.greSequence ? 4 : 0) + inner;
    case 'vxlan':
      return ip + 8 + 8 + inner;
    case 'geneve':
      return ip + 8 + 8 + (o.geneveOptions ?? 0) + inner;
    case 'stt':
      return ip + 20 + 18 + inner;
  }
}

export function isEncapsulation(s: string): s is Encapsulation {
  return s === 'gre' || s === 'vxlan' || s === 'geneve' || s === 'stt';
}
