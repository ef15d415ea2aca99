/**
 * The I/O side of the fast scan: read a byte range of a plain file straight into the scanner's
 * buffers, the next read overlapping the search of the current chunk. Used by the collector on
 * the main thread.
 */
import { open } from 'node:fs/promises';
import { FastScanner } from './scan.js';

export async function scanFileRange(path: string, sc: FastScanner, from: number, to: number): Promise<void> {
  const fh = await open(path, 'r');
  try {
    let pos = from;
    const next = () => {
      const want = Math.min(FastScanner.READ_SIZE, to - pos);
      return want > 0 ? fh.read(sc.readTarget(), 0, want, pos) : Promise.resolve({ bytesRead: 0 });
    };
    let pending = next();
    for (;;) {
      const { bytesRead } = await pending;
      if (bytesRead === 0) break;
      pos += bytesRead;
      sc.accept(bytesRead);
      pending = next();
      sc.scan();
    }
  } finally {
    await fh.close();
  }
}
