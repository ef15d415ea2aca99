/**
 * Packet decoding for the MTU analysis: link layer (Ethernet, 802.1Q/QinQ, LINUX_SLL, SLL2, RAW,
 * NULL, IPV4/IPV6), outer IPv4/IPv6 (fragments, DF, extension headers), tunnels (GRE with key and
 * TEB, VXLAN on 4789/8472, Geneve on 6081 with options, STT on TCP 7471), the inner frame's IP
 * fragmentation, and ICMP frag-needed / ICMPv6 Packet Too Big with the quoted header tied back to
 * the tunnel that caused it.
 *
 * Pure and allocation-free on the hot path: `decodePacket` fills a reused `Decoded`. Addresses
 * are left as offsets into the buffer; `addrKey`/`formatAddr` turn them into strings on demand.
 */

export type TunnelType = 'gre' | 'vxlan' | 'geneve' | 'stt';

export const LINKTYPE = { NULL: 0, ETHERNET: 1, RAW: 101, RAW_12: 12, RAW_14: 14, LINUX_SLL: 113, LOOP: 108, IPV4: 228, IPV6: 229, LINUX_SLL2: 276 } as const;

export const VXLAN_PORTS = [4789, 8472] as const;
export const GENEVE_PORT = 6081;
export const STT_PORT = 7471;

/** Where a tunnel was found: in the packet itself, or quoted in an ICMP error about it. */
export interface TunnelRef {
  type: TunnelType | '';
  /** GRE key, VXLAN/Geneve VNI, STT context id (low 53 bits); -1 when absent or not visible. */
  key: number;
  ipVersion: 4 | 6;
  srcOff: number;
  dstOff: number;
  /** Encapsulation overhead measured from this packet (outer IP + tunnel headers + inner L2). */
  overhead: number;
  /** Geneve option bytes, GRE optional fields. */
  optionBytes: number;
}

export interface Decoded {
  /** The packet's buffer (same as passed in). */
  buf: Buffer;
  /** 0 = no IP found (ARP, LLDP, truncated...). */
  ipVersion: 0 | 4 | 6;
  vlanTags: number;
  /** Bytes before the outer IP header. */
  l2Len: number;
  srcOff: number;
  dstOff: number;
  /** Final protocol (after IPv6 extension headers). */
  proto: number;
  ipId: number;
  df: boolean;
  /** IPv4 MF/offset or an IPv6 fragment header. */
  fragment: boolean;
  /** Fragment with offset 0 (holds the transport header). */
  firstFragment: boolean;
  fragOffset: number;
  moreFragments: boolean;
  /** Outer IP total length from the header (IPv6: 40 + payload length). */
  ipTotalLen: number;
  ipHeaderLen: number;
  /** Offset of the transport header (valid unless a non-first fragment). */
  l4Off: number;
  srcPort: number;
  dstPort: number;
  /** Tunnel carried by this packet (type '' if none or not visible). */
  tunnel: TunnelRef;
  /** The inner IP packet (inside the tunnel). */
  innerIpVersion: 0 | 4 | 6;
  innerFragment: boolean;
  innerDf: boolean;
  innerIpLen: number;
  /** STT: TCP sequence upper 16 bits = frame length, lower 16 = offset. */
  sttSegmentOffset: number;
  /** ICMP frag-needed (4) or ICMPv6 Packet Too Big (6), else 0. */
  tooBig: 0 | 4 | 6;
  tooBigMtu: number;
  /** The tunnel of the quoted original packet, when the ICMP error is about a tunnel packet. */
  quoted: TunnelRef;
  quotedProto: number;
  quotedSrcOff: number;
  quotedDstOff: number;
  quotedVersion: 0 | 4 | 6;
}

function emptyTunnel(): TunnelRef {
  return { type: '', key: -1, ipVersion: 4, srcOff: 0, dstOff: 0, overhead: 0, optionBytes: 0 };
}

export function newDecoded(): Decoded {
  return {
    buf: Buffer.alloc(0), ipVersion: 0, vlanTags: 0, l2Len: 0, srcOff: 0, dstOff: 0, proto: 0, ipId: 0, df: false, fragment: false,
    firstFragment: false, fragOffset: 0, moreFragments: false, ipTotalLen: 0, ipHeaderLen: 0, l4Off: 0, srcPort: 0, dstPort: 0,
    tunnel: emptyTunnel(), innerIpVersion: 0, innerFragment: false, innerDf: false, innerIpLen: 0, sttSegmentOffset: 0,
    tooBig: 0, tooBigMtu: 0, quoted: emptyTunnel(), quotedProto: 0, quotedSrcOff: 0, quotedDstOff: 0, quotedVersion: 0,
  };
}

function resetTunnel(t: TunnelRef): void {
  t.type = '';
  t.key = -1;
  t.overhead = 0;
  t.optionBytes = 0;
}

/** A compact map key for an address (latin1 of its bytes). */
export function addrKey(buf: Buffer, off: number, version: 4 | 6): string {
  return buf.toString('latin1', off, off + (version === 4 ? 4 : 16));
}

export function formatAddr(buf: Buffer, off: number, version: 4 | 6): string {
  if (version === 4) return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push(be16(buf, off + 2 * i));
  // RFC 5952: compress the longest run (≥2) of zero words.
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

const isVlanTpid = (et: number) => et === 0x8100 || et === 0x88a8 || et === 0x9100;
/** Big-endian reads without Buffer's argument validation (callers check bounds). */
const be16 = (b: Buffer, o: number) => (b[o]! << 8) | b[o + 1]!;
const be32 = (b: Buffer, o: number) => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;

/**
 * Skip Ethernet (+ VLAN tags) at `off`; returns the offset of the payload and the ethertype via
 * the out array, or -1 when truncated.
 */
function skipEthernet(buf: Buffer, off: number, end: number, out: { etherType: number; tags: number }): number {
  if (off + 14 > end) return -1;
  let et = be16(buf, off + 12);
  let p = off + 14;
  let tags = 0;
  while (isVlanTpid(et)) {
    if (p + 4 > end) return -1;
    et = be16(buf, p + 2);
    p += 4;
    tags++;
  }
  out.etherType = et;
  out.tags = tags;
  return p;
}

const IPV6_EXT = new Set([0, 43, 60, 51, 135, 139, 140]);

/** Parsed IP header fields shared by outer, inner and quoted headers. */
interface IpInfo {
  version: 0 | 4 | 6;
  headerLen: number;
  totalLen: number;
  proto: number;
  id: number;
  df: boolean;
  mf: boolean;
  fragOffset: number;
  fragment: boolean;
  l4Off: number;
  srcOff: number;
  dstOff: number;
}

const scratchIp: IpInfo = { version: 0, headerLen: 0, totalLen: 0, proto: 0, id: 0, df: false, mf: false, fragOffset: 0, fragment: false, l4Off: 0, srcOff: 0, dstOff: 0 };

/** Parse an IPv4/IPv6 header at `off` into `ip`; false when not IP or truncated. */
function parseIp(buf: Buffer, off: number, end: number, ip: IpInfo, version?: number): boolean {
  if (off + 1 > end) return false;
  const v = version ?? buf[off]! >> 4;
  if (v === 4) {
    if (off + 20 > end) return false;
    const ihl = (buf[off]! & 0x0f) * 4;
    if (ihl < 20) return false;
    ip.version = 4;
    ip.headerLen = ihl;
    ip.totalLen = be16(buf, off + 2);
    ip.id = be16(buf, off + 4);
    const ff = be16(buf, off + 6);
    ip.df = (ff & 0x4000) !== 0;
    ip.mf = (ff & 0x2000) !== 0;
    ip.fragOffset = (ff & 0x1fff) * 8;
    ip.fragment = ip.mf || ip.fragOffset !== 0;
    ip.proto = buf[off + 9]!;
    ip.srcOff = off + 12;
    ip.dstOff = off + 16;
    ip.l4Off = off + ihl;
    return true;
  }
  if (v === 6) {
    if (off + 40 > end) return false;
    ip.version = 6;
    ip.totalLen = 40 + be16(buf, off + 4);
    ip.srcOff = off + 8;
    ip.dstOff = off + 24;
    ip.df = true; // IPv6 routers never fragment
    ip.mf = false;
    ip.fragOffset = 0;
    ip.fragment = false;
    ip.id = 0;
    let next = buf[off + 6]!;
    let p = off + 40;
    for (let n = 0; n < 8; n++) {
      if (next === 44) {
        if (p + 8 > end) break;
        const fo = be16(buf, p + 2);
        ip.fragOffset = fo & 0xfff8;
        ip.mf = (fo & 1) !== 0;
        ip.fragment = true;
        ip.id = be32(buf, p + 4);
        next = buf[p]!;
        p += 8;
        if (ip.fragOffset !== 0) break; // the rest is not a header
        continue;
      }
      if (!IPV6_EXT.has(next)) break;
      if (p + 2 > end) break;
      const hlen = next === 51 ? (buf[p + 1]! + 2) * 4 : (buf[p + 1]! + 1) * 8;
      next = buf[p]!;
      p += hlen;
    }
    ip.proto = next;
    ip.headerLen = p - off;
    ip.l4Off = p;
    return true;
  }
  return false;
}

const ethOut = { etherType: 0, tags: 0 };

/** Where the outer IP starts for a link type; -1 if not IP or truncated; sets ethOut.tags. */
const lp = { off: 0, ipv: 0 };
function setLp(off: number, ipv: number): typeof lp {
  lp.off = off;
  lp.ipv = ipv;
  return lp;
}
function linkPayload(buf: Buffer, off: number, end: number, linkType: number): typeof lp {
  ethOut.tags = 0;
  switch (linkType) {
    case LINKTYPE.ETHERNET: {
      const p = skipEthernet(buf, off, end, ethOut);
      return setLp(p, ethOut.etherType === 0x0800 ? 4 : ethOut.etherType === 0x86dd ? 6 : 0);
    }
    case LINKTYPE.LINUX_SLL: {
      if (off + 16 > end) return setLp(-1, 0);
      let et = be16(buf, off + 14);
      let p = off + 16;
      while (isVlanTpid(et) && p + 4 <= end) {
        et = be16(buf, p + 2);
        p += 4;
        ethOut.tags++;
      }
      return setLp(p, et === 0x0800 ? 4 : et === 0x86dd ? 6 : 0);
    }
    case LINKTYPE.LINUX_SLL2: {
      if (off + 20 > end) return setLp(-1, 0);
      let et = be16(buf, off);
      let p = off + 20;
      while (isVlanTpid(et) && p + 4 <= end) {
        et = be16(buf, p + 2);
        p += 4;
        ethOut.tags++;
      }
      return setLp(p, et === 0x0800 ? 4 : et === 0x86dd ? 6 : 0);
    }
    case LINKTYPE.RAW:
    case LINKTYPE.RAW_12:
    case LINKTYPE.RAW_14:
      return setLp(off, off < end ? buf[off]! >> 4 : 0);
    case LINKTYPE.IPV4:
      return setLp(off, 4);
    case LINKTYPE.IPV6:
      return setLp(off, 6);
    case LINKTYPE.NULL:
    case LINKTYPE.LOOP: {
      if (off + 4 > end) return setLp(-1, 0);
      // The family is in the writer's byte order: try both. AF_INET = 2; AF_INET6 = 10, 24, 28, 30.
      const a = buf.readUInt32LE(off);
      const b = be32(buf, off);
      const fam = a < 0x10000 ? a : b;
      return setLp(off + 4, fam === 2 ? 4 : fam === 10 || fam === 24 || fam === 28 || fam === 30 ? 6 : 0);
    }
    default:
      return setLp(-1, 0);
  }
}

const innerIp: IpInfo = { ...scratchIp };

/**
 * Decode a tunnel header at `l4Off` (the outer transport header) into `t`, and the inner frame's
 * IP into `d.inner*` when `d` is given. Returns false when the packet is no tunnel.
 */
function decodeTunnel(buf: Buffer, proto: number, l4Off: number, end: number, ipHeaderBytes: number, t: TunnelRef, d: Decoded | null): boolean {
  let innerOff = -1;
  let innerIsEth = true;
  let innerIpv = 0;
  if (proto === 47) {
    if (l4Off + 4 > end) return false;
    const flags = be16(buf, l4Off);
    if ((flags & 0x7) !== 0) return false; // GRE version 0 only (v1 is PPTP)
    const ptype = be16(buf, l4Off + 2);
    let h = 4;
    if (flags & 0x8000) h += 4;
    let key = -1;
    if (flags & 0x2000) {
      if (l4Off + h + 4 <= end) key = be32(buf, l4Off + h);
      h += 4;
    }
    if (flags & 0x1000) h += 4;
    t.type = 'gre';
    t.key = key;
    t.optionBytes = h - 4;
    if (ptype === 0x6558) innerIsEth = true;
    else if (ptype === 0x0800 || ptype === 0x86dd) {
      innerIsEth = false;
      innerIpv = ptype === 0x0800 ? 4 : 6;
    } else innerIsEth = true;
    t.overhead = ipHeaderBytes + h + (ptype === 0x6558 ? 14 : 0);
    innerOff = l4Off + h;
  } else if (proto === 17) {
    if (l4Off + 8 > end) return false;
    const dport = be16(buf, l4Off + 2);
    if (dport === 4789 || dport === 8472) {
      t.type = 'vxlan';
      t.key = l4Off + 16 <= end ? be32(buf, l4Off + 12) >>> 8 : -1;
      t.optionBytes = 0;
      t.overhead = ipHeaderBytes + 8 + 8 + 14;
      innerOff = l4Off + 16;
    } else if (dport === GENEVE_PORT) {
      t.type = 'geneve';
      let optLen = 0;
      let ptype = 0x6558;
      if (l4Off + 16 <= end) {
        optLen = (buf[l4Off + 8]! & 0x3f) * 4;
        ptype = be16(buf, l4Off + 10);
        t.key = be32(buf, l4Off + 12) >>> 8;
      } else t.key = -1;
      t.optionBytes = optLen;
      t.overhead = ipHeaderBytes + 8 + 8 + optLen + (ptype === 0x6558 ? 14 : 0);
      innerOff = l4Off + 16 + optLen;
      innerIsEth = ptype === 0x6558;
      if (!innerIsEth) innerIpv = ptype === 0x0800 ? 4 : ptype === 0x86dd ? 6 : 0;
    } else return false;
  } else if (proto === 6) {
    if (l4Off + 20 > end) return false;
    if (be16(buf, l4Off + 2) !== STT_PORT) return false;
    const tcpLen = (buf[l4Off + 12]! >> 4) * 4;
    const seqOffset = be16(buf, l4Off + 6);
    t.type = 'stt';
    t.optionBytes = 0;
    if (d) d.sttSegmentOffset = seqOffset;
    const stt = l4Off + tcpLen;
    // The 18-byte STT header (version, flags, L4 offset, reserved, MSS, VLAN TCI, 64-bit context
    // id, 2 bytes padding) and the inner Ethernet are only in a frame's first segment.
    t.overhead = ipHeaderBytes + tcpLen + 18 + 14;
    if (seqOffset === 0 && stt + 18 <= end) {
      const hi = be32(buf, stt + 8);
      const lo = be32(buf, stt + 12);
      t.key = (hi & 0x1fffff) * 2 ** 32 + lo;
      innerOff = stt + 18;
    } else t.key = -1;
  } else return false;
  if (!d || innerOff < 0) return true;
  let ipOff = innerOff;
  if (innerIsEth) {
    const p = skipEthernet(buf, innerOff, end, ethOut);
    if (p < 0) return true;
    if (ethOut.tags) t.overhead += 4 * ethOut.tags;
    innerIpv = ethOut.etherType === 0x0800 ? 4 : ethOut.etherType === 0x86dd ? 6 : 0;
    ipOff = p;
  }
  if (innerIpv && parseIp(buf, ipOff, end, innerIp, innerIpv)) {
    d.innerIpVersion = innerIp.version;
    d.innerFragment = innerIp.fragment;
    d.innerDf = innerIp.version === 4 ? innerIp.df : false;
    d.innerIpLen = innerIp.totalLen;
  }
  return true;
}

const quotedIp: IpInfo = { ...scratchIp };

/**
 * Decode one captured packet. `off`/`capLen` delimit the captured bytes; returns `d` (ipVersion 0
 * when nothing useful was found). Never throws on malformed input.
 */
export function decodePacket(d: Decoded, buf: Buffer, off: number, capLen: number, linkType: number): Decoded {
  d.buf = buf;
  d.ipVersion = 0;
  d.vlanTags = 0;
  d.fragment = false;
  d.firstFragment = false;
  d.innerIpVersion = 0;
  d.innerFragment = false;
  d.innerDf = false;
  d.innerIpLen = 0;
  d.tooBig = 0;
  d.tooBigMtu = 0;
  d.quotedVersion = 0;
  d.srcPort = 0;
  d.dstPort = 0;
  d.sttSegmentOffset = 0;
  resetTunnel(d.tunnel);
  resetTunnel(d.quoted);
  const end = Math.min(off + capLen, buf.length);
  const lp = linkPayload(buf, off, end, linkType);
  if (lp.off < 0 || (lp.ipv !== 4 && lp.ipv !== 6)) return d;
  d.vlanTags = ethOut.tags;
  const ip = scratchIp;
  if (!parseIp(buf, lp.off, end, ip, lp.ipv)) return d;
  d.ipVersion = ip.version;
  d.l2Len = lp.off - off;
  d.srcOff = ip.srcOff;
  d.dstOff = ip.dstOff;
  d.proto = ip.proto;
  d.ipId = ip.id;
  d.df = ip.df;
  d.fragment = ip.fragment;
  d.fragOffset = ip.fragOffset;
  d.moreFragments = ip.mf;
  d.firstFragment = ip.fragment && ip.fragOffset === 0;
  d.ipTotalLen = ip.totalLen;
  d.ipHeaderLen = ip.headerLen;
  d.l4Off = ip.l4Off;
  d.tunnel.ipVersion = ip.version as 4 | 6;
  d.tunnel.srcOff = ip.srcOff;
  d.tunnel.dstOff = ip.dstOff;
  if (ip.fragOffset !== 0) return d; // no transport header in a non-first fragment
  const l4 = ip.l4Off;
  const ipHdr = ip.version === 4 ? ip.headerLen : 40; // the fragment header is not overhead
  if ((ip.proto === 6 || ip.proto === 17) && l4 + 4 <= end) {
    d.srcPort = be16(buf, l4);
    d.dstPort = be16(buf, l4 + 2);
  }
  if (ip.proto === 47 || ip.proto === 17 || ip.proto === 6) {
    decodeTunnel(buf, ip.proto, l4, end, ipHdr, d.tunnel, d);
    return d;
  }
  if (ip.version === 4 && ip.proto === 1 && l4 + 8 <= end && buf[l4] === 3 && buf[l4 + 1] === 4) {
    d.tooBig = 4;
    d.tooBigMtu = be16(buf, l4 + 6);
    decodeQuoted(d, buf, l4 + 8, end);
  } else if (ip.version === 6 && ip.proto === 58 && l4 + 8 <= end && buf[l4] === 2) {
    d.tooBig = 6;
    d.tooBigMtu = be32(buf, l4 + 4);
    decodeQuoted(d, buf, l4 + 8, end);
  }
  return d;
}

function decodeQuoted(d: Decoded, buf: Buffer, off: number, end: number): void {
  const q = quotedIp;
  if (!parseIp(buf, off, end, q)) return;
  d.quotedVersion = q.version;
  d.quotedProto = q.proto;
  d.quotedSrcOff = q.srcOff;
  d.quotedDstOff = q.dstOff;
  d.quoted.ipVersion = q.version as 4 | 6;
  d.quoted.srcOff = q.srcOff;
  d.quoted.dstOff = q.dstOff;
  if (q.fragOffset !== 0) return;
  decodeTunnel(buf, q.proto, q.l4Off, end, q.version === 4 ? q.headerLen : 40, d.quoted, null);
}
