/**
 * The follower against real files being rotated while written: every numbered line arrives
 * exactly once and in order across rename+create, copytruncate, restarts from the checkpoint
 * and a replaced file.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { FileFollower } from '../../../collectors/tail/follower.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'nd-tail-'));
  dirs.push(d);
  return d;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Follow until `want` lines arrived (or the deadline), returning them. */
async function collect(f: FileFollower, want: number, deadlineMs = 15_000, onLine?: (l: string) => void): Promise<string[]> {
  const ac = new AbortController();
  const got: string[] = [];
  const timer = setTimeout(() => ac.abort(), deadlineMs);
  for await (const { line } of f.lines(ac.signal)) {
    got.push(line);
    onLine?.(line);
    if (got.length >= want) break;
  }
  clearTimeout(timer);
  await f.checkpoint();
  return got;
}

function numbers(lines: string[]): number[] {
  return lines.map((l) => Number(/^line (\d+) /.exec(l)?.[1] ?? NaN));
}
const payload = (i: number) => `line ${i} ${'x'.repeat(i % 97)}\n`;

describe('FileFollower', () => {
  it('a consumer that stops inside one read resumes at the first line it did not get', async () => {
    const d = tmp();
    const log = join(d, 'management-server.log');
    writeFileSync(log, Array.from({ length: 10 }, (_, i) => payload(i + 1)).join('')); // one read holds all ten
    const first = await collect(new FileFollower({ path: log, stateDir: d, pollMs: 5, startAt: 'start' }), 3);
    expect(numbers(first)).toEqual([1, 2, 3]);
    appendFileSync(log, payload(11));
    const rest = await collect(new FileFollower({ path: log, stateDir: d, pollMs: 5, startAt: 'start' }), 8);
    expect(numbers(rest)).toEqual([4, 5, 6, 7, 8, 9, 10, 11]);
  });

  it('startAt end skips what existed before the follower was made, not a file born after it', async () => {
    const d = tmp();
    const log = join(d, 'agent.log');
    const f = new FileFollower({ path: log, pollMs: 5, startAt: 'end' });
    await sleep(5);
    writeFileSync(log, payload(1) + payload(2)); // appears between the follower's start and its first look
    expect(numbers(await collect(f, 2))).toEqual([1, 2]);
  });

  it('batches() hands out the lines of one read together, and a checkpoint after a batch resumes after it', async () => {
    const d = tmp();
    const log = join(d, 'agent.log');
    writeFileSync(log, Array.from({ length: 50 }, (_, i) => payload(i + 1)).join(''));
    const f = new FileFollower({ path: log, stateDir: d, pollMs: 5, startAt: 'start' });
    const ac = new AbortController();
    const seen: number[][] = [];
    for await (const b of f.batches(ac.signal)) {
      seen.push(numbers(b.flatMap((e) => (e.type === 'line' ? [e.line] : []))));
      await f.checkpoint();
      break;
    }
    expect(seen).toEqual([Array.from({ length: 50 }, (_, i) => i + 1)]);
    appendFileSync(log, payload(51));
    expect(numbers(await collect(new FileFollower({ path: log, stateDir: d, pollMs: 5, startAt: 'start' }), 1))).toEqual([51]);
  });

  it('delivers every line exactly once across rename+create rotation with a writer appending fast', async () => {
    const d = tmp();
    const log = join(d, 'agent.log');
    const N = 20_000;
    const f = new FileFollower({ path: log, pollMs: 5 }); // the file does not exist yet: waited for
    const writer = (async () => {
      await sleep(50);
      for (let i = 1; i <= N; i++) {
        appendFileSync(log, payload(i));
        if (i % 4000 === 0) renameSync(log, `${log}.${i / 4000}`);
        if (i % 200 === 0) await sleep(0);
      }
    })();
    const lines = await collect(f, N, 60_000);
    await writer;
    expect(numbers(lines)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    expect(f.stats.rotations).toBeGreaterThanOrEqual(4); // the last rename may come after the last line was read
  });

  it('delivers every line of a child-process writer that keeps its fd open across rename, writes to the old file, then reopens', async () => {
    const d = tmp();
    const log = join(d, 'agent.log');
    const N = 30_000;
    // Like logrotate `create` + a postrotate reopen: rename first, the writer still appends to the old fd
    // for a while, then opens the new path. Also log4j's close/rename/open. Numbers go to 1..N exactly once.
    const script = `
      const fs = require('node:fs');
      const log = process.argv[1]; const N = Number(process.argv[2]);
      let fd = fs.openSync(log, 'a');
      const pause = new Int32Array(new SharedArrayBuffer(4));
      for (let i = 1; i <= N; i++) {
        fs.writeSync(fd, 'line ' + i + ' ' + 'x'.repeat(i % 97) + '\\n');
        if (i % 5000 === 0) fs.renameSync(log, log + '.' + (i / 5000));
        if (i % 5000 === 300) { fs.closeSync(fd); fd = fs.openSync(log, 'a'); }
        if (i % 100 === 0) Atomics.wait(pause, 0, 0, 1); // ~100k lines/s, rotations >= 50 ms apart
      }
      fs.closeSync(fd);`;
    const f = new FileFollower({ path: log, pollMs: 2 });
    const child = spawn(process.execPath, ['-e', script, log, String(N)], { stdio: ['ignore', 'ignore', 'inherit'] });
    const exited = new Promise((r) => child.on('exit', r));
    const lines = await collect(f, N, 40_000);
    expect(await exited).toBe(0);
    expect(numbers(lines)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    expect(f.stats.rotations).toBeGreaterThanOrEqual(5);
  });

  it('reads a file that was rotated in and away again between two looks, in order, and never a copy someone made', async () => {
    const d = tmp();
    const log = join(d, 'agent.log');
    for (let i = 1; i <= 3; i++) appendFileSync(log, payload(i));
    const f = new FileFollower({ path: log, pollMs: 400 }); // slow polls: both rotations fall between two looks
    const got: number[] = [];
    const ac = new AbortController();
    const reader = (async () => {
      for await (const { line } of f.lines(ac.signal)) {
        got.push(numbers([line])[0]!);
        if (got.length === 12) break;
      }
    })();
    while (got.length < 3) await sleep(5);
    // logrotate numbering, twice in a row: agent.log → .1 (then .2), a new agent.log → .1, a newer agent.log.
    for (let i = 4; i <= 5; i++) appendFileSync(log, payload(i));
    renameSync(log, `${log}.1`);
    for (let i = 6; i <= 8; i++) appendFileSync(log, payload(i));
    copyFileSync(`${log}.1`, `${log}.1.save`); // an admin's copy of the first file, made after it was written
    renameSync(`${log}.1`, `${log}.2`);
    renameSync(log, `${log}.1`);
    for (let i = 9; i <= 12; i++) appendFileSync(log, payload(i));
    setTimeout(() => ac.abort(), 10_000).unref();
    await reader;
    expect(got).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(f.stats.rotations).toBe(2);
  });

  it('after a restart, drains the checkpointed file and every uncompressed file rotated after it, oldest first', async () => {
    const d = tmp();
    const state = join(d, 'state');
    const log = join(d, 'management-server.log');
    for (let i = 1; i <= 10; i++) appendFileSync(log, payload(i));
    await collect(new FileFollower({ path: log, stateDir: state, pollMs: 5 }), 10);
    // Down across three rotations; the rotated files keep uncompressed names (date suffixes).
    for (let i = 11; i <= 15; i++) appendFileSync(log, payload(i));
    renameSync(log, `${log}.2026-11-20`);
    await sleep(15);
    for (let i = 16; i <= 20; i++) appendFileSync(log, payload(i));
    renameSync(log, `${log}.2026-11-21`);
    await sleep(15);
    for (let i = 21; i <= 25; i++) appendFileSync(log, payload(i));
    renameSync(log, `${log}.2026-11-22`);
    for (let i = 26; i <= 30; i++) appendFileSync(log, payload(i));
    const f = new FileFollower({ path: log, stateDir: state, pollMs: 5 });
    const after = await collect(f, 20);
    expect(numbers(after)).toEqual(Array.from({ length: 20 }, (_, i) => i + 11));
    expect(f.stats.rotations).toBe(3);
  });

  it('ignores gzip-compressed rotated files and reads the replacing file from its start', async () => {
    const d = tmp();
    const state = join(d, 'state');
    const log = join(d, 'management-server.log');
    for (let i = 1; i <= 30; i++) appendFileSync(log, payload(i));
    await collect(new FileFollower({ path: log, stateDir: state, pollMs: 5 }), 20);
    // Rotated while down, and compressed (log4j's %d.gz or logrotate `compress`): the follower cannot drain it.
    writeFileSync(`${log}.2026-11-21.gz`, gzipSync(readFileSync(log)));
    unlinkSync(log);
    for (let i = 101; i <= 110; i++) appendFileSync(log, payload(i));
    const f = new FileFollower({ path: log, stateDir: state, pollMs: 5 });
    const after = await collect(f, 10);
    expect(numbers(after)).toEqual(Array.from({ length: 10 }, (_, i) => i + 101));
    expect(f.stats.bytesRead).toBe(readFileSync(log).length);
  });

  it('delivers every line exactly once across copytruncate when the rotation waits for the reader as logrotate would not lose them', async () => {
    const d = tmp();
    const log = join(d, 'management-server.log');
    writeFileSync(log, '');
    const f = new FileFollower({ path: log, pollMs: 5 });
    const got: number[] = [];
    const ac = new AbortController();
    const reader = (async () => {
      for await (const { line } of f.lines(ac.signal)) {
        got.push(numbers([line])[0]!);
        if (got.length === 3000) break;
      }
    })();
    for (let i = 1; i <= 3000; i++) {
      appendFileSync(log, payload(i));
      if (i % 1000 === 0) {
        while (got.length < i) await sleep(2); // the copy holds everything; the follower has read it too
        copyFileSync(log, `${log}.${i}`);
        truncateSync(log, 0);
      }
      if (i % 100 === 0) await sleep(1);
    }
    setTimeout(() => ac.abort(), 20_000).unref();
    await reader;
    expect(got).toEqual(Array.from({ length: 3000 }, (_, i) => i + 1));
    expect(f.stats.truncations).toBeGreaterThanOrEqual(2);
  });

  it('resumes from its checkpoint after a restart: exactly the new lines, also when the file was rotated meanwhile', async () => {
    const d = tmp();
    const state = join(d, 'state');
    const log = join(d, 'management-server.log');
    for (let i = 1; i <= 100; i++) appendFileSync(log, payload(i));
    const first = await collect(new FileFollower({ path: log, stateDir: state, pollMs: 5 }), 100);
    expect(numbers(first)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));

    // Down: more lines, then a rotation, then lines in the new file.
    for (let i = 101; i <= 150; i++) appendFileSync(log, payload(i));
    renameSync(log, `${log}.1`);
    for (let i = 151; i <= 180; i++) appendFileSync(log, payload(i));
    const second = await collect(new FileFollower({ path: log, stateDir: state, pollMs: 5 }), 80);
    expect(numbers(second)).toEqual(Array.from({ length: 80 }, (_, i) => i + 101));

    // Down again, nothing rotated: only what was appended.
    for (let i = 181; i <= 190; i++) appendFileSync(log, payload(i));
    const third = await collect(new FileFollower({ path: log, stateDir: state, pollMs: 5 }), 10);
    expect(numbers(third)).toEqual(Array.from({ length: 10 }, (_, i) => i + 181));
  });

  it('checkpoints before lines the consumer still holds, so they are read again after a restart', async () => {
    const d = tmp();
    const state = join(d, 'state');
    const log = join(d, 'agent.log');
    for (let i = 1; i <= 10; i++) appendFileSync(log, payload(i));
    const f = new FileFollower({ path: log, stateDir: state, pollMs: 5 });
    const ac = new AbortController();
    let held: { offset: number; lineNo: number } | undefined;
    for await (const ev of f.events(ac.signal)) {
      if (ev.type !== 'line') continue;
      if (ev.lineNo === 8) held = { offset: ev.offset, lineNo: ev.lineNo - 1 }; // lines 8.. not finished
      if (ev.lineNo === 10) {
        await f.checkpoint(held);
        break;
      }
    }
    expect(held!.offset).toBe(readFileSync(log, 'utf8').indexOf('line 8 '));
    const again = await collect(new FileFollower({ path: log, stateDir: state, pollMs: 5 }), 3);
    expect(numbers(again)).toEqual([8, 9, 10]);
  });

  it('does not take a replaced file (recycled inode or rewritten content) for the checkpointed one', async () => {
    const d = tmp();
    const state = join(d, 'state');
    const log = join(d, 'agent.log');
    for (let i = 1; i <= 20; i++) appendFileSync(log, payload(i));
    await collect(new FileFollower({ path: log, stateDir: state, pollMs: 5 }), 20);
    // Replaced by a file with other content (and possibly the same inode number): start at 0 of it.
    unlinkSync(log);
    for (let i = 1001; i <= 1030; i++) appendFileSync(log, payload(i));
    const after = await collect(new FileFollower({ path: log, stateDir: state, pollMs: 5 }), 30);
    expect(numbers(after)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1001));
  });

  it('starts at the end of a file it has never seen when asked, holds partial lines, handles CRLF, cuts huge lines and survives binary', async () => {
    const d = tmp();
    const log = join(d, 'management-server.log');
    for (let i = 1; i <= 10; i++) appendFileSync(log, payload(i));
    const f = new FileFollower({ path: log, pollMs: 5, startAt: 'end', maxLineBytes: 1000 });
    const ac = new AbortController();
    const got: string[] = [];
    const reader = (async () => {
      for await (const { line } of f.lines(ac.signal)) {
        got.push(line);
        if (got.length === 4) break;
      }
    })();
    await sleep(30);
    appendFileSync(log, 'line 11 partial');
    await sleep(40);
    expect(got).toEqual([]); // no newline yet: held
    appendFileSync(log, ' done\r\n');
    appendFileSync(log, `${'y'.repeat(5000)}\n`);
    appendFileSync(log, Buffer.from([0xff, 0xfe, 0x00, 0x41, 0x0a]));
    appendFileSync(log, 'line 12 after\n');
    setTimeout(() => ac.abort(), 10_000).unref();
    await reader;
    expect(got[0]).toBe('line 11 partial done');
    expect(got[1]).toHaveLength(1000);
    expect(got[2]).toContain('A');
    expect(got[3]).toBe('line 12 after');
    expect(f.stats.bytesSkipped).toBe(4000);
  });
});
