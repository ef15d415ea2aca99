/**
 * A streaming reader for classic pcap (µs and ns magic, both byte orders) and pcapng (SHB, IDB,
 * EPB, SPB, the obsolete PB; NRB, ISB, DSB and custom blocks skipped; several sections and
 * interfaces; `if_tsresol`, `if_tsoffset`). Memory stays flat: at most one partial record is kept
 * between chunks, and every length is bounded before anything is buffered for it.
 *
 * The reader does no decoding: it hands each record to `onPacket` as a view into the current
 * chunk (valid only during the call) with the link type of its interface.
 */
import type { Readable } from 'node:stream';
import { NetdiagError } from '../../core/errors.js';

export interface PacketRecord {
  /** The chunk that holds the packet; bytes `[offset, offset + capLen)` are the captured data. */
  data: Buffer;
  offset: number;
  capLen: number;
  /** Length on the wire (pcap orig_len / pcapng original length): use it for sizes. */
  origLen: number;
  /** LINKTYPE_ value of the packet's interface. */
  linkType: number;
  /** Timestamp in ms since the epoch (fractional). */
  tsMs: number;
  /** pcapng interface id (0 for pcap). */
  ifIndex: number;
}

export interface CaptureInfo {
  format: 'pcap' | 'pcap-ns' | 'pcapng';
  /** Byte order of the (current) section. */
  bigEndian: boolean;
  /** Snap length per interface (pcap: one). */
  snapLens: number[];
  linkTypes: number[];
  sections: number;
}

export interface ReadResult extends CaptureInfo {
  packets: number;
  /** Records whose captured length is below the original length (snaplen cuts). */
  truncatedRecords: number;
  /** pcapng blocks skipped because netdiag has no use for them (NRB, ISB, custom...). */
  skippedBlocks: number;
  bytes: number;
}

/** pcap magic numbers as read big-endian from the first 4 bytes. */
const PCAP_US_BE = 0xa1b2c3d4;
const PCAP_US_LE = 0xd4c3b2a1;
const PCAP_NS_BE = 0xa1b23c4d;
const PCAP_NS_LE = 0x4d3cb2a1;
const PCAPNG_SHB = 0x0a0d0d0a;
const BOM = 0x1a2b3c4d;

/** What a capture file starts with, or undefined if it is not one. */
export function captureFormat(head: Buffer): CaptureInfo['format'] | undefined {
  if (head.length < 4) return undefined;
  const m = head.readUInt32BE(0);
  if (m === PCAP_US_BE || m === PCAP_US_LE) return 'pcap';
  if (m === PCAP_NS_BE || m === PCAP_NS_LE) return 'pcap-ns';
  if (m === PCAPNG_SHB && head.length >= 12) {
    const b = head.readUInt32BE(8);
    if (b === BOM || head.readUInt32LE(8) === BOM) return 'pcapng';
  }
  return undefined;
}

/** Largest record a pcap file may claim (libpcap's MAXIMUM_SNAPLEN is 262144). */
const MAX_PCAP_RECORD = 262_144;
/** Bytes of a new chunk joined to a straddling record (a whole pcap record fits). */
const STRADDLE_BYTES = MAX_PCAP_RECORD + 64;
/** Largest pcapng block accepted (a packet plus generous options). */
const MAX_PCAPNG_BLOCK = 16 * 1024 * 1024;

function parseError(path: string, offset: number, what: string, packets: number): NetdiagError {
  return new NetdiagError('E_INPUT_PARSE', `capture ${path}: ${what} at byte offset ${offset} (after ${packets} packets)`, {
    remedy: 'the packets before that offset were analysed; re-capture or cut the file with editcap to see the rest',
  });
}

interface Iface {
  linkType: number;
  snapLen: number;
  /** units per second of the timestamp */
  tsUnitsPerSec: number;
  tsOffsetSec: number;
}

/**
 * Read a capture stream record by record. Throws NetdiagError E_INPUT_PARSE naming the file and
 * the byte offset on a corrupt or truncated file, after every readable packet was delivered
 * (the partial result is on the error as `result`).
 */
export async function readCapture(stream: Readable, path: string, onPacket: (p: PacketRecord) => void): Promise<ReadResult> {
  const res: ReadResult = { format: 'pcap', bigEndian: false, snapLens: [], linkTypes: [], sections: 0, packets: 0, truncatedRecords: 0, skippedBlocks: 0, bytes: 0 };
  const rec: PacketRecord = { data: Buffer.alloc(0), offset: 0, capLen: 0, origLen: 0, linkType: 1, tsMs: 0, ifIndex: 0 };
  let buf: Buffer = Buffer.alloc(0);
  let pos = 0; // position in buf
  let base = 0; // file offset of buf[0]
  let started = false;
  let ng = false;
  let le = true;
  let nsRes = false;
  let linkType = 1;
  let snapLen = 0;
  let ifaces: Iface[] = [];

  const fail = (offset: number, what: string): never => {
    const e = parseError(path, offset, what, res.packets);
    (e as NetdiagError & { result?: ReadResult }).result = res;
    throw e;
  };
  // Plain byte arithmetic: Buffer's read methods validate their arguments on every call, and
  // every offset here is bounds-checked before it is read.
  const u32 = (o: number) => {
    const b = buf;
    return le ? (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0 : ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
  };
  const u16 = (o: number) => (le ? buf[o]! | (buf[o + 1]! << 8) : (buf[o]! << 8) | buf[o + 1]!);

  /** Parse as many complete units as buf holds; returns false when more bytes are needed. */
  const step = (): boolean => {
    const avail = buf.length - pos;
    if (!started) {
      if (avail < 4) return false;
      const m = buf.readUInt32BE(pos);
      if (m === PCAPNG_SHB) {
        ng = true;
        res.format = 'pcapng';
        started = true;
        return true;
      }
      if (avail < 24) return false;
      if (m === PCAP_US_BE || m === PCAP_NS_BE) le = false;
      else if (m === PCAP_US_LE || m === PCAP_NS_LE) le = true;
      else fail(base + pos, `not a pcap or pcapng file (magic 0x${m.toString(16).padStart(8, '0')})`);
      nsRes = m === PCAP_NS_BE || m === PCAP_NS_LE;
      res.format = nsRes ? 'pcap-ns' : 'pcap';
      res.bigEndian = !le;
      const major = u16(pos + 4);
      if (major !== 2) fail(base + pos + 4, `unsupported pcap version ${major}.${u16(pos + 6)}`);
      snapLen = u32(pos + 16);
      // The upper bits of the link type may carry FCS information.
      linkType = u32(pos + 20) & 0x0fffffff;
      res.snapLens.push(snapLen);
      res.linkTypes.push(linkType);
      res.sections = 1;
      pos += 24;
      started = true;
      return true;
    }
    if (!ng) {
      if (avail < 16) return false;
      const capLen = u32(pos + 8);
      const origLen = u32(pos + 12);
      if (capLen > Math.max(MAX_PCAP_RECORD, snapLen)) fail(base + pos, `record claims ${capLen} captured bytes (snaplen ${snapLen}): corrupt record header`);
      if (avail < 16 + capLen) return false;
      const sec = u32(pos);
      const frac = u32(pos + 4);
      rec.data = buf;
      rec.offset = pos + 16;
      rec.capLen = capLen;
      rec.origLen = origLen;
      rec.linkType = linkType;
      rec.tsMs = sec * 1000 + (nsRes ? frac / 1e6 : frac / 1e3);
      rec.ifIndex = 0;
      res.packets++;
      if (capLen < origLen) res.truncatedRecords++;
      pos += 16 + capLen;
      onPacket(rec);
      return true;
    }
    // pcapng block
    if (avail < 12) return false;
    const typeBE = buf.readUInt32BE(pos);
    if (typeBE === PCAPNG_SHB) {
      const bom = buf.readUInt32BE(pos + 8);
      if (bom === BOM) le = false;
      else if (buf.readUInt32LE(pos + 8) === BOM) le = true;
      else fail(base + pos + 8, 'section header block without a valid byte-order magic');
      res.bigEndian = !le;
    }
    const type = u32(pos);
    const len = u32(pos + 4);
    if (len < 12 || len % 4 !== 0 || len > MAX_PCAPNG_BLOCK) fail(base + pos, `block of type 0x${type.toString(16)} has an invalid length ${len}`);
    if (avail < len) return false;
    if (u32(pos + len - 4) !== len) fail(base + pos + len - 4, `block of type 0x${type.toString(16)} has a trailing length that differs from its leading length ${len}`);
    const body = pos + 8;
    const bodyEnd = pos + len - 4;
    switch (type) {
      case PCAPNG_SHB: {
        if (len < 28) fail(base + pos, 'section header block too short');
        const major = u16(body + 4);
        if (major !== 1) fail(base + pos + 12, `unsupported pcapng version ${major}`);
        ifaces = [];
        res.sections++;
        break;
      }
      case 1: {
        if (len < 20) fail(base + pos, 'interface description block too short');
        const iface: Iface = { linkType: u16(body), snapLen: u32(body + 4), tsUnitsPerSec: 1e6, tsOffsetSec: 0 };
        readOptions(body + 8, bodyEnd, (code, o, l) => {
          if (code === 9 && l >= 1) {
            const v = buf[o]!;
            iface.tsUnitsPerSec = v & 0x80 ? 2 ** (v & 0x7f) : 10 ** (v & 0x7f);
          } else if (code === 14 && l >= 8) {
            const hi = le ? buf.readInt32LE(o + 4) : buf.readInt32BE(o);
            const lo = le ? buf.readUInt32LE(o) : buf.readUInt32BE(o + 4);
            iface.tsOffsetSec = hi * 2 ** 32 + lo;
          }
        });
        ifaces.push(iface);
        res.snapLens.push(iface.snapLen);
        res.linkTypes.push(iface.linkType);
        break;
      }
      case 6:
      case 2: {
        if (len < 32) fail(base + pos, 'packet block too short');
        const ifId = type === 6 ? u32(body) : u16(body);
        const iface = ifaces[ifId];
        if (!iface) fail(base + pos, `packet block names interface ${ifId}, but the section describes ${ifaces.length}`);
        const capLen = u32(body + 12);
        if (body + 20 + capLen > bodyEnd) fail(base + pos, `packet block claims ${capLen} captured bytes, more than the block holds`);
        const ts = u32(body + 4) * 2 ** 32 + u32(body + 8);
        emit(iface!, ifId, body + 20, capLen, u32(body + 16), ts);
        break;
      }
      case 3: {
        if (len < 16) fail(base + pos, 'simple packet block too short');
        const iface = ifaces[0];
        if (!iface) fail(base + pos, 'simple packet block in a section without an interface');
        const origLen = u32(body);
        let capLen = Math.min(origLen, bodyEnd - (body + 4));
        if (iface!.snapLen > 0) capLen = Math.min(capLen, iface!.snapLen);
        emit(iface!, 0, body + 4, capLen, origLen, NaN);
        break;
      }
      default:
        res.skippedBlocks++;
    }
    pos += len;
    return true;
  };

  const emit = (iface: Iface, ifId: number, off: number, capLen: number, origLen: number, ts: number) => {
    rec.data = buf;
    rec.offset = off;
    rec.capLen = capLen;
    rec.origLen = origLen;
    rec.linkType = iface.linkType;
    rec.tsMs = Number.isNaN(ts) ? NaN : (ts / iface.tsUnitsPerSec + iface.tsOffsetSec) * 1000;
    rec.ifIndex = ifId;
    res.packets++;
    if (capLen < origLen) res.truncatedRecords++;
    onPacket(rec);
  };

  const readOptions = (start: number, end: number, cb: (code: number, off: number, len: number) => void) => {
    let o = start;
    while (o + 4 <= end) {
      const code = u16(o);
      const l = u16(o + 2);
      if (code === 0) break;
      if (o + 4 + l > end) break; // a bad option list ends the options, not the file
      cb(code, o + 4, l);
      o += 4 + ((l + 3) & ~3);
    }
  };

  for await (const chunk of stream as AsyncIterable<Buffer>) {
    res.bytes += chunk.length;
    const left = buf.length - pos;
    if (left > 0) {
      // A unit straddles the chunks: finish it in a small buffer (the leftover plus the head of
      // the new chunk) and go on in the chunk itself, rather than copying every chunk.
      base += pos;
      buf = Buffer.concat([buf.subarray(pos), chunk.subarray(0, Math.min(chunk.length, STRADDLE_BYTES))]);
      pos = 0;
      while (pos < left && step()) {
        /* records delivered inside step */
      }
      if (pos >= left) {
        base += left;
        pos -= left;
        buf = chunk;
      } else {
        // The unit is larger than the straddle buffer (big pcapng blocks): join it whole.
        base += pos;
        buf = Buffer.concat([buf.subarray(pos, left), chunk]);
        pos = 0;
      }
    } else {
      base += buf.length;
      buf = chunk;
      pos = 0;
    }
    while (step()) {
      /* records delivered inside step */
    }
  }
  if (!started) fail(0, res.bytes === 0 ? 'the file is empty' : `file ends after ${res.bytes} bytes, before the capture header is complete`);
  if (pos < buf.length) {
    const left = buf.length - pos;
    fail(base + pos, ng ? `file ends inside a block (${left} bytes of an incomplete block)` : `file ends inside a packet record (${left} bytes of an incomplete record)`);
  }
  return res;
}
