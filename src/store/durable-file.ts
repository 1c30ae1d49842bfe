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
 * Replaces `path` with `data` so that a crash at any instant leaves either the old or the new complete file:
 * temp file in the same directory, fsync, rename over, fsync the directory.
 */
export async function replaceFileDurably(path: string, data: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-checkpoint`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    for (let off = 0; off < data.length; ) {
      const { bytesWritten } = await fh.write(data, off, Math.min(CHUNK, data.length - off), off);
      off += bytesWritten;
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
