/**
 * Builders for synthetic captures in tests: packets (Ethernet/VLAN, IPv4/IPv6 with fragments and
 * extension headers, UDP, GRE, VXLAN, Geneve, STT, ICMP frag-needed, ICMPv6 PTB) and files
 * (classic pcap in µs/ns and both byte orders, pcapng with several sections and interfaces).
 * Written from the format specs (reference/peers.md §10.2), for the cases real kernels here
 * cannot make (Geneve, STT, QinQ, SLL/SLL2, NULL, RAW, odd pcapng blocks).
 */
const u16 = (v: number) => Buffer.from([(v >> 8) & 0xff, v & 0xff]);
const u32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
};

export function ipv4Addr(s: string): Buffer {
  return Buffer.from(s.split('.').map(Number));
}

export function ipv6Addr(s: string): Buffer {
  const [head, tail] = s.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail ? tail.split(':') : [];
  const words = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return Buffer.concat(words.map((w) => u16(parseInt(w, 16))));
}

export function eth(etherType: number, payload: Buffer, vlans: { tpid?: number; vid: number }[] = []): Buffer {
  const parts = [Buffer.from([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1])];
  for (const v of vlans) parts.push(u16(v.tpid ?? 0x8100), u16(v.vid));
  parts.push(u16(etherType), payload);
  return Buffer.concat(parts);
}

export interface Ipv4Opts {
  src: string;
  dst: string;
  proto: number;
  id?: number;
  df?: boolean;
  mf?: boolean;
  /** in bytes (multiple of 8) */
  offset?: number;
  /** total length written in the header (default: real) */
  totalLen?: number;
}

export function ipv4(o: Ipv4Opts, payload: Buffer): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(o.totalLen ?? 20 + payload.length, 2);
  h.writeUInt16BE(o.id ?? 1, 4);
  h.writeUInt16BE((o.df ? 0x4000 : 0) | (o.mf ? 0x2000 : 0) | ((o.offset ?? 0) / 8), 6);
  h[8] = 64;
  h[9] = o.proto;
  ipv4Addr(o.src).copy(h, 12);
  ipv4Addr(o.dst).copy(h, 16);
  return Buffer.concat([h, payload]);
}

export interface Ipv6Opts {
  src: string;
  dst: string;
  next: number;
  /** extension headers before the payload: hop-by-hop (0), destination options (60), fragment (44) */
  ext?: ({ type: 0 | 60 } | { type: 44; offset: number; mf: boolean; id: number })[];
}

export function ipv6(o: Ipv6Opts, payload: Buffer): Buffer {
  const exts = o.ext ?? [];
  const chain = [...exts.map((e) => e.type), o.next];
  const extBufs = exts.map((e, i) => {
    if (e.type === 44) {
      const b = Buffer.alloc(8);
      b[0] = chain[i + 1]!;
      b.writeUInt16BE(e.offset | (e.mf ? 1 : 0), 2);
      b.writeUInt32BE(e.id, 4);
      return b;
    }
    const b = Buffer.alloc(8);
    b[0] = chain[i + 1]!;
    b[1] = 0; // 8 bytes
    b[2] = 1; // PadN
    b[3] = 4;
    return b;
  });
  const body = Buffer.concat([...extBufs, payload]);
  const h = Buffer.alloc(40);
  h[0] = 0x60;
  h.writeUInt16BE(body.length, 4);
  h[6] = chain[0]!;
  h[7] = 64;
  ipv6Addr(o.src).copy(h, 8);
  ipv6Addr(o.dst).copy(h, 24);
  return Buffer.concat([h, body]);
}

export function udp(sport: number, dport: number, payload: Buffer): Buffer {
  return Buffer.concat([u16(sport), u16(dport), u16(8 + payload.length), u16(0), payload]);
}

export function tcp(sport: number, dport: number, seq: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h.writeUInt32BE(seq >>> 0, 4);
  h[12] = 5 << 4;
  h[13] = 0x18;
  return Buffer.concat([h, payload]);
}

export function vxlan(vni: number, inner: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0x08, 0, 0, 0]), u32(vni << 8), inner]);
}

export function geneve(vni: number, optionBytes: number, inner: Buffer, protocol = 0x6558): Buffer {
  const h = Buffer.alloc(8 + optionBytes);
  h[0] = optionBytes / 4;
  h.writeUInt16BE(protocol, 2);
  h.writeUInt32BE((vni << 8) >>> 0, 4);
  return Buffer.concat([h, inner]);
}

export function gre(inner: Buffer, o: { key?: number; checksum?: boolean; seq?: number; protocol?: number } = {}): Buffer {
  let flags = 0;
  const parts: Buffer[] = [];
  if (o.checksum) {
    flags |= 0x8000;
    parts.push(u32(0));
  }
  if (o.key !== undefined) {
    flags |= 0x2000;
    parts.push(u32(o.key));
  }
  if (o.seq !== undefined) {
    flags |= 0x1000;
    parts.push(u32(o.seq));
  }
  return Buffer.concat([u16(flags), u16(o.protocol ?? 0x6558), ...parts, inner]);
}

/** An STT segment: TCP to 7471 whose sequence number holds frame length (high 16) and offset (low 16). */
export function stt(contextId: bigint, frame: Buffer, segment: { offset: number; total: number }): Buffer {
  if (segment.offset > 0) return tcp(40000, 7471, (segment.total << 16) | segment.offset, frame);
  const h = Buffer.alloc(18);
  h[0] = 0; // version
  h.writeBigUInt64BE(contextId, 8);
  return tcp(40000, 7471, (segment.total << 16) | 0, Buffer.concat([h, frame]));
}

export function icmpFragNeeded(mtu: number, quoted: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h[0] = 3;
  h[1] = 4;
  h.writeUInt16BE(mtu, 6);
  return Buffer.concat([h, quoted]);
}

export function icmp6TooBig(mtu: number, quoted: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h[0] = 2;
  h.writeUInt32BE(mtu, 4);
  return Buffer.concat([h, quoted]);
}

export const pingPayload = (n: number) => Buffer.alloc(n, 0x61);

// ------------------------------------------------------------------ files

export interface Rec {
  data: Buffer;
  /** original length (default data.length) */
  origLen?: number;
  /** seconds (fractional) */
  ts?: number;
  /** pcapng interface id */
  iface?: number;
}

export function pcapFile(recs: Rec[], o: { ns?: boolean; bigEndian?: boolean; linkType?: number; snapLen?: number } = {}): Buffer {
  const be = o.bigEndian ?? false;
  const w32 = (b: Buffer, v: number, off: number) => (be ? b.writeUInt32BE(v >>> 0, off) : b.writeUInt32LE(v >>> 0, off));
  const w16 = (b: Buffer, v: number, off: number) => (be ? b.writeUInt16BE(v, off) : b.writeUInt16LE(v, off));
  const g = Buffer.alloc(24);
  w32(g, o.ns ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  w16(g, 2, 4);
  w16(g, 4, 6);
  w32(g, o.snapLen ?? 262144, 16);
  w32(g, o.linkType ?? 1, 20);
  const parts = [g];
  for (const r of recs) {
    const h = Buffer.alloc(16);
    const ts = r.ts ?? 1_700_000_000.5;
    const sec = Math.floor(ts);
    w32(h, sec, 0);
    w32(h, Math.round((ts - sec) * (o.ns ? 1e9 : 1e6)), 4);
    w32(h, r.data.length, 8);
    w32(h, r.origLen ?? r.data.length, 12);
    parts.push(h, r.data);
  }
  return Buffer.concat(parts);
}

type NgBlock = { type: number; body: Buffer };

function pad4(b: Buffer): Buffer {
  const p = (4 - (b.length % 4)) % 4;
  return p ? Buffer.concat([b, Buffer.alloc(p)]) : b;
}

export interface NgInterface {
  linkType: number;
  snapLen?: number;
  /** if_tsresol byte */
  tsresol?: number;
  /** if_tsoffset seconds */
  tsoffset?: number;
}

/** pcapng: sections, each with interfaces and packets (EPB by default, SPB/PB on request) and extra blocks. */
export function pcapngFile(sections: { bigEndian?: boolean; interfaces: NgInterface[]; packets: (Rec & { block?: 'epb' | 'spb' | 'pb' })[]; extra?: NgBlock[] }[]): Buffer {
  const out: Buffer[] = [];
  for (const s of sections) {
    const be = s.bigEndian ?? false;
    const w32 = (v: number) => {
      const b = Buffer.alloc(4);
      if (be) b.writeUInt32BE(v >>> 0);
      else b.writeUInt32LE(v >>> 0);
      return b;
    };
    const w16 = (v: number) => {
      const b = Buffer.alloc(2);
      if (be) b.writeUInt16BE(v);
      else b.writeUInt16LE(v);
      return b;
    };
    const block = (type: number, body: Buffer) => {
      const b = pad4(body);
      out.push(w32(type), w32(b.length + 12), b, w32(b.length + 12));
    };
    const opt = (code: number, v: Buffer) => Buffer.concat([w16(code), w16(v.length), pad4(v)]);
    // SHB: BOM, version 1.0, section length -1, an shb_userappl option
    block(0x0a0d0d0a, Buffer.concat([w32(0x1a2b3c4d), w16(1), w16(0), Buffer.alloc(8, 0xff), opt(4, Buffer.from('netdiag-test')), w32(0)]));
    for (const i of s.interfaces) {
      const opts: Buffer[] = [opt(2, Buffer.from('eth1'))];
      if (i.tsresol !== undefined) opts.push(opt(9, Buffer.from([i.tsresol])));
      if (i.tsoffset !== undefined) {
        const v = Buffer.alloc(8);
        if (be) v.writeBigInt64BE(BigInt(i.tsoffset));
        else v.writeBigInt64LE(BigInt(i.tsoffset));
        opts.push(opt(14, v));
      }
      block(1, Buffer.concat([w16(i.linkType), w16(0), w32(i.snapLen ?? 0), ...opts, w32(0)]));
    }
    for (const b of s.extra ?? []) block(b.type, b.body);
    for (const p of s.packets) {
      const iface = s.interfaces[p.iface ?? 0]!;
      const res = iface.tsresol === undefined ? 1e6 : iface.tsresol & 0x80 ? 2 ** (iface.tsresol & 0x7f) : 10 ** iface.tsresol;
      const ts = BigInt(Math.round(((p.ts ?? 1_700_000_000.5) - (iface.tsoffset ?? 0)) * res));
      const hi = Number(ts >> 32n);
      const lo = Number(ts & 0xffffffffn);
      if (p.block === 'spb') block(3, Buffer.concat([w32(p.origLen ?? p.data.length), p.data]));
      else if (p.block === 'pb') block(2, Buffer.concat([w16(p.iface ?? 0), w16(0), w32(hi), w32(lo), w32(p.data.length), w32(p.origLen ?? p.data.length), p.data]));
      else block(6, Buffer.concat([w32(p.iface ?? 0), w32(hi), w32(lo), w32(p.data.length), w32(p.origLen ?? p.data.length), pad4(p.data), opt(1, w32(0)), w32(0)]));
    }
  }
  return Buffer.concat(out);
}
