/**
 * Fuzzing (seeded, bounded): random bytes behind valid magics, and mutations (bit flips, byte
 * overwrites with boundary values, cuts, duplicated spans) of real and synthetic captures never
 * crash or hang the reader/decoder/aggregation: each run ends with a result or a NetdiagError.
 */
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { analyseCapture } from '../../../collectors/pcap/analyse.js';
import { NetdiagError } from '../../../core/errors.js';
import { eth, geneve, gre, icmpFragNeeded, ipv4, ipv6, pcapFile, pcapngFile, pingPayload, stt, udp, vxlan } from '../../helpers/pcapwrite.js';

/** mulberry32: a small seeded PRNG so failures reproduce. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const inner = eth(0x0800, ipv4({ src: '10.1.1.1', dst: '10.1.1.2', proto: 1, mf: true }, pingPayload(200)));
const packets = [
  eth(0x0800, ipv4({ src: '192.0.2.1', dst: '192.0.2.2', proto: 17, mf: true, id: 5 }, udp(1, 4789, vxlan(1, inner)))),
  eth(0x0800, ipv4({ src: '192.0.2.1', dst: '192.0.2.2', proto: 17, offset: 8, id: 5 }, pingPayload(100))),
  eth(0x0800, ipv4({ src: '192.0.2.1', dst: '192.0.2.2', proto: 47 }, gre(inner, { key: 42 }))),
  eth(0x0800, ipv4({ src: '192.0.2.1', dst: '192.0.2.2', proto: 17 }, udp(1, 6081, geneve(7, 8, inner)))),
  eth(0x0800, ipv4({ src: '192.0.2.1', dst: '192.0.2.2', proto: 6 }, stt(9n, inner, { offset: 0, total: 300 }))),
  eth(0x0800, ipv4({ src: '192.0.2.254', dst: '192.0.2.1', proto: 1 }, icmpFragNeeded(1400, ipv4({ src: '192.0.2.1', dst: '192.0.2.2', proto: 17 }, udp(1, 8472, vxlan(3, Buffer.alloc(0))))))),
  eth(0x86dd, ipv6({ src: 'fd00::1', dst: 'fd00::2', next: 17, ext: [{ type: 0 }, { type: 44, offset: 0, mf: true, id: 1 }] }, udp(1, 4789, vxlan(2, inner))), [{ vid: 100 }]),
];
const seeds: Buffer[] = [
  pcapFile(packets.map((data) => ({ data }))),
  pcapFile(packets.map((data) => ({ data })), { ns: true, bigEndian: true }),
  pcapngFile([{ interfaces: [{ linkType: 1 }, { linkType: 113, tsresol: 9 }], packets: packets.map((data, i) => ({ data: i % 2 ? Buffer.concat([Buffer.alloc(14), Buffer.from([8, 0]), data.subarray(14)]) : data, iface: i % 2, block: i === 3 ? ('spb' as const) : undefined })) }]),
  readFileSync(new URL('../../../examples/bundle/hv-01/tcpdump-i-eth1-underlay.pcap', import.meta.url)).subarray(0, 6000),
  readFileSync(new URL('../../../examples/bundle/hv-01/dumpcap-i-eth1-underlay.pcapng', import.meta.url)).subarray(0, 6000),
];

const BOUNDARY = [0x00, 0xff, 0x7f, 0x80, 0x01, 0x2c, 0x44, 0x11, 0x06, 0x2f];

function mutate(src: Buffer, rnd: () => number): Buffer {
  let b = Buffer.from(src);
  const ops = 1 + Math.floor(rnd() * 6);
  for (let i = 0; i < ops; i++) {
    const at = Math.floor(rnd() * b.length);
    switch (Math.floor(rnd() * 5)) {
      case 0:
        b[at] = b[at]! ^ (1 << Math.floor(rnd() * 8));
        break;
      case 1:
        b[at] = BOUNDARY[Math.floor(rnd() * BOUNDARY.length)]!;
        break;
      case 2:
        if (at + 4 <= b.length) b.writeUInt32LE(Math.floor(rnd() * 2 ** 32), at);
        break;
      case 3:
        b = b.subarray(0, at);
        break;
      case 4: {
        const len = Math.floor(rnd() * 64);
        b = Buffer.concat([b.subarray(0, at), b.subarray(at, at + len), b.subarray(at)]);
        break;
      }
    }
  }
  return b;
}

async function runOnce(buf: Buffer, chunk: number): Promise<void> {
  const parts: Buffer[] = [];
  for (let i = 0; i < buf.length; i += chunk) parts.push(buf.subarray(i, i + chunk));
  const s = await analyseCapture(Readable.from(parts), 'fuzz.pcap');
  if (s.error !== undefined) expect(s.error).toBeInstanceOf(NetdiagError);
  expect(s.health.packets).toBeGreaterThanOrEqual(0);
}

describe('fuzzed captures', () => {
  it('1500 mutations of real and synthetic captures end cleanly (seed 20261123)', async () => {
    const rnd = prng(20261123);
    const started = Date.now();
    for (let i = 0; i < 1500; i++) {
      const seed = seeds[i % seeds.length]!;
      await runOnce(mutate(seed, rnd), 1 + Math.floor(rnd() * 2048));
    }
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('random bytes behind each magic end cleanly (seed 7)', async () => {
    const rnd = prng(7);
    const magics = [seeds[0]!.subarray(0, 24), seeds[1]!.subarray(0, 24), seeds[2]!.subarray(0, 28)];
    for (let i = 0; i < 600; i++) {
      const body = Buffer.alloc(Math.floor(rnd() * 3000));
      for (let j = 0; j < body.length; j++) body[j] = Math.floor(rnd() * 256);
      await runOnce(Buffer.concat([magics[i % magics.length]!, body]), 1 + Math.floor(rnd() * 512));
    }
  });
});
