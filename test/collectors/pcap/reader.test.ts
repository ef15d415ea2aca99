import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { captureFormat, readCapture, type PacketRecord } from '../../../collectors/pcap/reader.js';
import { NetdiagError } from '../../../core/errors.js';
import { eth, ipv4, pcapFile, pcapngFile, pingPayload, type Rec } from '../../helpers/pcapwrite.js';

const pkt = (n: number) => eth(0x0800, ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 1, id: n }, pingPayload(20 + n)));

/** Feed a buffer in chunks of `chunk` bytes (records straddle chunk borders). */
function chunks(buf: Buffer, chunk: number): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < buf.length; i += chunk) parts.push(buf.subarray(i, i + chunk));
  return Readable.from(parts);
}

async function readAll(buf: Buffer, chunk = 7) {
  const got: { len: number; orig: number; lt: number; ts: number; iface: number; first: number }[] = [];
  const res = await readCapture(chunks(buf, chunk), 'x.pcap', (r: PacketRecord) =>
    got.push({ len: r.capLen, orig: r.origLen, lt: r.linkType, ts: r.tsMs, iface: r.ifIndex, first: r.data[r.offset + 12]! }),
  );
  return { res, got };
}

describe('classic pcap', () => {
  const recs: Rec[] = [0, 1, 2].map((i) => ({ data: pkt(i), ts: 1_700_000_000 + i + 0.25 }));
  for (const ns of [false, true]) {
    for (const bigEndian of [false, true]) {
      it(`${ns ? 'ns' : 'µs'} magic, ${bigEndian ? 'big' : 'little'}-endian, records split across chunks`, async () => {
        const f = pcapFile(recs, { ns, bigEndian, linkType: 1 });
        expect(captureFormat(f)).toBe(ns ? 'pcap-ns' : 'pcap');
        const { res, got } = await readAll(f, 5);
        expect(res.format).toBe(ns ? 'pcap-ns' : 'pcap');
        expect(res.bigEndian).toBe(bigEndian);
        expect(res.packets).toBe(3);
        expect(got.map((g) => g.len)).toEqual(recs.map((r) => r.data.length));
        expect(got.map((g) => g.ts)).toEqual([1_700_000_000_250, 1_700_000_001_250, 1_700_000_002_250]);
        expect(got.every((g) => g.first === 0x08)).toBe(true);
      });
    }
  }

  it('counts snaplen cuts and keeps orig_len', async () => {
    const data = pkt(1);
    const f = pcapFile([{ data: data.subarray(0, 40), origLen: 1514 }], { snapLen: 40 });
    const { res, got } = await readAll(f);
    expect(res.truncatedRecords).toBe(1);
    expect(got[0]).toMatchObject({ len: 40, orig: 1514 });
  });

  it('masks FCS bits out of the link type', async () => {
    const f = pcapFile([{ data: pkt(0) }], { linkType: 0x10000001 });
    const { got } = await readAll(f);
    expect(got[0]!.lt).toBe(1);
  });

  it('a file cut inside a record yields the packets before it and an error naming the file and offset', async () => {
    const f = pcapFile([{ data: pkt(0) }, { data: pkt(1) }]);
    const cut = f.subarray(0, f.length - 10);
    const seen: number[] = [];
    const err = await readCapture(chunks(cut, 100), 'cut.pcap', (r) => seen.push(r.capLen)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetdiagError);
    expect((err as Error).message).toMatch(/capture cut\.pcap: file ends inside a packet record .* at byte offset \d+ \(after 1 packets\)/);
    expect(seen).toHaveLength(1);
    expect((err as { result: { packets: number } }).result.packets).toBe(1);
  });

  it('a corrupt record length stops with an error at that offset instead of buffering gigabytes', async () => {
    const f = pcapFile([{ data: pkt(0) }, { data: pkt(1) }]);
    const off = 24 + 16 + pkt(0).length;
    f.writeUInt32LE(0x7fffffff, off + 8);
    const err = (await readCapture(chunks(f, 64), 'bad.pcap', () => {}).catch((e: unknown) => e)) as Error;
    expect(err.message).toContain(`at byte offset ${off}`);
    expect(err.message).toContain('corrupt record header');
  });

  it('rejects what is not a capture, and an empty file', async () => {
    await expect(readCapture(Readable.from([Buffer.from('hello world, not a pcap at all')]), 't.txt', () => {})).rejects.toThrow(/not a pcap or pcapng file/);
    await expect(readCapture(Readable.from([]), 'empty.pcap', () => {})).rejects.toThrow(/the file is empty/);
    expect(captureFormat(Buffer.from('# command: ovs-ofctl'))).toBeUndefined();
  });
});

describe('pcapng', () => {
  it('several sections of both byte orders, several interfaces, if_tsresol / if_tsoffset, EPB/SPB/PB, skipped blocks', async () => {
    const f = pcapngFile([
      {
        interfaces: [{ linkType: 1 }, { linkType: 113, tsresol: 9 }],
        packets: [
          { data: pkt(0), ts: 1_700_000_000.5 },
          { data: Buffer.concat([Buffer.alloc(16), pkt(1).subarray(14)]), iface: 1, ts: 1_700_000_001.123456789 },
          { data: pkt(2), block: 'spb' },
        ],
        extra: [
          { type: 4, body: Buffer.from([1, 0, 8, 0, 10, 0, 0, 1, 104, 111, 115, 116, 0, 0, 0, 0, 0, 0, 0, 0]) }, // NRB
          { type: 5, body: Buffer.alloc(12) }, // ISB
          { type: 0x40000bad, body: Buffer.alloc(8) }, // custom
        ],
      },
      {
        bigEndian: true,
        interfaces: [{ linkType: 101, tsresol: 0x80 | 20, tsoffset: 1_000_000_000 }],
        packets: [
          { data: pkt(3).subarray(14), ts: 1_700_000_003.5 },
          { data: pkt(4).subarray(14), block: 'pb', ts: 1_700_000_004.25 },
        ],
      },
    ]);
    expect(captureFormat(f)).toBe('pcapng');
    const { res, got } = await readAll(f, 13);
    expect(res).toMatchObject({ format: 'pcapng', sections: 2, packets: 5, skippedBlocks: 3, linkTypes: [1, 113, 101] });
    expect(got.map((g) => g.lt)).toEqual([1, 113, 1, 101, 101]);
    expect(got.map((g) => g.iface)).toEqual([0, 1, 0, 0, 0]);
    expect(got[0]!.ts).toBeCloseTo(1_700_000_000_500, 3);
    expect(got[1]!.ts).toBeCloseTo(1_700_000_001_123.456789, 3);
    expect(Number.isNaN(got[2]!.ts)).toBe(true); // an SPB has no timestamp
    expect(got[3]!.ts).toBeCloseTo(1_700_000_003_500, 0);
    expect(got[4]!.ts).toBeCloseTo(1_700_000_004_250, 0);
  });

  it('a block naming an interface the section does not describe is a clear error', async () => {
    const f = pcapngFile([{ interfaces: [{ linkType: 1 }], packets: [{ data: pkt(0), iface: 0 }] }]);
    // point the EPB at interface 3
    const epb = f.indexOf(Buffer.from([6, 0, 0, 0]), 20);
    f.writeUInt32LE(3, epb + 8);
    await expect(readCapture(Readable.from([f]), 'x.pcapng', () => {})).rejects.toThrow(/names interface 3, but the section describes 1/);
  });

  it('a mismatched trailing length is reported at its offset', async () => {
    const f = pcapngFile([{ interfaces: [{ linkType: 1 }], packets: [{ data: pkt(0) }] }]);
    f.writeUInt32LE(999, f.length - 4);
    await expect(readCapture(Readable.from([f]), 'x.pcapng', () => {})).rejects.toThrow(new RegExp(`trailing length .* at byte offset ${f.length - 4}`));
  });
});
