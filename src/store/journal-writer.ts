import { type FileHandle, open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fsyncDir } from '../platform/durable-file.js';
import { JOURNAL_MAGIC } from './journal-format.js';

/**
 * Appends records to the journal with positional writes, so after a failed write the file can be cut back to the
 * end of the last durable record and a partial record is never followed by good ones. Not reentrant: the caller
 * serializes calls.
 */
export class JournalWriter {
  private needsRepair = false;
  /** A rename in the directory has not been fsynced yet; appends are not durable until it is. */
  private dirDirty = false;

  private constructor(
    private fh: FileHandle,
    readonly path: string,
    private endOffset: number,
  ) {}

  static async open(path: string, end: number): Promise<JournalWriter> {
    return new JournalWriter(await open(path, 'r+'), path, end);
  }

  get end(): number {
    return this.endOffset;
  }

  /** Bytes of records since the last rotation. */
  get recordBytes(): number {
    return this.endOffset - JOURNAL_MAGIC.length;
  }

  private async repair(): Promise<void> {
    await this.fh.truncate(this.endOffset);
    await this.fh.datasync();
    this.needsRepair = false;
  }

  /** Writes and fdatasyncs `data`; once this resolves the data survives power loss. */
  async append(data: Buffer): Promise<void> {
    if (this.needsRepair) await this.repair();
    try {
      for (let off = 0; off < data.length; ) {
        const { bytesWritten } = await this.fh.write(data, off, data.length - off, this.endOffset + off);
        off += bytesWritten;
      }
      await this.fh.datasync();
      if (this.dirDirty) {
        await fsyncDir(dirname(this.path));
        this.dirDirty = false;
      }
    } catch (err) {
      this.needsRepair = true;
      await this.repair().catch(() => undefined);
      throw err;
    }
    this.endOffset += data.length;
  }

  /**
   * Drops the records before `cut` (they are in a checkpointed database file): copies the rest into a new journal,
   * fsyncs it and renames it over the old one, so a crash leaves either journal, both valid with the new database.
   */
  async rotate(cut: number): Promise<void> {
    if (this.needsRepair) await this.repair();
    const tail = Buffer.allocUnsafe(this.endOffset - cut);
    for (let off = 0; off < tail.length; ) {
      const { bytesRead } = await this.fh.read(tail, off, tail.length - off, cut + off);
      if (bytesRead === 0) throw new Error(`${this.path}: short read while rotating`);
      off += bytesRead;
    }
    const tmp = `${this.path}.tmp`;
    const next = await open(tmp, 'w+', 0o600);
    try {
      const content = Buffer.concat([JOURNAL_MAGIC, tail]);
      for (let off = 0; off < content.length; ) {
        const { bytesWritten } = await next.write(content, off, content.length - off, off);
        off += bytesWritten;
      }
      await next.sync();
      await rename(tmp, this.path);
    } catch (err) {
      await next.close().catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
    const old = this.fh;
    this.fh = next;
    this.endOffset = JOURNAL_MAGIC.length + tail.length;
    await old.close().catch(() => undefined);
    try {
      await fsyncDir(dirname(this.path));
    } catch (err) {
      this.dirDirty = true;
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}
