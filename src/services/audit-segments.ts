/**
 * Archive segments: gzip-compressed JSONL files, one event per line in the shape of `GET /v1/audit/events` (with
 * `hash` and `prev_hash`), named `audit-<first seq>-<last seq>.jsonl.gz` with both numbers zero-padded to twelve
 * digits, so the names sort in chain order. The broker writes them; `awrit audit verify --archive` reads them.
 */
import { readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import { replaceFileDurably } from '../platform/durable-file.js';
import type { AuditRow } from '../store/store.js';
import { auditEventJson } from './audit.js';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

const NAME = /^audit-(\d{12})-(\d{12})\.jsonl\.gz$/;
const TMP_SUFFIX = '.tmp';

export interface Segment {
  name: string;
  path: string;
  first: number;
  last: number;
}

export function segmentName(first: number, last: number): string {
  const pad = (n: number): string => String(n).padStart(12, '0');
  return `audit-${pad(first)}-${pad(last)}.jsonl.gz`;
}

/** One JSON line per event, the same object the audit log file and the query API carry. */
export function auditJsonLine(r: AuditRow): string {
  return `${JSON.stringify(auditEventJson(r))}\n`;
}

/** The segments in `dir`, in chain order. A missing directory has none. */
export async function listSegments(dir: string): Promise<Segment[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: Segment[] = [];
  for (const name of names.sort()) {
    const m = NAME.exec(name);
    if (m !== null) out.push({ name, path: join(dir, name), first: Number(m[1]), last: Number(m[2]) });
  }
  return out;
}

/** Leftovers of a write interrupted before its rename; they were never part of the archive. */
export async function removePartialSegments(dir: string): Promise<number> {
  let removed = 0;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (name.startsWith('audit-') && name.endsWith(TMP_SUFFIX)) {
      await unlink(join(dir, name)).catch(() => undefined);
      removed++;
    }
  }
  return removed;
}

/**
 * Writes the rows (consecutive, oldest first) as one segment that survives power loss before this resolves: temp
 * file, fsync, rename, fsync of the directory. Only then may the rows leave the database.
 */
export async function writeSegment(dir: string, rows: readonly AuditRow[]): Promise<Segment> {
  const first = rows[0];
  const last = rows[rows.length - 1];
  if (first === undefined || last === undefined) throw new Error('empty segment');
  const name = segmentName(first.seq, last.seq);
  const path = join(dir, name);
  const data = await gzipAsync(Buffer.from(rows.map(auditJsonLine).join(''), 'utf8'));
  await replaceFileDurably(path, data, TMP_SUFFIX);
  return { name, path, first: first.seq, last: last.seq };
}

/** A segment's lines, parsed; a line that is not a JSON object comes back as the text it is. */
export async function readSegment(path: string): Promise<Array<Record<string, unknown> | string>> {
  const text = (await gunzipAsync(await readFile(path))).toString('utf8');
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((line) => {
    try {
      const v: unknown = JSON.parse(line);
      return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : line;
    } catch {
      return line;
    }
  });
}
