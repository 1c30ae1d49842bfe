import { open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Makes a rename or a file creation in `dir` survive power loss. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

const CHUNK = 16 * 1024 * 1024;
/**
 * Flush every few chunks: hundreds of MB of dirty pages flushed by one final fsync would make every journal fsync
 * queued behind it (same filesystem journal) wait for the whole file.
 */
const SYNC_EVERY = 2 * CHUNK;

/**
 * Replaces `path` with `data` so that a crash at any instant leaves either the old or the new complete file:
 * temp file in the same directory, fsync, rename over, fsync the directory.
 */
export async function replaceFileDurably(path: string, data: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-checkpoint`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    let unsynced = 0;
    for (let off = 0; off < data.length; ) {
      const { bytesWritten } = await fh.write(data, off, Math.min(CHUNK, data.length - off), off);
      if (bytesWritten === 0) throw new Error(`${tmp}: short write`);
      off += bytesWritten;
      unsynced += bytesWritten;
      if (unsynced >= SYNC_EVERY) {
        await fh.datasync();
        unsynced = 0;
      }
    }
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await fh.close();
  await rename(tmp, path);
  await fsyncDir(dirname(path));
}
