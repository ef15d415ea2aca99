/**
 * Two ways to read a CloudStack log from byte chunks, both feeding the same `RecordAssembler` and
 * `observationsFromRecord` (parse.ts), so they give the same observations:
 *
 * - `FullScanner`: every line, exact record/garbage counts and line numbers. Used for ordinary
 *   files and by tests; the live follower does the same line by line.
 * - `FastScanner`: for huge files. Searches the raw bytes for the candidate needles
 *   (`CANDIDATE_NEEDLES`) with `Buffer.indexOf`, and decodes only the record around each hit
 *   (its start found by scanning back to a line that starts a record, its end at the next one).
 *   The 99% of lines that cannot matter are never turned into strings. Positions are byte
 *   offsets (line numbers would need every newline counted, which costs as much as the scan).
 *
 * No I/O here: callers push chunks, or read straight into `readTarget()` then `accept()` + `scan()`.
 */
import type { AnyObservation } from '../../core/observation.js';
import { CANDIDATE_NEEDLES, type LogRecord, observationsFromRecord, OVSTUNNEL_NEEDLES, parseLineHead, RecordAssembler } from './parse.js';

/** Lines longer than this are cut (the rest is counted in skippedBytes). */
export const MAX_LINE_BYTES = 64 * 1024;

export interface ScanOptions {
  /** `file` shown in observation sources. */
  source: string;
  host?: string;
  syslogYear?: number;
  maxContinuationLines?: number;
  /** Needles the fast scan searches for (default: the NVP ones). */
  needles?: readonly string[];
  emit(o: AnyObservation): void;
  /** Called for every completed record (full scan) or decoded record (fast scan). */
  onRecord?(rec: LogRecord): void;
}

export interface ScanResult {
  records: number;
  lines?: number;
  bytes: number;
  skipped: number;
  skippedBytes: number;
  longLines: number;
  /** Counts of records by layout (4.0, log4j1-logid, log4j2, pasted, syslog, ovstunnel, unknown). */
  layouts: Record<string, number>;
}

function emptyResult(): ScanResult {
  return { records: 0, bytes: 0, skipped: 0, skippedBytes: 0, longLines: 0, layouts: {} };
}

/** Decode bytes [start, end) as one line: cut to MAX_LINE_BYTES, trailing CR removed. */
function decodeLine(b: Buffer, start: number, end: number): string {
  let e = end;
  if (e - start > MAX_LINE_BYTES) e = start + MAX_LINE_BYTES;
  else if (e > start && b[e - 1] === 13) e--;
  return b.toString('utf8', start, e);
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
const DIGITS_AT = [1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22];

abstract class Base {
  protected readonly asm: RecordAssembler;
  protected readonly res: ScanResult = emptyResult();
  constructor(protected readonly opts: ScanOptions) {
    this.asm = new RecordAssembler({ maxContinuationLines: opts.maxContinuationLines, syslogYear: opts.syslogYear });
  }
  protected done(rec: LogRecord | undefined): void {
    if (!rec) return;
    this.res.records++;
    this.res.layouts[rec.layout] = (this.res.layouts[rec.layout] ?? 0) + 1;
    this.opts.onRecord?.(rec);
    for (const o of observationsFromRecord(rec, { source: this.opts.source, host: this.opts.host })) this.opts.emit(o);
  }
}

/** Every line through the assembler: exact counts and line numbers. */
export class FullScanner extends Base {
  private carry: Buffer[] = [];
  private carryLen = 0;
  private lineNo = 0;
  private offset = 0;

  push(chunk: Buffer): void {
    this.res.bytes += chunk.length;
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl === -1) break;
      if (this.carryLen > 0) {
        this.carry.push(chunk.subarray(start, Math.min(nl, start + Math.max(0, MAX_LINE_BYTES + 1 - this.carryLen))));
        const whole = this.carryLen + (nl - start);
        const b = Buffer.concat(this.carry);
        this.carry = [];
        this.carryLen = 0;
        this.line(b, 0, b.length, whole);
      } else this.line(chunk, start, nl, nl - start);
      start = nl + 1;
    }
    if (start < chunk.length) {
      // Keep at most MAX_LINE_BYTES+1 bytes of an unfinished line; count the rest.
      const room = MAX_LINE_BYTES + 1 - this.carryLen;
      if (room > 0) this.carry.push(Buffer.from(chunk.subarray(start, Math.min(chunk.length, start + room))));
      this.carryLen += chunk.length - start;
    }
  }

  private line(b: Buffer, start: number, end: number, wholeLen: number): void {
    this.lineNo++;
    const at = this.offset;
    this.offset += wholeLen + 1;
    if (wholeLen > MAX_LINE_BYTES) {
      this.res.longLines++;
      this.res.skippedBytes += wholeLen - MAX_LINE_BYTES;
    }
    const g = this.asm.garbageLines;
    this.done(this.asm.push(decodeLine(b, start, end), this.lineNo, at));
    if (this.asm.garbageLines !== g) {
      this.res.skipped++;
      this.res.skippedBytes += Math.min(wholeLen, MAX_LINE_BYTES) + 1;
    }
  }

  end(): ScanResult {
    if (this.carryLen > 0) {
      const b = Buffer.concat(this.carry);
      const whole = this.carryLen;
      this.carry = [];
      this.carryLen = 0;
      this.line(b, 0, Math.min(b.length, whole), whole);
      this.offset--; // no newline after the last line
    }
    this.done(this.asm.flush());
    this.res.lines = this.lineNo;
    return this.res;
  }
}

/** Needle search over big buffers; decodes only records around hits. */
export class FastScanner extends Base {
  /** Two read buffers: the caller reads into one while the other is searched. */
  private readonly bufs: [Buffer, Buffer];
  private next = 0;
  /** The bytes being searched: the carried tail of the previous chunk + the new chunk. */
  private data: Buffer = Buffer.alloc(0);
  /** Absolute offset of data[0]. */
  private base = 0;
  /** Relative index from which needles have not been searched yet. */
  private searchFrom = 0;
  /** Absolute offset up to which records were decoded. */
  private decodedEnd = 0;
  private readonly needles: Buffer[];
  private readonly backLines: number;
  static readonly READ_SIZE = 4 << 20;
  /** Room before each chunk for the carried tail, so the common case copies only that tail. */
  static readonly HEADROOM = 1 << 20;
  static readonly MAX_RETAIN = 32 << 20;

  constructor(opts: ScanOptions) {
    super(opts);
    const size = FastScanner.HEADROOM + FastScanner.READ_SIZE;
    this.bufs = [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)];
    this.needles = (opts.needles ?? CANDIDATE_NEEDLES).map((n) => Buffer.from(n, 'utf8'));
    this.backLines = 2 * (opts.maxContinuationLines ?? 100) + 10;
  }

  /** Where the next chunk must be read into (READ_SIZE bytes); free while `scan()` runs. */
  readTarget(): Buffer {
    const b = this.bufs[this.next];
    return b.subarray(FastScanner.HEADROOM, FastScanner.HEADROOM + FastScanner.READ_SIZE);
  }

  /** Take the `n` bytes just read into `readTarget()`; call `scan()` next. */
  accept(n: number): void {
    const b = this.bufs[this.next];
    const carry = this.data;
    if (carry.length <= FastScanner.HEADROOM) {
      carry.copy(b, FastScanner.HEADROOM - carry.length);
      this.data = b.subarray(FastScanner.HEADROOM - carry.length, FastScanner.HEADROOM + n);
    } else {
      this.data = Buffer.concat([carry, b.subarray(FastScanner.HEADROOM, FastScanner.HEADROOM + n)]);
    }
    this.next ^= 1;
    this.res.bytes += n;
  }

  scan(): void {
    this.process(false);
  }

  push(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) {
      const n = chunk.copy(this.readTarget(), 0, off, Math.min(chunk.length, off + FastScanner.READ_SIZE));
      off += n;
      this.accept(n);
      this.scan();
    }
  }

  end(): ScanResult {
    this.process(true);
    return this.res;
  }

  private lineEnd(view: Buffer, pos: number): number {
    const nl = view.indexOf(10, pos);
    return nl === -1 ? view.length : nl;
  }

  private prevLineStart(view: Buffer, lineStart: number): number {
    if (lineStart <= 1) return 0;
    return view.lastIndexOf(10, lineStart - 2) + 1;
  }

  /** Does the line at `pos` start a record? (The same test the assembler applies.) */
  private isStart(view: Buffer, pos: number, end: number): boolean {
    const c = view[pos]!;
    // The common case without decoding: `YYYY-MM-DD HH:MM:SS,mmm ` always starts a record
    // (parseLineHead returns a head for any line the TS pattern matches).
    if (end - pos > 24 && isDigit(c) && view[pos + 4] === 45 && view[pos + 7] === 45 && view[pos + 10] === 32 && view[pos + 13] === 58 && view[pos + 16] === 58 && view[pos + 19] === 44 && view[pos + 23] === 32) {
      let ok = true;
      for (const i of DIGITS_AT) if (!isDigit(view[pos + i]!)) ok = false;
      if (ok) return true;
    }
    // Record heads begin with a digit (timestamp) or an upper-case letter (level, month).
    if (!((c >= 48 && c <= 57) || (c >= 65 && c <= 90))) return false;
    return parseLineHead(decodeLine(view, pos, end), this.opts.syslogYear) !== undefined;
  }

  private process(final: boolean): void {
    const len = this.data.length;
    let limit = final ? len : this.data.lastIndexOf(10, len - 1) + 1;
    if (!final && limit <= this.searchFrom) {
      if (len > FastScanner.MAX_RETAIN) limit = len; // one enormous line: treat what we have as complete
      else return;
    }
    const view = this.data.subarray(0, limit);
    const hits: number[] = [];
    for (const n of this.needles) {
      let p = this.searchFrom;
      for (;;) {
        const i = view.indexOf(n, p);
        if (i === -1) break;
        hits.push(i);
        p = i + n.length;
      }
    }
    if (hits.length > 1) hits.sort((a, b) => a - b);
    let deferred = -1;
    let deferredHitLine = -1;
    for (const h of hits) {
      if (this.base + h < this.decodedEnd) continue;
      const hitLine = h === 0 ? 0 : view.lastIndexOf(10, h - 1) + 1;
      // Back to the line that starts the record.
      let start = hitLine;
      let found = false;
      for (let k = 0; k <= this.backLines; k++) {
        if (this.isStart(view, start, this.lineEnd(view, start))) {
          found = true;
          break;
        }
        if (start === 0) break;
        start = this.prevLineStart(view, start);
      }
      const hitEnd = this.lineEnd(view, h);
      if (!found) {
        // Garbage before the first record, or deep inside a record's dropped continuation.
        this.decodedEnd = this.base + Math.min(limit, hitEnd + 1);
        continue;
      }
      // Forward to the next record start.
      let end = hitEnd + 1;
      while (end < limit) {
        const le = this.lineEnd(view, end);
        if (this.isStart(view, end, le)) break;
        end = le + 1;
      }
      if (end >= limit && !final && len - start < FastScanner.MAX_RETAIN) {
        deferred = start;
        deferredHitLine = hitLine;
        break;
      }
      this.decodeRecord(view, start, Math.min(end, limit));
      this.decodedEnd = this.base + Math.min(end, limit);
    }
    if (final) {
      this.data = Buffer.alloc(0);
      return;
    }
    let keepFrom: number;
    let nextSearch: number;
    if (deferred >= 0) {
      keepFrom = deferred;
      nextSearch = deferredHitLine;
    } else {
      // Keep the last record's start so a hit in its continuation finds it.
      keepFrom = limit;
      let p = limit;
      for (let k = 0; k <= this.backLines && p > 0; k++) {
        p = this.prevLineStart(view, p);
        if (this.isStart(view, p, this.lineEnd(view, p))) {
          keepFrom = p;
          break;
        }
        keepFrom = p;
      }
      nextSearch = limit;
    }
    if (len - keepFrom > FastScanner.MAX_RETAIN / 2) {
      keepFrom = limit;
      nextSearch = limit;
    }
    this.data = this.data.subarray(keepFrom);
    this.base += keepFrom;
    this.searchFrom = Math.max(0, nextSearch - keepFrom);
  }

  private decodeRecord(view: Buffer, start: number, end: number): void {
    let pos = start;
    while (pos < end) {
      const le = Math.min(this.lineEnd(view, pos), end);
      this.asm.push(decodeLine(view, pos, le), 0, this.base + pos);
      pos = le + 1;
    }
    this.done(this.asm.flush());
  }
}

export { OVSTUNNEL_NEEDLES };
