/**
 * Decoder and aggregation on synthetic packets, for what the kernels here cannot send (Geneve,
 * STT, QinQ, GRE options, SLL/SLL2/NULL/RAW link types, IPv6 extension headers).
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { analyseCapture } from '../../../collectors/pcap/analyse.js';
import { decodePacket, formatAddr, newDecoded } from '../../../collectors/pcap/decode.js';
import { ObservationStore } from '../../../core/observation.js';
import { analyzeMtuFragmentation, mtuBudget, mtuFragmentationSchema } from '../../../analyzers/mtu_fragmentation/analyze.js';
import { encapOverhead } from '../../../analyzers/mtu_fragmentation/overhead.js';
import {
  eth, geneve, gre, icmp6TooBig, icmpFragNeeded, ipv4, ipv6, pcapFile, pcapngFile, pingPayload, stt, udp, vxlan, type Rec,
} from '../../helpers/pcapwrite.js';

const A = '192.0.2.1';
const B = '192.0.2.2';
const innerPing = (n: number, o: { mf?: boolean; offset?: number } = {}) => eth(0x0800, ipv4({ src: '10.1.1.1', dst: '10.1.1.2', proto: 1, ...o }, pingPayload(n)));

function decode(buf: Buffer, linkType = 1) {
  return decodePacket(newDecoded(), buf, 0, buf.length, linkType);
}

async function summarise(recs: Rec[], linkType = 1) {
  return analyseCapture(Readable.from([pcapFile(recs, { linkType })]), 'synthetic.pcap');
}

describe('decodePacket', () => {
  it('VXLAN on 4789 and 8472, with the inner frame and its fragment flags', () => {
    for (const port of [4789, 8472]) {
      const d = decode(eth(0x0800, ipv4({ src: A, dst: B, proto: 17, df: true }, udp(50000, port, vxlan(5001, innerPing(100, { mf: true }))))));
      expect(d.tunnel).toMatchObject({ type: 'vxlan', key: 5001, overhead: 50 });
      expect(d.df).toBe(true);
      expect(d.innerFragment).toBe(true);
      expect(formatAddr(d.buf, d.srcOff, 4)).toBe(A);
    }
  });

  it('GRE with key (TEB), without key, with checksum + sequence, and L3 GRE', () => {
    expect(decode(eth(0x0800, ipv4({ src: A, dst: B, proto: 47 }, gre(innerPing(10), { key: 42 })))).tunnel).toMatchObject({ type: 'gre', key: 42, overhead: 42 });
    expect(decode(eth(0x0800, ipv4({ src: A, dst: B, proto: 47 }, gre(innerPing(10))))).tunnel).toMatchObject({ type: 'gre', key: -1, overhead: 38 });
    expect(decode(eth(0x0800, ipv4({ src: A, dst: B, proto: 47 }, gre(innerPing(10), { key: 7, checksum: true, seq: 1 })))).tunnel).toMatchObject({ key: 7, overhead: 50 });
    const l3 = decode(eth(0x0800, ipv4({ src: A, dst: B, proto: 47 }, gre(ipv4({ src: '10.1.1.1', dst: '10.1.1.2', proto: 1, mf: true }, pingPayload(8)), { protocol: 0x0800 }))));
    expect(l3.tunnel).toMatchObject({ type: 'gre', overhead: 24 });
    expect(l3.innerFragment).toBe(true);
  });

  it('Geneve with options: VNI and overhead 50 + options', () => {
    const d = decode(eth(0x0800, ipv4({ src: A, dst: B, proto: 17 }, udp(1, 6081, geneve(77, 8, innerPing(10))))));
    expect(d.tunnel).toMatchObject({ type: 'geneve', key: 77, optionBytes: 8, overhead: 58 });
    expect(d.innerIpVersion).toBe(4);
  });

  it('STT: context id from the first segment, overhead 72; later segments carry none', () => {
    const first = decode(eth(0x0800, ipv4({ src: A, dst: B, proto: 6 }, stt(0x1234n, innerPing(100), { offset: 0, total: 3000 }))));
    expect(first.tunnel).toMatchObject({ type: 'stt', key: 0x1234, overhead: 72 });
    const later = decode(eth(0x0800, ipv4({ src: A, dst: B, proto: 6 }, stt(0x1234n, pingPayload(100), { offset: 1448, total: 3000 }))));
    expect(later.tunnel).toMatchObject({ type: 'stt', key: -1 });
  });

  it('802.1Q and QinQ (0x88a8 + 0x8100) before the outer IP', () => {
    const d = decode(eth(0x0800, ipv4({ src: A, dst: B, proto: 17 }, udp(1, 4789, vxlan(9, innerPing(10)))), [{ tpid: 0x88a8, vid: 10 }, { vid: 20 }]));
    expect(d.vlanTags).toBe(2);
    expect(d.tunnel.key).toBe(9);
  });

  it('link types LINUX_SLL, LINUX_SLL2, RAW (101/12/14), NULL (both byte orders), IPV4 (228), IPV6 (229)', () => {
    const ip = ipv4({ src: A, dst: B, proto: 17 }, udp(1, 4789, vxlan(3, innerPing(10))));
    const sll = Buffer.concat([Buffer.alloc(14), Buffer.from([0x08, 0x00]), ip]);
    const sll2 = Buffer.concat([Buffer.from([0x08, 0x00]), Buffer.alloc(18), ip]);
    const nullLe = Buffer.concat([Buffer.from([2, 0, 0, 0]), ip]);
    const nullBe = Buffer.concat([Buffer.from([0, 0, 0, 2]), ip]);
    for (const [buf, lt] of [[sll, 113], [sll2, 276], [ip, 101], [ip, 12], [ip, 14], [nullLe, 0], [nullBe, 0], [ip, 228]] as const) {
      expect(decode(buf, lt).tunnel.key, `link type ${lt}`).toBe(3);
    }
    const ip6 = ipv6({ src: 'fd00::1', dst: 'fd00::2', next: 17 }, udp(1, 4789, vxlan(4, innerPing(10))));
    expect(decode(ip6, 229).tunnel).toMatchObject({ type: 'vxlan', key: 4, overhead: 70 });
    expect(decode(Buffer.concat([Buffer.from([30, 0, 0, 0]), ip6]), 0).tunnel.key).toBe(4);
  });

  it('IPv6 extension headers and the fragment header', () => {
    const first = decode(eth(0x86dd, ipv6({ src: 'fd00::1', dst: 'fd00::2', next: 17, ext: [{ type: 0 }, { type: 60 }, { type: 44, offset: 0, mf: true, id: 99 }] }, udp(1, 4789, vxlan(6, innerPing(10))))));
    expect(first).toMatchObject({ ipVersion: 6, fragment: true, firstFragment: true, proto: 17 });
    expect(first.tunnel).toMatchObject({ type: 'vxlan', key: 6, overhead: 70 });
    const rest = decode(eth(0x86dd, ipv6({ src: 'fd00::1', dst: 'fd00::2', next: 17, ext: [{ type: 44, offset: 1232, mf: false, id: 99 }] }, pingPayload(64))));
    expect(rest).toMatchObject({ fragment: true, firstFragment: false, fragOffset: 1232 });
    expect(rest.tunnel.type).toBe('');
  });

  it('ICMP frag-needed and ICMPv6 PTB: the MTU and the tunnel of the quoted packet', () => {
    const quoted = ipv4({ src: A, dst: B, proto: 17, df: true, totalLen: 1550 }, udp(1, 8472, vxlan(11, Buffer.alloc(0))));
    const d = decode(eth(0x0800, ipv4({ src: '192.0.2.254', dst: A, proto: 1 }, icmpFragNeeded(1400, quoted))));
    expect(d).toMatchObject({ tooBig: 4, tooBigMtu: 1400 });
    expect(d.quoted).toMatchObject({ type: 'vxlan', key: 11 });
    expect(formatAddr(d.buf, d.quotedDstOff, 4)).toBe(B);
    const q6 = ipv6({ src: 'fd00::1', dst: 'fd00::2', next: 17 }, udp(1, 6081, geneve(12, 4, Buffer.alloc(0))));
    const d6 = decode(eth(0x86dd, ipv6({ src: 'fd00::fe', dst: 'fd00::1', next: 58 }, icmp6TooBig(1280, q6))));
    expect(d6).toMatchObject({ tooBig: 6, tooBigMtu: 1280 });
    expect(d6.quoted).toMatchObject({ type: 'geneve', key: 12 });
  });

  it('never throws on truncated packets', () => {
    const full = eth(0x0800, ipv4({ src: A, dst: B, proto: 17 }, udp(1, 6081, geneve(1, 8, innerPing(10)))));
    for (let n = 0; n <= full.length; n++) for (const lt of [0, 1, 12, 101, 113, 228, 229, 276]) decodePacket(newDecoded(), full, 0, n, lt);
  });
});

describe('aggregation per tunnel', () => {
  it('ties non-first fragments to their tunnel, even when they arrive before the first', async () => {
    const big = udp(40000, 4789, vxlan(42, innerPing(1500)));
    const frag = (mf: boolean, offset: number, body: Buffer) => eth(0x0800, ipv4({ src: A, dst: B, proto: 17, id: 7, mf, offset, totalLen: 20 + body.length }, body));
    const part1 = big.subarray(0, 1480);
    const part2 = big.subarray(1480);
    const s = await summarise([{ data: frag(false, 1480, part2) }, { data: frag(true, 0, part1) }]);
    expect(s.tunnels).toHaveLength(1);
    expect(s.tunnels[0]).toMatchObject({ type: 'vxlan', key: 42, packets: 2, outerFragments: 2, outerNoDf: 2, largestOuterPacket: 1480 + 20 + part2.length });
    expect(s.health.unattributedFragments).toBe(0);
  });

  it('STT: later segments of a frame are counted on the tunnel of its first segment', async () => {
    const mk = (offset: number) => eth(0x0800, ipv4({ src: A, dst: B, proto: 6, df: true }, stt(5n, offset ? pingPayload(1400) : innerPing(1400), { offset, total: 2900 })));
    const s = await summarise([{ data: mk(0) }, { data: mk(1448) }]);
    expect(s.tunnels).toHaveLength(1);
    expect(s.tunnels[0]).toMatchObject({ type: 'stt', key: 5, packets: 2, outerDf: 2 });
  });

  it('a frag-needed quoting a tunnel packet counts on that tunnel, with the advertised MTU', async () => {
    const data = eth(0x0800, ipv4({ src: A, dst: B, proto: 47, df: true }, gre(innerPing(1400), { key: 42 })));
    const quoted = ipv4({ src: A, dst: B, proto: 47, df: true, totalLen: 1462 }, gre(innerPing(20), { key: 42 }));
    const icmp = eth(0x0800, ipv4({ src: '192.0.2.254', dst: A, proto: 1 }, icmpFragNeeded(1450, quoted)));
    const s = await summarise([{ data }, { data: icmp }, { data: icmp }]);
    expect(s.tunnels).toHaveLength(1);
    expect(s.tunnels[0]).toMatchObject({ type: 'gre', key: 42, packets: 1, icmpFragNeeded: 2, advertisedMtus: [1450], outerDf: 1 });
    const store = new ObservationStore();
    store.add({ kind: 'pcap.tunnel', host: 'hv-01', source: 'synthetic.pcap', data: s.tunnels[0]! });
    const [f] = analyzeMtuFragmentation(store, mtuFragmentationSchema.parse({}));
    expect(f).toMatchObject({ kind: 'mtu_fragmentation', severity: 'critical', subject: { tunnel: { type: 'gre', key: 42, src: A, dst: B } } });
    expect(f!.metrics).toMatchObject({ fragments: 0, icmpFragNeeded: 2, packetTooBig: 0, recommendedMtu: 1450 - 42 });
  });

  it('pcapng with snaplen cuts: sizes come from the original length, cuts are counted', async () => {
    const full = eth(0x0800, ipv4({ src: A, dst: B, proto: 17, mf: true, id: 3 }, udp(1, 4789, vxlan(8, innerPing(1400)))));
    const f = pcapngFile([{ interfaces: [{ linkType: 1, snapLen: 128 }], packets: [{ data: full.subarray(0, 128), origLen: full.length }] }]);
    const s = await analyseCapture(Readable.from([f]), 'cut.pcapng');
    expect(s.health.truncatedRecords).toBe(1);
    expect(s.tunnels[0]).toMatchObject({ largestFrame: full.length, outerFragments: 1 });
  });
});

describe('the MTU budget', () => {
  it('overheads: GRE+key 42, VXLAN 50, Geneve 50+options, STT 72, IPv6 +20', () => {
    expect(encapOverhead('gre')).toBe(42);
    expect(encapOverhead('gre', { greKey: false })).toBe(38);
    expect(encapOverhead('vxlan')).toBe(50);
    expect(encapOverhead('vxlan', { ipv6: true })).toBe(70);
    expect(encapOverhead('geneve', { geneveOptions: 8 })).toBe(58);
    expect(encapOverhead('stt')).toBe(72);
  });

  it('fragments without ICMP: the path MTU is the size the sender cut its fragments to', () => {
    const b = mtuBudget({ type: 'vxlan', src: A, dst: B, ipVersion: 4, capture: 'x', packets: 2, bytes: 0, outerFragments: 2, innerFragments: 0, outerDf: 0, outerNoDf: 2, icmpFragNeeded: 0, packetTooBig: 0, advertisedMtus: [], largestFrame: 1514, largestOuterPacket: 1550, largestOuterFragment: 1500, largestInnerPacket: 1500, overhead: 50, optionBytes: 0 });
    expect(b).toMatchObject({ pathMtu: 1500, pathMtuFrom: 'fragments', recommendedMtu: 1450, requiredUnderlayMtu: 1550 });
  });
});
