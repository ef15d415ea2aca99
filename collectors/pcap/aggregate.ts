/**
 * Aggregation per tunnel: a 1 GiB capture becomes one observation per tunnel, never one per
 * packet. Non-first fragments carry no tunnel header, so they are tied to their tunnel through
 * the first fragment's (src, dst, proto, IP id) in a bounded table; ICMP frag-needed / Packet
 * Too Big messages are tied to the tunnel of the packet they quote.
 */
import { addrKey, type Decoded, formatAddr, type TunnelType } from './decode.js';
import type { PacketRecord } from './reader.js';

/** One tunnel's traffic in one capture (the private observation kind `pcap.tunnel`). */
export interface TunnelTraffic {
  type: TunnelType;
  /** GRE key, VNI, STT context id; absent when the packets carried none. */
  key?: number;
  src: string;
  dst: string;
  ipVersion: 4 | 6;
  /** The capture file (or live interface) it was seen in. */
  capture: string;
  packets: number;
  /** Bytes on the wire (orig_len). */
  bytes: number;
  /** Outer IP packets that are fragments (MF set or offset > 0), first fragments included. */
  outerFragments: number;
  /** Inner (guest) IP packets that are fragments. */
  innerFragments: number;
  /** Outer IPv4 packets with DF set / without it (IPv6 counts as DF). */
  outerDf: number;
  outerNoDf: number;
  /** ICMP type 3 code 4 quoting a packet of this tunnel. */
  icmpFragNeeded: number;
  /** ICMPv6 Packet Too Big quoting a packet of this tunnel. */
  packetTooBig: number;
  /** The next-hop MTUs those messages advertised (distinct, ascending, at most 16). */
  advertisedMtus: number[];
  /** Largest frame on the wire (orig_len, link header included). */
  largestFrame: number;
  /** Largest outer IP datagram (reassembled size for fragmented ones). */
  largestOuterPacket: number;
  /** Largest outer IP packet that went out whole or as a first fragment: the sender's MTU. */
  largestOuterFragment: number;
  /** Largest inner IP packet (the guest side). */
  largestInnerPacket: number;
  /** Encapsulation overhead measured from the packets (outer IP + tunnel + inner Ethernet/VLAN). */
  overhead: number;
  /** Geneve option bytes / GRE optional fields seen (max). */
  optionBytes: number;
  firstSeen?: number;
  lastSeen?: number;
}

/** Capture health (the private kind `pcap.capture`). */
export interface CaptureHealth {
  capture: string;
  format: string;
  linkTypes: number[];
  snapLens: number[];
  packets: number;
  /** Packets with an IP header netdiag could decode. */
  decoded: number;
  /** Records cut by the snap length (captured < original length). */
  truncatedRecords: number;
  /** Outer fragments whose first fragment (with the tunnel header) was never seen. */
  unattributedFragments: number;
  /** Frag-needed / PTB messages that do not quote a tunnel packet. */
  otherTooBig: number;
  /** Fragments of non-tunnel traffic. */
  otherFragments: number;
  tunnels: number;
  /** An error that ended the read early (the counts cover what was read before it). */
  error?: string;
}

const FRAG_TABLE_MAX = 65_536;
const TUNNEL_MAX = 100_000;

/** Fragments of one outer datagram, tied to its tunnel once the first fragment is seen. */
interface Pending {
  tunnel?: TunnelTraffic;
  /** The first fragment was seen and is not a tunnel packet. */
  notTunnel?: boolean;
  /** Fragments seen before the first one (bounded summary, applied when the tunnel is known). */
  waiting?: { n: number; bytes: number; df: number; noDf: number; largestFrame: number; datagram: number; firstSeen?: number; lastSeen?: number };
}

export class TunnelAggregator {
  private readonly tunnels = new Map<string, TunnelTraffic>();
  /** IPv6 fragments by (src, dst, proto, id) string; IPv4 by src → (dst·2^16 + id) numbers (no strings on the hot path). */
  private readonly frags = new Map<string, Pending>();
  private readonly frags4 = new DirectTable<Pending>();
  /** A cache of IPv4 non-STT tunnels by (src, dst, key, type) in front of `tunnels` (string keys). */
  private readonly index4 = new DirectTable<TunnelTraffic>();
  /** STT: segments after the first are tied by (src, dst, src port) to the last first segment. */
  private readonly sttFlows = new Map<string, TunnelTraffic>();
  /** Too-big messages whose quote did not show the key: (type, src, dst) → counts, resolved at the end. */
  private readonly keylessTooBig = new Map<string, { t: TunnelTraffic; v4: number; v6: number; mtus: number[] }>();
  readonly health: CaptureHealth;

  constructor(private readonly capture: string) {
    this.health = { capture, format: '', linkTypes: [], snapLens: [], packets: 0, decoded: 0, truncatedRecords: 0, unattributedFragments: 0, otherTooBig: 0, otherFragments: 0, tunnels: 0 };
  }

  private tunnelFor(type: TunnelType, key: number, d: Decoded, version: 4 | 6, srcOff: number, dstOff: number, create = true): TunnelTraffic | undefined {
    const buf = d.buf;
    const ti = type === 'vxlan' ? 0 : type === 'gre' ? 1 : type === 'geneve' ? 2 : -1;
    let cached = false;
    let src = 0;
    let dst = 0;
    const kind = ti + 1 + (key < 0 ? 8 : 0);
    if (version === 4 && ti >= 0) {
      src = be32(buf, srcOff);
      dst = be32(buf, dstOff);
      const hit = this.index4.get(src, dst, key >>> 0, kind);
      if (hit) return hit;
      cached = true;
    }
    const k = `${type}|${key}|${addrKey(buf, srcOff, version)}|${addrKey(buf, dstOff, version)}`;
    let t = this.tunnels.get(k);
    if (!t && create && this.tunnels.size < TUNNEL_MAX) {
      t = {
        type,
        ...(key >= 0 ? { key } : {}),
        src: formatAddr(buf, srcOff, version),
        dst: formatAddr(buf, dstOff, version),
        ipVersion: version,
        capture: this.capture,
        packets: 0, bytes: 0, outerFragments: 0, innerFragments: 0, outerDf: 0, outerNoDf: 0, icmpFragNeeded: 0, packetTooBig: 0,
        advertisedMtus: [], largestFrame: 0, largestOuterPacket: 0, largestOuterFragment: 0, largestInnerPacket: 0, overhead: 0, optionBytes: 0,
      };
      this.tunnels.set(k, t);
    }
    if (t && cached) this.index4.set(src, dst, key >>> 0, kind, t);
    return t;
  }

  add(rec: PacketRecord, d: Decoded): void {
    const h = this.health;
    h.packets++;
    if (rec.capLen < rec.origLen) h.truncatedRecords++;
    if (d.ipVersion === 0) return;
    h.decoded++;
    const v = d.ipVersion;
    const buf = d.buf;
    let t: TunnelTraffic | undefined;
    const fragged = d.fragment;

    if (d.tunnel.type !== '') {
      t = this.tunnelFor(d.tunnel.type, d.tunnel.key, d, v, d.srcOff, d.dstOff);
      if (t && d.tunnel.type === 'stt') {
        const fk = `${addrKey(buf, d.srcOff, v)}|${addrKey(buf, d.dstOff, v)}|${d.srcPort}`;
        if (d.tunnel.key >= 0) this.sttFlows.set(fk, t);
        else {
          // A later segment: use the frame's first segment's tunnel, drop the key-less entry.
          const first = this.sttFlows.get(fk);
          if (first && first !== t) {
            if (t.packets === 0) this.tunnels.delete(`stt|-1|${addrKey(buf, d.srcOff, v)}|${addrKey(buf, d.dstOff, v)}`);
            t = first;
          }
        }
        if (this.sttFlows.size > FRAG_TABLE_MAX) this.sttFlows.clear();
      }
      if (t) {
        if (d.tunnel.overhead > t.overhead) t.overhead = d.tunnel.overhead;
        if (d.tunnel.optionBytes > t.optionBytes) t.optionBytes = d.tunnel.optionBytes;
        if (d.innerFragment) t.innerFragments++;
        if (d.innerIpLen > t.largestInnerPacket) t.largestInnerPacket = d.innerIpLen;
      }
      if (fragged) {
        const p = this.getFrag(d);
        if (p?.waiting && t) {
          // Fragments of this datagram that arrived before its first one.
          const w = p.waiting;
          t.packets += w.n;
          t.outerFragments += w.n;
          t.bytes += w.bytes;
          t.outerDf += w.df;
          t.outerNoDf += w.noDf;
          if (w.largestFrame > t.largestFrame) t.largestFrame = w.largestFrame;
          if (w.datagram > t.largestOuterPacket) t.largestOuterPacket = w.datagram;
          if (w.firstSeen !== undefined && (t.firstSeen === undefined || w.firstSeen < t.firstSeen)) t.firstSeen = w.firstSeen;
          if (w.lastSeen !== undefined && (t.lastSeen === undefined || w.lastSeen > t.lastSeen)) t.lastSeen = w.lastSeen;
          h.unattributedFragments -= w.n;
        }
        // One shared entry per tunnel: no allocation per datagram.
        if (t && p?.tunnel !== t) this.remember(d, this.pendingOf(t));
      }
    } else if (fragged) {
      const p = this.getFrag(d);
      if (p?.tunnel) t = p.tunnel;
      else if (!p?.notTunnel && d.fragOffset !== 0 && (d.proto === 47 || d.proto === 17 || d.proto === 6)) {
        // Maybe a tunnel whose first fragment comes later (or was lost): keep a summary.
        const e = p ?? this.remember(d, {});
        const w = (e.waiting ??= { n: 0, bytes: 0, df: 0, noDf: 0, largestFrame: 0, datagram: 0 });
        w.n++;
        w.bytes += rec.origLen;
        if (v === 4 && !d.df) w.noDf++;
        else w.df++;
        if (rec.origLen > w.largestFrame) w.largestFrame = rec.origLen;
        if (!d.moreFragments) w.datagram = Math.max(w.datagram, d.fragOffset + Math.max(d.ipTotalLen, rec.origLen - d.l2Len));
        if (!Number.isNaN(rec.tsMs)) {
          if (w.firstSeen === undefined || rec.tsMs < w.firstSeen) w.firstSeen = rec.tsMs;
          if (w.lastSeen === undefined || rec.tsMs > w.lastSeen) w.lastSeen = rec.tsMs;
        }
        h.unattributedFragments++;
        return;
      } else {
        if (d.fragOffset === 0 && !p) this.remember(d, NOT_TUNNEL);
        h.otherFragments++;
      }
    }

    if (d.tooBig) {
      this.addTooBig(d);
      if (!t) return;
    }
    if (!t) return;

    t.packets++;
    t.bytes += rec.origLen;
    if (rec.origLen > t.largestFrame) t.largestFrame = rec.origLen;
    if (v === 4 && !d.df) t.outerNoDf++;
    else t.outerDf++;
    const ipLen = Math.max(d.ipTotalLen, rec.origLen - d.l2Len);
    if (d.fragment) {
      t.outerFragments++;
      const datagram = d.fragOffset + ipLen; // offset + header + payload of the last fragment
      if (!d.moreFragments && datagram > t.largestOuterPacket) t.largestOuterPacket = datagram;
      if (d.fragOffset === 0 && ipLen > t.largestOuterFragment) t.largestOuterFragment = ipLen;
    } else {
      if (ipLen > t.largestOuterPacket) t.largestOuterPacket = ipLen;
      if (ipLen > t.largestOuterFragment) t.largestOuterFragment = ipLen;
    }
    if (!Number.isNaN(rec.tsMs)) {
      if (t.firstSeen === undefined || rec.tsMs < t.firstSeen) t.firstSeen = rec.tsMs;
      if (t.lastSeen === undefined || rec.tsMs > t.lastSeen) t.lastSeen = rec.tsMs;
    }
  }

  private readonly pendings = new Map<TunnelTraffic, Pending>();
  private pendingOf(t: TunnelTraffic): Pending {
    let p = this.pendings.get(t);
    if (!p) this.pendings.set(t, (p = { tunnel: t }));
    return p;
  }

  private getFrag(d: Decoded): Pending | undefined {
    if (d.ipVersion === 4) {
      const p = this.frags4.get(be32(d.buf, d.srcOff), be32(d.buf, d.dstOff), d.ipId, d.proto);
      return p;
    }
    return this.frags.get(fragKey6(d));
  }

  /**
   * Remember a datagram's fragments. The tables are bounded: IPv4 in a direct-mapped table (a
   * colliding datagram replaces the older one), IPv6 in a map that starts over when full;
   * fragments of one datagram arrive close together.
   */
  private remember(d: Decoded, p: Pending): Pending {
    if (d.ipVersion === 4) {
      this.frags4.set(be32(d.buf, d.srcOff), be32(d.buf, d.dstOff), d.ipId, d.proto, p);
      return p;
    }
    if (this.frags.size >= FRAG_TABLE_MAX) this.frags.clear();
    this.frags.set(fragKey6(d), p);
    return p;
  }

  private addTooBig(d: Decoded): void {
    const q = d.quoted;
    if (q.type === '' || d.quotedVersion === 0) {
      this.health.otherTooBig++;
      return;
    }
    const qv = d.quotedVersion as 4 | 6;
    // The original packet went src → dst: that is the tunnel's direction.
    let t = q.key >= 0 ? this.tunnelFor(q.type, q.key, d, qv, d.quotedSrcOff, d.quotedDstOff) : undefined;
    if (!t) {
      const k = `${q.type}|${addrKey(d.buf, d.quotedSrcOff, qv)}|${addrKey(d.buf, d.quotedDstOff, qv)}`;
      let e = this.keylessTooBig.get(k);
      if (!e) {
        const base = this.tunnelFor(q.type, -1, d, qv, d.quotedSrcOff, d.quotedDstOff)!;
        this.keylessTooBig.set(k, (e = { t: base, v4: 0, v6: 0, mtus: [] }));
      }
      t = e.t;
    }
    if (!t) return;
    if (d.tooBig === 4) t.icmpFragNeeded++;
    else t.packetTooBig++;
    if (q.overhead > t.overhead) t.overhead = q.overhead;
    addMtu(t.advertisedMtus, d.tooBigMtu);
  }

  /** The tunnels seen, key-less too-big entries merged into the one keyed tunnel they match. */
  finish(): TunnelTraffic[] {
    for (const [k, t] of this.tunnels) {
      if (t.key !== undefined || t.packets > 0 || (t.icmpFragNeeded === 0 && t.packetTooBig === 0)) continue;
      const matches = [...this.tunnels.values()].filter((o) => o !== t && o.type === t.type && o.src === t.src && o.dst === t.dst && o.key !== undefined);
      if (matches.length === 1) {
        const m = matches[0]!;
        m.icmpFragNeeded += t.icmpFragNeeded;
        m.packetTooBig += t.packetTooBig;
        for (const mtu of t.advertisedMtus) addMtu(m.advertisedMtus, mtu);
        if (t.overhead > m.overhead) m.overhead = t.overhead;
        this.tunnels.delete(k);
      }
    }
    const out = [...this.tunnels.values()].filter((t) => t.packets > 0 || t.icmpFragNeeded > 0 || t.packetTooBig > 0);
    this.health.tunnels = out.length;
    return out;
  }
}

const NOT_TUNNEL: Pending = Object.freeze({ notTunnel: true });

const be32 = (b: Buffer, o: number) => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;

const SLOTS = 1 << 17;

/** A direct-mapped table keyed by four 32-bit words: no strings or maps on the per-packet path. */
class DirectTable<T> {
  private keys = new Uint32Array(0);
  private values: (T | undefined)[] = [];

  private static slot(a: number, b: number, c: number, d: number): number {
    let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b ^ 0x7f4a7c15, 0xc2b2ae35) ^ Math.imul(c ^ 0x165667b1, 0x27d4eb2f) ^ d;
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 12;
    return (h >>> 0) & (SLOTS - 1);
  }

  get(a: number, b: number, c: number, d: number): T | undefined {
    if (this.values.length === 0) return undefined;
    const i = DirectTable.slot(a, b, c, d);
    const o = i * 4;
    const k = this.keys;
    return k[o] === a >>> 0 && k[o + 1] === b >>> 0 && k[o + 2] === c >>> 0 && k[o + 3] === d >>> 0 ? this.values[i] : undefined;
  }

  set(a: number, b: number, c: number, d: number, v: T): void {
    if (this.values.length === 0) {
      this.keys = new Uint32Array(SLOTS * 4);
      this.values = new Array<T | undefined>(SLOTS).fill(undefined);
    }
    const i = DirectTable.slot(a, b, c, d);
    const o = i * 4;
    this.keys[o] = a;
    this.keys[o + 1] = b;
    this.keys[o + 2] = c;
    this.keys[o + 3] = d;
    this.values[i] = v;
  }
}

function fragKey6(d: Decoded): string {
  return `${d.proto}|${d.ipId}|${addrKey(d.buf, d.srcOff, 6)}|${addrKey(d.buf, d.dstOff, 6)}`;
}

function addMtu(list: number[], mtu: number): void {
  if (list.includes(mtu) || list.length >= 16) return;
  list.push(mtu);
  list.sort((a, b) => a - b);
}
