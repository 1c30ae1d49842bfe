/**
 * The database file in memory, without extra copies.
 *
 * sql.js keeps the database in an in-memory (MEMFS) file whose bytes are one Uint8Array. `new Database(bytes)` stores
 * `bytes.slice(…)` there — a second full copy of the file, which in this environment also costs about 2 s of page
 * faults at 460 MB — and the file later grows by allocating a larger array and copying (both alive at once). Handing
 * over an array whose `slice` returns a view of our own, larger buffer avoids both: the file is read once, straight
 * into the memory MEMFS then uses, with spare capacity behind it (untouched capacity is address space, not RSS).
 *
 * Keeping that view also lets a checkpoint write the live file to disk directly instead of `export()`ing another full
 * copy. Whether the view still is the live file is verified before each such use (see `liveImage`).
 */

import { constants } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { Database, SqlJsStatic } from 'sql.js';

/** Spare capacity: the file can grow this much before MEMFS has to reallocate (and copy) it. */
export function capacityFor(size: number): number {
  return Math.min(constants.MAX_LENGTH, size + Math.max(64 * 1024 * 1024, Math.floor(size / 4)));
}

/** ES2024 resizable ArrayBuffer (Node 20 has it; the project's lib target does not describe it). */
interface Resizable {
  readonly resizable?: boolean;
  readonly maxByteLength?: number;
  resize?(byteLength: number): void;
}
const ResizableArrayBuffer = ArrayBuffer as unknown as new (
  length: number,
  opts: { maxByteLength: number },
) => ArrayBuffer;

/**
 * The file's memory: a resizable buffer reserving address space up to the largest array Node allows, so capacity
 * can later be added in place (`ensureCapacity`) instead of by MEMFS's copy. Reserved, uncommitted space is not RSS.
 */
function allocate(size: number): ArrayBuffer {
  try {
    return new ResizableArrayBuffer(capacityFor(size), { maxByteLength: constants.MAX_LENGTH });
  } catch {
    try {
      return new ArrayBuffer(capacityFor(size));
    } catch {
      return new ArrayBuffer(size); // no address space for spare capacity: MEMFS will grow the file by copying
    }
  }
}

/** Restores the spare capacity behind a live file of `size` bytes, in place; false if the buffer cannot grow. */
export function ensureCapacity(live: Uint8Array, size: number): boolean {
  const buf = live.buffer as ArrayBuffer & Resizable;
  const want = live.byteOffset + capacityFor(size);
  if (buf.byteLength >= want) return true;
  if (buf.resizable !== true || buf.resize === undefined || want > (buf.maxByteLength ?? 0)) return false;
  buf.resize(want);
  return true;
}

const READ_CHUNK = 64 * 1024 * 1024;

/**
 * Reads the whole file into a buffer with spare capacity. Returns a Buffer view of exactly the file's bytes; its
 * `.buffer` is the full-capacity ArrayBuffer.
 */
export async function readWithCapacity(path: string): Promise<Buffer | null> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const size = (await fh.stat()).size;
    const bytes = Buffer.from(allocate(size), 0, size);
    for (let off = 0; off < size; ) {
      const { bytesRead } = await fh.read(bytes, off, Math.min(READ_CHUNK, size - off), off);
      if (bytesRead === 0) throw new Error(`${path} shrank while being read`);
      off += bytesRead;
    }
    return bytes;
  } finally {
    await fh.close();
  }
}

/** A view whose first full `slice()` hands its memory over instead of copying it. */
class HandOver extends Uint8Array {
  taken: Uint8Array<ArrayBuffer> | null = null;

  override slice(start?: number, end?: number): Uint8Array<ArrayBuffer> {
    if (this.taken === null && (start ?? 0) === 0 && (end ?? this.length) === this.length) {
      // No length: on a resizable buffer the view tracks it, so capacity added later is visible to MEMFS.
      this.taken = new Uint8Array(this.buffer, this.byteOffset);
      return this.taken;
    }
    return new Uint8Array(this.subarray(start, end));
  }
}

export interface OpenedImage {
  db: Database;
  /** The array MEMFS holds the database file in (capacity beyond the file's size), or null if sql.js copied. */
  live: Uint8Array | null;
}

/** Opens `bytes` (from readWithCapacity) as a database; the caller must drop its own references to `bytes`. */
export function openImage(SQL: SqlJsStatic, bytes: Buffer): OpenedImage {
  // readWithCapacity allocates a plain ArrayBuffer.
  const view = new HandOver(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.length);
  const db = new SQL.Database(view);
  return { db, live: view.taken };
}

const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v ?? 0));

/**
 * Returns the live database file as a view of exactly its current size, or null if `live` may no longer be the array
 * MEMFS writes to (the file outgrew its capacity and was reallocated, or sql.js changed how it stores files). Proof:
 * a fresh random mark is committed into `store_meta` and must appear in that table's page of `live`. Must be called
 * outside a transaction; the view is only valid until the next write to the database.
 */
export function liveImage(db: Database, live: Uint8Array | null): Uint8Array | null {
  if (live === null) return null;
  const mark = `checkpoint-${randomBytes(12).toString('hex')}`;
  db.run(
    "INSERT INTO store_meta (key, value) VALUES ('checkpoint_mark', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    [mark],
  );
  const pageSize = num(db.exec('PRAGMA page_size')[0]?.values[0]?.[0]);
  const pageCount = num(db.exec('PRAGMA page_count')[0]?.values[0]?.[0]);
  const root = num(db.exec("SELECT rootpage FROM sqlite_master WHERE name = 'store_meta'")[0]?.values[0]?.[0]);
  const size = pageSize * pageCount;
  if (pageSize === 0 || size > live.length || root < 1 || root > pageCount) return null;
  const file = Buffer.from(live.buffer, live.byteOffset, size);
  if (file.readUInt32BE(28) !== pageCount) return null;
  if (file.subarray((root - 1) * pageSize, root * pageSize).indexOf(mark) < 0) return null;
  return new Uint8Array(live.buffer, live.byteOffset, size);
}
