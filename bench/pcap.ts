/**
 * Generates a synthetic classic pcap of the requested size, fast: a 4 MiB block of records (VXLAN
 * and GRE tunnels whose packets fragment, ICMP frag-needed, plain traffic, small ACK-like packets)
 * is written over and over with fresh IP ids and timestamps, so fragments of different datagrams
 * never share an id within the aggregation window.
 *
 *   node dist/bench/pcap.js OUT.pcap SIZE_MIB
 */
import { createWriteStream } from 'node:fs';

const u16 = (b: Buffer, v: number, o: number) => b.writeUInt16BE(v & 0xffff, o);

function ipv4(src: number, dst: number, proto: number, flagsOff: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  u16(h, 20 + payload.length, 2);
  u16(h, flagsOff, 6);
  h[8] = 64;
  h[9] = proto;
  h.writeUInt32BE(src >>> 0, 12);
  h.writeUInt32BE(dst >>> 0, 16);
  return Buffer.concat([h, payload]);
}

const ETH = Buffer.from([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0]);
const eth = (ip: Buffer) => Buffer.concat([ETH, ip]);
const innerFrame = (n: number) => Buffer.concat([ETH, ipv4(0x0a010101, 0x0a010102, 1, 0, Buffer.alloc(n - 20, 0x61))]);

/** The packets of one template round; `idAt` lists where each datagram's IP id lives. */
function template(): { frames: Buffer[]; idAt: [number, number][] } {
  const frames: Buffer[] = [];
  const idAt: [number, number][] = [];
  const hostA = 0xc0000201;
  for (let t = 0; t < 8; t++) {
    const dst = 0xc0000210 + t;
    // VXLAN 1500-byte guest packet on a 1500 underlay: two outer fragments.
    const vx = Buffer.concat([Buffer.from([0xc3, 0x50, 0x12, 0xb5, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 100 + t, 0]), innerFrame(1500)]);
    vx.writeUInt16BE(vx.length, 4);
    frames.push(eth(ipv4(hostA, dst, 17, 0x2000, vx.subarray(0, 1480))));
    idAt.push([frames.length - 1, 14 + 4]);
    frames.push(eth(ipv4(hostA, dst, 17, 1480 / 8, vx.subarray(1480))));
    idAt.push([frames.length - 1, 14 + 4]);
    // GRE key 42 + TEB.
    const gre = Buffer.concat([Buffer.from([0x20, 0, 0x65, 0x58, 0, 0, 0, 42 + t]), innerFrame(1500)]);
    frames.push(eth(ipv4(hostA, dst, 47, 0x2000, gre.subarray(0, 1480))));
    idAt.push([frames.length - 1, 14 + 4]);
    frames.push(eth(ipv4(hostA, dst, 47, 1480 / 8, gre.subarray(1480))));
    idAt.push([frames.length - 1, 14 + 4]);
    // Whole tunnel packets and small plain ones.
    for (let i = 0; i < 6; i++) {
      const small = Buffer.concat([Buffer.from([0xc3, 0x50, 0x12, 0xb5, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 100 + t, 0]), innerFrame(400)]);
      small.writeUInt16BE(small.length, 4);
      frames.push(eth(ipv4(hostA, dst, 17, 0x4000, small)));
      frames.push(eth(ipv4(dst, hostA, 6, 0x4000, Buffer.alloc(32))));
    }
  }
  // One frag-needed quoting a VXLAN packet.
  const quoted = ipv4(hostA, 0xc0000210, 17, 0x4000, Buffer.from([0xc3, 0x50, 0x12, 0xb5, 5, 0xdc, 0, 0, 8, 0, 0, 0, 0, 0, 100, 0]));
  const icmp = Buffer.concat([Buffer.from([3, 4, 0, 0, 0, 0, 0x05, 0x78]), quoted]);
  frames.push(eth(ipv4(0xc00002fe, hostA, 1, 0, icmp)));
  return { frames, idAt };
}

async function main(): Promise<void> {
  const out = process.argv[2];
  const mib = Number(process.argv[3] ?? 1024);
  if (!out || !Number.isFinite(mib)) throw new Error('usage: node dist/bench/pcap.js OUT.pcap SIZE_MIB');
  const { frames, idAt } = template();
  // Lay the template out as pcap records in one block, repeated until the block is ~4 MiB.
  const recs: Buffer[] = [];
  const ids: number[] = []; // absolute offsets of IP ids in the block
  const tsAt: number[] = [];
  let len = 0;
  let datagrams = 0;
  while (len < 4 << 20) {
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i]!;
      const h = Buffer.alloc(16);
      h.writeUInt32LE(f.length, 8);
      h.writeUInt32LE(f.length, 12);
      tsAt.push(len);
      recs.push(h, f);
      len += 16 + f.length;
    }
    datagrams++;
  }
  const block = Buffer.concat(recs);
  // Find the id offsets again in the flat block.
  let off = 0;
  let rec = 0;
  const perRound = frames.length;
  const idRecs = new Set(idAt.map(([i]) => i));
  while (off < block.length) {
    const cap = block.readUInt32LE(off + 8);
    if (idRecs.has(rec % perRound)) ids.push(off + 16 + 14 + 4);
    off += 16 + cap;
    rec++;
  }
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(262144, 16);
  header.writeUInt32LE(1, 20);
  const ws = createWriteStream(out);
  ws.write(header);
  const rounds = Math.ceil((mib * 1024 * 1024) / block.length);
  let sec = 1_700_000_000;
  for (let r = 0; r < rounds; r++) {
    const b = Buffer.from(block);
    // Fragments of one datagram share an id: pairs (first, rest) get the same fresh id.
    for (let i = 0; i < ids.length; i += 2) {
      const id = (r * ids.length + i) & 0xffff;
      b.writeUInt16BE(id, ids[i]!);
      if (i + 1 < ids.length) b.writeUInt16BE(id, ids[i + 1]!);
    }
    for (const t of tsAt) b.writeUInt32LE(sec, t);
    sec++;
    if (!ws.write(b)) await new Promise<void>((res) => ws.once('drain', () => res()));
  }
  await new Promise<void>((res, rej) => ws.end((e?: Error | null) => (e ? rej(e) : res())));
  process.stdout.write(`${out}: ${rounds} rounds of ${block.length} bytes (${datagrams} template copies each)\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${String(e)}\n`);
  process.exit(3);
});
