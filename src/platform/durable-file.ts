import { closeSync, fdatasyncSync, fsync, openSync, unlinkSync, writeSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';

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
 * temp file (`path` + `tmpSuffix`) in the same directory, fsync, rename over, fsync the directory.
 */
export async function replaceFileDurably(path: string, data: Uint8Array, tmpSuffix = '.tmp-checkpoint'): Promise<void> {
  const tmp = `${path}${tmpSuffix}`;
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

const fsyncAsync = promisify(fsync);

/** Sync granularity for the live-file write: a journal fsync queued behind a flush waits for at most this much. */
const LIVE_SYNC_EVERY = 8 * 1024 * 1024;

/**
 * replaceFileDurably for bytes that change as soon as this thread yields (the storage worker's live database file):
 * every byte is written — and flushed, a few MB at a time — before the first await, so the file is exactly the bytes
 * at the call. This blocks the calling thread (the storage worker, never the request thread) for the whole write.
 */
export async function replaceFileDurablyFromLive(path: string, data: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-checkpoint`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    let unsynced = 0;
    for (let off = 0; off < data.length; ) {
      const written = writeSync(fd, data, off, Math.min(CHUNK, LIVE_SYNC_EVERY, data.length - off), off);
      if (written === 0) throw new Error(`${tmp}: short write`);
      off += written;
      unsynced += written;
      if (unsynced >= LIVE_SYNC_EVERY) {
        fdatasyncSync(fd);
        unsynced = 0;
      }
    }
    // The bytes are the kernel's now; `data` may change from here on.
    await fsyncAsync(fd);
  } catch (err) {
    closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
    throw err;
  }
  closeSync(fd);
  await rename(tmp, path);
  await fsyncDir(dirname(path));
}
