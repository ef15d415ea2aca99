/**
 * A `tail -F` that loses nothing: follows a path across rename+create rotation (the old file is
 * drained to its end before the new one is read), copytruncate (same file, size below our
 * position: start again at 0) and restarts (a checkpoint keyed by the file's identity: device +
 * inode + a checksum of its first bytes, written atomically). See README.md for why not `tail`.
 */
import { createHash } from 'node:crypto';
import { type FileHandle, mkdir, open, readdir, readFile, rename, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface FollowerOptions {
  path: string;
  /** Directory for checkpoints; without it the follower does not resume after a restart. */
  stateDir?: string;
  /** How often to look for new data, rotation and truncation (ms). Default 250. */
  pollMs?: number;
  /** Where to begin when there is no usable checkpoint. Default 'start'. */
  startAt?: 'start' | 'end';
  /** Longer lines are cut to this many bytes; the rest is counted as skipped. Default 1 MiB. */
  maxLineBytes?: number;
  /** Emit an `idle` event after this long without a new line (ms). Default: never. */
  idleMs?: number;
}

export type FollowEvent =
  | { type: 'line'; line: string; lineNo: number; offset: number }
  | { type: 'idle' }
  /** The followed file was replaced (rotation) or truncated; a partial record should be flushed. */
  | { type: 'reset'; reason: 'rotated' | 'truncated' | 'replaced' };

export interface FollowerStats {
  bytesRead: number;
  linesRead: number;
  bytesSkipped: number;
  rotations: number;
  truncations: number;
}

/** Identity of a file: device, inode, and a checksum of its first `headLen` bytes. */
export interface FileIdentity {
  dev: number;
  ino: number;
  headLen: number;
  headHash: string;
}

interface Checkpoint extends FileIdentity {
  path: string;
  /** Offset just after the last line handed out and processed. */
  pos: number;
  lineNo: number;
  savedAt: string;
}

const HEAD_BYTES = 1024;
/** Rotated siblings the follower never opens. */
const COMPRESSED = /\.(?:gz|bz2|xz|zst|lz4|zip|Z)$/;
const CHUNK = 64 * 1024;

async function headHash(fh: FileHandle, len: number): Promise<string> {
  const buf = Buffer.alloc(len);
  let got = 0;
  while (got < len) {
    const { bytesRead } = await fh.read(buf, got, len - got, got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return createHash('sha1').update(buf.subarray(0, got)).digest('hex');
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** The open file being read. */
interface Current {
  fh: FileHandle;
  dev: number;
  ino: number;
  /** Offset of the next byte to read. */
  readPos: number;
  /** Offset just after the last complete line handed out. */
  linePos: number;
  lineNo: number;
  /** Bytes of an incomplete last line. */
  partial: Buffer[];
  partialLen: number;
  /** The current over-long line is being skipped until its newline. */
  skipping: boolean;
}

export class FileFollower {
  readonly stats: FollowerStats = { bytesRead: 0, linesRead: 0, bytesSkipped: 0, rotations: 0, truncations: 0 };
  private readonly path: string;
  private readonly pollMs: number;
  private readonly maxLine: number;
  private cur: Current | undefined;
  private identity: FileIdentity | undefined;
  private lastCheckpointKey = '';
  /** When this follower was made: `startAt: end` skips only what existed before. */
  private readonly createdAt = Date.now();
  /** While events() hands out a batch one line at a time: the first line not handed out yet. */
  private unhanded: { offset: number; lineNo: number } | undefined;
  /** The position in the last file closed (for a checkpoint after the loop ended). */
  private closed: { identity: FileIdentity; pos: number; lineNo: number } | undefined;

  constructor(private readonly opts: FollowerOptions) {
    this.path = opts.path;
    this.pollMs = opts.pollMs ?? 250;
    this.maxLine = opts.maxLineBytes ?? 1 << 20;
  }

  /** Where checkpoints of this path live. */
  checkpointFile(): string | undefined {
    if (!this.opts.stateDir) return undefined;
    const h = createHash('sha1').update(this.path).digest('hex').slice(0, 16);
    return join(this.opts.stateDir, `follow-${basename(this.path).replace(/[^A-Za-z0-9._-]/g, '_')}-${h}.json`);
  }

  /** Lines only (idle and reset events dropped). */
  async *lines(signal: AbortSignal): AsyncIterable<{ line: string; lineNo: number }> {
    for await (const ev of this.events(signal)) if (ev.type === 'line') yield { line: ev.line, lineNo: ev.lineNo };
  }

  /**
   * Every line exactly once, in order. The consumer should call `checkpoint()` after it has
   * processed what it was given (e.g. once a second); a line is only ever checkpointed after it
   * was handed out and the consumer asked for the next one.
   */
  async *events(signal: AbortSignal): AsyncGenerator<FollowEvent> {
    for await (const batch of this.batches(signal)) {
      for (let i = 0; i < batch.length; i++) {
        // Lines of this batch not handed out yet must not be checkpointed past.
        const next = batch[i + 1];
        this.unhanded = next?.type === 'line' ? { offset: next.offset, lineNo: next.lineNo - 1 } : undefined;
        yield batch[i]!;
      }
      this.unhanded = undefined;
    }
  }

  /**
   * The same events in batches: the lines of one read (up to 64 KiB) together, any other event
   * alone. Much cheaper per line than `events()` when catching up on a backlog. A batch counts as
   * handed out as a whole: checkpoint only after processing all of it.
   */
  async *batches(signal: AbortSignal): AsyncGenerator<FollowEvent[]> {
    try {
      yield* this.resume(signal);
      let idleSince = Date.now();
      let idleSent = false;
      while (!signal.aborted) {
        if (!this.cur) {
          if (!(await this.openCurrent(0))) {
            await sleep(this.pollMs, signal);
            continue;
          }
        }
        let got = false;
        for await (const batch of this.readAvailable(signal)) {
          got = true;
          yield batch;
        }
        if (got) {
          idleSince = Date.now();
          idleSent = false;
          continue;
        }
        // At the end of the current file: rotated, truncated, or just quiet?
        const change = await this.checkChange();
        if (change === 'rotated' || change === 'missing-then-new') {
          // Drain the old file to its very end (the writer may have added lines before it let go).
          yield* this.drainRotated(signal);
          continue;
        }
        if (change === 'truncated') {
          this.stats.truncations++;
          const cur = this.cur!;
          // The partial line was copied away with the old content: it is not ours any more.
          this.stats.bytesSkipped += cur.partialLen;
          cur.partial = [];
          cur.partialLen = 0;
          cur.skipping = false;
          cur.readPos = 0;
          cur.linePos = 0;
          cur.lineNo = 0;
          this.identity = undefined;
          yield [{ type: 'reset', reason: 'truncated' }];
          continue;
        }
        if (this.opts.idleMs !== undefined && !idleSent && Date.now() - idleSince >= this.opts.idleMs) {
          idleSent = true;
          yield [{ type: 'idle' }];
        }
        await sleep(this.pollMs, signal);
      }
    } finally {
      await this.closeCurrent();
    }
  }

  /**
   * Persist the position after the last line handed out (atomic: temp file + fsync + rename).
   * `before`: a consumer still holding lines it has not finished with (an open multi-line record)
   * passes the `offset` of the first such line and the `lineNo` before it; the checkpoint then
   * stops there, so after a restart those lines are read again rather than lost. It applies to
   * the file currently open (after a `reset` event the consumer has nothing held).
   */
  async checkpoint(before?: { offset: number; lineNo: number }): Promise<void> {
    const file = this.checkpointFile();
    if (!file) return;
    let at: { identity: FileIdentity; pos: number; lineNo: number } | undefined = this.closed;
    if (this.cur) {
      await this.refreshIdentity();
      if (this.identity) {
        // The earliest line still held: by the consumer (`before`) or not yet handed out by events().
        const hold = [before, this.unhanded].filter((h): h is { offset: number; lineNo: number } => h !== undefined && h.offset < this.cur!.linePos).sort((a, b) => a.offset - b.offset)[0];
        at = { identity: this.identity, pos: hold ? hold.offset : this.cur.linePos, lineNo: hold ? hold.lineNo : this.cur.lineNo };
      }
    }
    if (!at) return;
    const cp: Checkpoint = { path: this.path, ...at.identity, pos: at.pos, lineNo: at.lineNo, savedAt: new Date().toISOString() };
    const key = `${cp.dev}:${cp.ino}:${cp.pos}:${cp.headHash}`;
    if (key === this.lastCheckpointKey) return;
    await mkdir(dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(JSON.stringify(cp));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
    this.lastCheckpointKey = key;
  }

  // -------------------------------------------------------------------------------------------

  /** Start from the checkpoint when it still describes a file we can find. */
  private async *resume(signal: AbortSignal): AsyncGenerator<FollowEvent[]> {
    const cp = await this.readCheckpoint();
    if (!cp) {
      if (this.opts.startAt === 'end') {
        const st = await stat(this.path).catch(() => undefined);
        // History is skipped, but a file born after this follower was made is new: all of it.
        if (st) await this.openCurrent(st.birthtimeMs >= this.createdAt ? 0 : st.size);
      }
      return;
    }
    // Is the followed path still the checkpointed file?
    if (await this.openMatching(this.path, cp)) return;
    // Rotated away while we were down: drain the old file from the checkpoint, then the new one from 0.
    const old = await this.findRotated(cp);
    if (old && (await this.openMatching(old, cp))) {
      yield* this.drainRotated(signal);
      return;
    }
    // Replaced (recycled inode, rewritten file) and the old one is gone: the new file from its start.
    yield [{ type: 'reset', reason: 'replaced' }];
  }

  /**
   * Read a rotated-away file to its end (its last bytes are a line even without a newline), then let
   * it go, then read any file that was rotated in after it and away again before we looked (two
   * rotations within one poll, or several while netdiag was down) before the file at the path.
   */
  private async *drainRotated(signal: AbortSignal): AsyncGenerator<FollowEvent[]> {
    let since = 0;
    for (;;) {
      yield* this.readAvailable(signal);
      const tail = this.takePartial();
      if (tail !== undefined) yield [tail];
      this.stats.rotations++;
      const cur = this.cur!;
      since = Math.max(since, (await cur.fh.stat()).mtimeMs);
      await this.refreshIdentity().catch(() => {});
      this.remember(cur.dev, cur.ino, this.identity);
      await this.closeCurrent();
      yield [{ type: 'reset', reason: 'rotated' }];
      if (signal.aborted || !(await this.openIntermediate(since))) return;
    }
  }

  /** Files already read to their end in this run (dev:ino and first bytes), newest last. */
  private readonly done: { key: string; head?: FileIdentity }[] = [];
  private remember(dev: number, ino: number, head: FileIdentity | undefined): void {
    this.done.push({ key: `${dev}:${ino}`, head });
    if (this.done.length > 32) this.done.shift();
  }

  /**
   * After a rotated file was drained: open the oldest sibling of the path that was written no
   * earlier than it (`since`, its mtime), is not the file now at the path, has not been read, and
   * does not start like a file already read (a copy someone made) — a file that lived at the path
   * between two looks. Compressed siblings are never opened (diagnose reads them).
   */
  private async openIntermediate(since: number): Promise<boolean> {
    const dir = dirname(this.path);
    const base = basename(this.path);
    const atPath = await stat(this.path).catch(() => undefined);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return false;
    }
    const candidates: { p: string; mtimeMs: number }[] = [];
    for (const n of names) {
      if (n === base || !n.startsWith(base) || COMPRESSED.test(n)) continue;
      const st = await stat(join(dir, n)).catch(() => undefined);
      if (!st?.isFile() || st.mtimeMs < since || st.size === 0) continue;
      if (atPath && st.dev === atPath.dev && st.ino === atPath.ino) continue;
      if (this.done.some((d) => d.key === `${st.dev}:${st.ino}`)) continue;
      candidates.push({ p: join(dir, n), mtimeMs: st.mtimeMs });
    }
    candidates.sort((a, b) => a.mtimeMs - b.mtimeMs);
    for (const c of candidates) {
      let fh: FileHandle | undefined;
      try {
        fh = await open(c.p, 'r');
        const st = await fh.stat();
        const heads = [...this.done.map((d) => d.head), atPath ? await fileIdentity(this.path).catch(() => undefined) : undefined];
        let copy = false;
        for (const h of heads) if (h && h.headLen > 0 && st.size >= h.headLen && (await headHash(fh, h.headLen)) === h.headHash) copy = true;
        if (copy) {
          this.remember(st.dev, st.ino, undefined);
          await fh.close();
          continue;
        }
        this.cur = { fh, dev: st.dev, ino: st.ino, readPos: 0, linePos: 0, lineNo: 0, partial: [], partialLen: 0, skipping: false };
        this.identity = undefined;
        return true;
      } catch {
        await fh?.close().catch(() => {});
      }
    }
    return false;
  }

  private async readCheckpoint(): Promise<Checkpoint | undefined> {
    const file = this.checkpointFile();
    if (!file) return undefined;
    try {
      const cp = JSON.parse(await readFile(file, 'utf8')) as Checkpoint;
      if (typeof cp.ino !== 'number' || typeof cp.pos !== 'number' || typeof cp.headHash !== 'string') return undefined;
      return cp;
    } catch {
      return undefined;
    }
  }

  /** Open `p` at the checkpoint's position if it is the same file (dev, inode, first bytes). */
  private async openMatching(p: string, cp: Checkpoint): Promise<boolean> {
    let fh: FileHandle | undefined;
    try {
      fh = await open(p, 'r');
      const st = await fh.stat();
      if (st.dev !== cp.dev || st.ino !== cp.ino || st.size < cp.headLen || (await headHash(fh, cp.headLen)) !== cp.headHash) {
        await fh.close();
        return false;
      }
      const pos = st.size >= cp.pos ? cp.pos : 0; // truncated while we were down: from the start
      this.cur = { fh, dev: st.dev, ino: st.ino, readPos: pos, linePos: pos, lineNo: pos === cp.pos ? cp.lineNo : 0, partial: [], partialLen: 0, skipping: false };
      this.identity = { dev: cp.dev, ino: cp.ino, headLen: cp.headLen, headHash: cp.headHash };
      return true;
    } catch {
      await fh?.close().catch(() => {});
      return false;
    }
  }

  /** A sibling of the path (`x.log.1`, `x.log-20261120`, `x.log.2026-11-20`) with the checkpointed dev+inode. */
  private async findRotated(cp: Checkpoint): Promise<string | undefined> {
    const dir = dirname(this.path);
    const base = basename(this.path);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return undefined;
    }
    for (const n of names) {
      if (n === base || !n.startsWith(base) || COMPRESSED.test(n)) continue;
      const st = await stat(join(dir, n)).catch(() => undefined);
      if (st && st.dev === cp.dev && st.ino === cp.ino) return join(dir, n);
    }
    return undefined;
  }

  /** Open the path; false while it does not exist (waited for). Other errors (a directory, no permission) throw. */
  private async openCurrent(at: number): Promise<boolean> {
    let fh: FileHandle;
    try {
      fh = await open(this.path, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw new Error(`cannot follow ${this.path}: ${(e as Error).message}`);
    }
    const st = await fh.stat();
    if (!st.isFile()) {
      await fh.close();
      throw new Error(`cannot follow ${this.path}: not a regular file`);
    }
    const pos = Math.min(at, st.size);
    this.cur = { fh, dev: st.dev, ino: st.ino, readPos: pos, linePos: pos, lineNo: 0, partial: [], partialLen: 0, skipping: false };
    this.identity = undefined;
    return true;
  }

  private async closeCurrent(): Promise<void> {
    const c = this.cur;
    if (c) {
      // Remember where we were, so a checkpoint after the loop ended still records it.
      await this.refreshIdentity().catch(() => {});
      // A consumer that stopped inside a batch of events() did not get the rest of it.
      const hold = this.unhanded !== undefined && this.unhanded.offset < c.linePos ? this.unhanded : undefined;
      if (this.identity) this.closed = { identity: this.identity, pos: hold?.offset ?? c.linePos, lineNo: hold?.lineNo ?? c.lineNo };
    }
    this.unhanded = undefined;
    this.cur = undefined;
    this.identity = undefined;
    await c?.fh.close().catch(() => {});
  }

  /** Record (or extend, while the file is shorter than HEAD_BYTES) the identity of the open file. */
  private async refreshIdentity(): Promise<void> {
    const cur = this.cur;
    if (!cur || (this.identity && this.identity.headLen >= HEAD_BYTES)) return;
    const headLen = Math.min((await cur.fh.stat()).size, HEAD_BYTES);
    if (this.identity && this.identity.headLen === headLen) return;
    this.identity = { dev: cur.dev, ino: cur.ino, headLen, headHash: await headHash(cur.fh, headLen) };
  }

  /** What happened to the path since we opened it. */
  private async checkChange(): Promise<'none' | 'rotated' | 'truncated' | 'missing-then-new'> {
    const cur = this.cur!;
    const st = await stat(this.path).catch(() => undefined);
    if (!st) return 'none'; // rotated away and not recreated yet: keep draining the old fd
    if (st.dev !== cur.dev || st.ino !== cur.ino) return 'rotated';
    if (st.size < cur.readPos) return 'truncated';
    // Truncated and written past our position between two looks: the first bytes changed.
    const id = this.identity;
    if (id && id.headLen > 0 && st.size >= id.headLen && (await headHash(cur.fh, id.headLen)) !== id.headHash) return 'truncated';
    await this.refreshIdentity();
    return 'none';
  }

  /** Read from the current file to its end, yielding the complete lines of each read together. */
  private async *readAvailable(signal: AbortSignal): AsyncGenerator<FollowEvent[]> {
    const cur = this.cur;
    if (!cur) return;
    const buf = Buffer.allocUnsafe(CHUNK);
    while (!signal.aborted) {
      const { bytesRead } = await cur.fh.read(buf, 0, CHUNK, cur.readPos);
      if (bytesRead === 0) return;
      const chunkStart = cur.readPos;
      cur.readPos += bytesRead;
      this.stats.bytesRead += bytesRead;
      const data = buf.subarray(0, bytesRead);
      const batch: FollowEvent[] = [];
      let start = 0;
      for (;;) {
        const nl = data.indexOf(10, start);
        if (nl < 0) break;
        batch.push(this.completeLine(data.subarray(start, nl), chunkStart + nl + 1));
        start = nl + 1;
      }
      if (start < data.length) this.addPartial(data.subarray(start));
      if (batch.length) yield batch;
    }
  }

  private addPartial(piece: Buffer): void {
    const cur = this.cur!;
    if (cur.skipping) {
      this.stats.bytesSkipped += piece.length;
      return;
    }
    const room = this.maxLine - cur.partialLen;
    if (piece.length > room) {
      if (room > 0) {
        cur.partial.push(Buffer.from(piece.subarray(0, room)));
        cur.partialLen += room;
      }
      this.stats.bytesSkipped += piece.length - Math.max(room, 0);
      cur.skipping = true;
      return;
    }
    cur.partial.push(Buffer.from(piece));
    cur.partialLen += piece.length;
  }

  /** A newline arrived: the partial bytes plus `piece` form a line ending at file offset `end`. */
  private completeLine(piece: Buffer, end: number): FollowEvent {
    const cur = this.cur!;
    this.addPartial(piece);
    const bytes = cur.partial.length === 1 ? cur.partial[0]! : Buffer.concat(cur.partial, cur.partialLen);
    cur.partial = [];
    cur.partialLen = 0;
    cur.skipping = false;
    let line = bytes.toString('utf8');
    if (line.endsWith('\r')) line = line.slice(0, -1);
    const offset = cur.linePos; // a line starts where the previous one ended (also when it was cut)
    cur.linePos = end;
    cur.lineNo++;
    this.stats.linesRead++;
    return { type: 'line', line, lineNo: cur.lineNo, offset };
  }

  /** A file rotated away ends without a newline: its last bytes are still a line. */
  private takePartial(): FollowEvent | undefined {
    const cur = this.cur;
    if (!cur || cur.partialLen === 0) return undefined;
    const bytes = Buffer.concat(cur.partial, cur.partialLen);
    cur.partial = [];
    cur.partialLen = 0;
    cur.skipping = false;
    let line = bytes.toString('utf8');
    if (line.endsWith('\r')) line = line.slice(0, -1);
    const offset = cur.linePos;
    cur.linePos = cur.readPos;
    cur.lineNo++;
    this.stats.linesRead++;
    return { type: 'line', line, lineNo: cur.lineNo, offset };
  }
}

/** For tests and tools: the identity netdiag would record for a file now. */
export async function fileIdentity(path: string): Promise<FileIdentity> {
  const fh = await open(path, 'r');
  try {
    const st = await fh.stat();
    const headLen = Math.min(st.size, HEAD_BYTES);
    return { dev: st.dev, ino: st.ino, headLen, headHash: await headHash(fh, headLen) };
  } finally {
    await fh.close();
  }
}
