/**
 * The fast scan (needle search, decode only records around hits) and the full scan (every line
 * through the assembler, as the live follower does) must give identical observations.
 * Also: garbage, binary blobs and a 10 MB line never crash either scan, and are counted.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { AnyObservation } from '../../../core/observation.js';
import { RecordAssembler, observationsFromRecord, type LogRecord } from '../../../collectors/cloudstack-log/parse.js';
import { FastScanner, FullScanner, MAX_LINE_BYTES } from '../../../collectors/cloudstack-log/scan.js';

const CASES = join(__dirname, '..', '..', 'fixtures', 'cloudstack-log', 'cases');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

function scan(kind: 'full' | 'fast', content: Buffer, chunk: number) {
  const obs: AnyObservation[] = [];
  const opts = { source: 'f', host: 'h', syslogYear: 2026, emit: (o: AnyObservation) => obs.push(o) };
  const sc = kind === 'full' ? new FullScanner(opts) : new FastScanner(opts);
  for (let i = 0; i < content.length; i += chunk) sc.push(content.subarray(i, Math.min(content.length, i + chunk)));
  const res = sc.end();
  return { obs, res };
}

/** Positions differ in form (line vs byte offset): compare everything else, and the offset. */
function normalise(obs: AnyObservation[]) {
  return obs.map((o) => {
    const data = { ...(o.data as unknown as Record<string, unknown>) };
    delete data.line;
    return { kind: o.kind, at: o.at, host: o.host, offset: data.offset, data };
  });
}

const inputs = files(CASES)
  .filter((p) => p.includes(`${'/input/'}`) && !p.endsWith('ovstunnel.log'))
  .map((p) => ({ name: p.slice(CASES.length + 1), content: p.endsWith('.gz') ? gunzipSync(readFileSync(p)) : readFileSync(p) }));

describe('fast scan and full scan agree', () => {
  for (const { name, content } of inputs) {
    it(name, () => {
      const full = scan('full', content, 1 << 20);
      expect(full.obs.length).toBeGreaterThanOrEqual(0);
      for (const chunk of [1 << 20, 4096, 333, 17]) {
        const fast = scan('fast', content, chunk);
        expect(normalise(fast.obs)).toEqual(normalise(full.obs));
        for (const o of fast.obs) expect(o.source).toMatch(/^f@\d+$/);
      }
      // The same records as the line-by-line assembler the live follower uses.
      const asm = new RecordAssembler({ syslogYear: 2026 });
      const recs: LogRecord[] = [];
      const lines = content.toString('utf8').split('\n');
      if (lines[lines.length - 1] === '') lines.pop(); // the file ends with a newline
      lines.forEach((l, i) => {
          const r = asm.push(l, i + 1);
          if (r) recs.push(r);
        });
      const last = asm.flush();
      if (last) recs.push(last);
      const follower = recs.flatMap((r) => observationsFromRecord(r, { source: 'f', host: 'h' }));
      const strip = (xs: AnyObservation[]) => xs.map((o) => ({ ...o, data: { ...(o.data as object), offset: undefined } }));
      expect(strip(follower)).toEqual(strip(full.obs));
      expect(recs.length).toBe(full.res.records);
    });
  }

  it('agrees on a large mixed log pushed in odd chunk sizes (record boundaries across chunks)', () => {
    const content = readFileSync(join(CASES, 'log4j1-conflict-burst', 'input', 'mgmt-01', 'management-server.log'));
    const big = Buffer.concat(Array.from({ length: 200 }, () => content)); // ~5 MB
    const full = scan('full', big, 65536);
    const fast = scan('fast', big, 1_000_003);
    expect(full.obs.filter((o) => o.kind === 'nvp.exception')).toHaveLength(1200);
    expect(normalise(fast.obs)).toEqual(normalise(full.obs));
  });
});

describe('robustness', () => {
  const good = readFileSync(join(CASES, 'log4j2-auth-pings', 'input', 'mgmt-01', 'management-server.log'));
  const expected = scan('full', good, 1 << 20).obs.length;

  it('survives a 10 MB line, a binary blob and garbage, counting them, and still finds what follows', () => {
    const blob = Buffer.alloc(300_000);
    for (let i = 0; i < blob.length; i++) blob[i] = (i * 7919) % 256;
    const tenMb = Buffer.alloc(10 << 20, 'x');
    const content = Buffer.concat([Buffer.from('junk before anything\n'), blob, Buffer.from('\n'), good, tenMb, Buffer.from('\n'), good]);
    const before = process.memoryUsage().rss;
    const full = scan('full', content, 1 << 20);
    expect(process.memoryUsage().rss - before).toBeLessThan(150 << 20);
    expect(full.obs.length).toBe(2 * expected);
    expect(full.res.longLines).toBeGreaterThanOrEqual(1);
    expect(full.res.skippedBytes).toBeGreaterThanOrEqual((10 << 20) - MAX_LINE_BYTES);
    expect(full.res.skipped).toBeGreaterThanOrEqual(2);
    const fast = scan('fast', content, 4 << 20);
    expect(normalise(fast.obs)).toEqual(normalise(full.obs));
  });

  it('a record whose line holds the needle only beyond the 64 KiB cut yields nothing in both scans', () => {
    const line = `2026-11-21 10:00:00,000 ERROR [c.c.a.ApiServer] (qtp1-1:ctx-1) (logid:1) ${'y'.repeat(MAX_LINE_BYTES)} NiciraNvpApiException Unexpected status code: 500\n`;
    const content = Buffer.from(line + line);
    expect(scan('full', content, 1 << 20).obs).toEqual([]);
    expect(scan('fast', content, 1 << 20).obs).toEqual([]);
  });

  it('an unknown layout or pure binary input gives no observations and no crash', () => {
    const bin = Buffer.alloc(1 << 20);
    for (let i = 0; i < bin.length; i++) bin[i] = (i * 31) % 256;
    for (const k of ['full', 'fast'] as const) {
      const r = scan(k, bin, 65536);
      expect(r.obs).toEqual([]);
    }
    const r = scan('full', bin, 65536);
    expect(r.res.records).toBe(0);
    expect(r.res.skipped).toBeGreaterThan(0);
  });
});
