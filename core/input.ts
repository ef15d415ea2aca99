import { createReadStream, type Stats } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { createGunzip, gunzipSync } from 'node:zlib';
import { Readable } from 'node:stream';

/** Bytes of (decompressed) content given to collectors to recognise an input. */
export const SNIFF_BYTES = 64 * 1024;

/** The optional comment header of a bundle file: `# command: ...`, `# collected-at: ...`, `# host: ...`. */
export interface FileHeader {
  command?: string;
  collectedAt?: Date;
  host?: string;
  /** Other `# key: value` header lines, keys lowercased. */
  extra: Record<string, string>;
  /** Bytes the header lines take at the start of the content. */
  length: number;
}

const HEADER_LINE = /^#\s*([A-Za-z][\w-]*)\s*:\s?(.*)$/;

/** Parse the leading `# key: value` comment lines. Stops at the first line that is not one. */
export function parseHeader(text: string): FileHeader {
  const header: FileHeader = { extra: {}, length: 0 };
  let pos = 0;
  while (pos < text.length) {
    const nl = text.indexOf('\n', pos);
    const end = nl === -1 ? text.length : nl;
    const line = text.slice(pos, end).replace(/\r$/, '');
    const m = HEADER_LINE.exec(line);
    if (!m) break;
    const key = m[1]!.toLowerCase();
    const value = m[2]!.trim();
    if (key === 'command') header.command = value;
    else if (key === 'collected-at') {
      const d = new Date(value);
      if (!Number.isNaN(d.getTime())) header.collectedAt = d;
    } else if (key === 'host') header.host = value;
    else header.extra[key] = value;
    pos = nl === -1 ? text.length : nl + 1;
  }
  header.length = Buffer.byteLength(text.slice(0, pos));
  return header;
}

export interface InputFile {
  /** Path as given or found in the bundle. */
  path: string;
  /** Host the input belongs to (header, else bundle top directory). */
  host?: string;
  header: FileHeader;
  mtime: Date;
  size: number;
  gzip: boolean;
  /** First SNIFF_BYTES of decompressed content, header included. */
  head: Buffer;
  /** The head as text (latin1-safe utf8) with the header lines removed. */
  body: string;
  /** A fresh stream of the decompressed content from byte 0 (header included). */
  open(): Readable;
  /** When the data was collected: header `collected-at`, else the file's mtime. */
  collectedAt(): Date;
}

function isGzip(b: Buffer): boolean {
  return b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
}

async function readStart(path: string, n: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** Decompress just enough of a gzip file to sniff it, without reading the whole file. */
async function gunzipHead(path: string, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let len = 0;
    const src = createReadStream(path);
    const gz = createGunzip();
    const finish = () => {
      src.destroy();
      gz.destroy();
      resolve(Buffer.concat(chunks).subarray(0, n));
    };
    gz.on('data', (c: Buffer) => {
      chunks.push(c);
      len += c.length;
      if (len >= n) finish();
    });
    gz.on('end', finish);
    gz.on('error', (e) => (len > 0 ? finish() : reject(e)));
    src.on('error', reject);
    src.pipe(gz);
  });
}

export async function openInput(path: string, host?: string, st?: Stats): Promise<InputFile> {
  const s = st ?? (await stat(path));
  if (!s.isFile()) throw Object.assign(new Error(`${path} is not a regular file`), { code: 'ENOTFILE' });
  const start = await readStart(path, SNIFF_BYTES);
  const gzip = isGzip(start);
  let head = start;
  if (gzip) {
    try {
      head = await gunzipHead(path, SNIFF_BYTES);
    } catch {
      // A damaged gzip: try the sync path on what we have so the error is the real one.
      head = gunzipSync(start, { finishFlush: 2 });
    }
  }
  const text = head.toString('utf8');
  const header = parseHeader(text);
  const body = text.slice(header.length === 0 ? 0 : Buffer.from(head.subarray(0, header.length)).toString('utf8').length);
  return {
    path,
    host: header.host ?? host,
    header,
    mtime: s.mtime,
    size: s.size,
    gzip,
    head,
    body,
    open() {
      const raw = createReadStream(path, { highWaterMark: 1 << 20 });
      if (!gzip) return raw;
      const gz = createGunzip({ chunkSize: 1 << 20 });
      raw.on('error', (e) => gz.destroy(e));
      return raw.pipe(gz);
    },
    collectedAt() {
      return header.collectedAt ?? s.mtime;
    },
  };
}

/** Build an InputFile over in-memory content (tests, captured command output in `serve`). */
export function memoryInput(path: string, content: Buffer | string, opts: { host?: string; mtime?: Date } = {}): InputFile {
  const buf = typeof content === 'string' ? Buffer.from(content) : content;
  const head = buf.subarray(0, SNIFF_BYTES);
  const text = head.toString('utf8');
  const header = parseHeader(text);
  const mtime = opts.mtime ?? new Date();
  return {
    path,
    host: header.host ?? opts.host,
    header,
    mtime,
    size: buf.length,
    gzip: false,
    head,
    body: text.slice(Buffer.from(head.subarray(0, header.length)).toString('utf8').length),
    open() {
      return Readable.from([buf]);
    },
    collectedAt() {
      return header.collectedAt ?? mtime;
    },
  };
}

/**
 * Split a stream into lines without holding more than one line (bounded by `maxLineBytes`) in
 * memory. Over-long lines are cut: the callback gets the first `maxLineBytes` and `truncated`.
 * Works on raw bytes, so a binary blob cannot break it.
 */
export async function forEachLine(
  stream: Readable,
  onLine: (line: string, lineNo: number, truncated: boolean) => void,
  maxLineBytes = 1 << 20,
): Promise<{ lines: number; bytes: number }> {
  let carry: Buffer | null = null;
  let carryTruncated = false;
  let lineNo = 0;
  let bytes = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl === -1) break;
      let lineBuf: Buffer = chunk.subarray(start, nl);
      if (carry) {
        if (!carryTruncated) {
          const room = maxLineBytes - carry.length;
          lineBuf = Buffer.concat([carry, lineBuf.subarray(0, Math.max(0, room))]);
          if (room < nl - start) carryTruncated = true;
        } else lineBuf = carry;
        carry = null;
      } else if (lineBuf.length > maxLineBytes) {
        lineBuf = lineBuf.subarray(0, maxLineBytes);
        carryTruncated = true;
      }
      let end = lineBuf.length;
      if (end > 0 && lineBuf[end - 1] === 13) end--;
      onLine(lineBuf.toString('utf8', 0, end), ++lineNo, carryTruncated);
      carryTruncated = false;
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      if (!carry) {
        carry = rest.length > maxLineBytes ? Buffer.from(rest.subarray(0, maxLineBytes)) : Buffer.from(rest);
        if (rest.length > maxLineBytes) carryTruncated = true;
      } else if (!carryTruncated) {
        const room = maxLineBytes - carry.length;
        carry = Buffer.concat([carry, rest.subarray(0, Math.max(0, room))]);
        if (room < rest.length) carryTruncated = true;
      }
    }
  }
  if (carry && carry.length > 0) {
    let end = carry.length;
    if (carry[end - 1] === 13) end--;
    onLine(carry.toString('utf8', 0, end), ++lineNo, carryTruncated);
  }
  return { lines: lineNo, bytes };
}
