/**
 * The JSONL audit log (AA_AUDIT_LOG_PATH): every committed audit event as one JSON line, for log shippers.
 *
 * Each event appears exactly once, also across a kill -9: the position (the last event written) is the last line
 * of the file, or — when the file was just rotated or truncated and has no line yet — a small position file next
 * to it (`<path>.pos`). At startup the file catches up from the database after that position, after cutting off
 * a line torn by the crash. The database is the truth: a failed write loses nothing, the rows are written again
 * from the database once the file is writable (a retry every few seconds, or SIGHUP).
 */
import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import type { AuditRow, Store } from '../store/store.js';
import { auditJsonLine } from './audit-segments.js';

export interface AuditLogFileEvents {
  /** A write or open failed: the error line and the metric. */
  onError(message: string, err: Error): void;
  onLog(level: 'ok' | 'warn', message: string, ...ctx: string[]): void;
}

export interface AuditLogFileState {
  ok: boolean;
  /** The last failure, while failing. */
  error: string | null;
  /** The last event written. */
  writtenSeq: number;
}

/** Enough for any line: each text field of an event is bounded (services/audit.ts, MAX_AUDIT_TEXT). */
const TAIL_BYTES = 1024 * 1024;
/** Rows held in memory while the file is failing; past this they are read again from the database. */
const MAX_PENDING = 10_000;
const PAGE = 1000;
const POSITION_WIDTH = 20;

const seqOfId = (id: unknown): number | null =>
  typeof id === 'string' && /^evt-\d{1,15}$/.test(id) ? Number(id.slice(4)) : null;

/** The seq of the file's last complete line (null when it has none), cutting off a torn final line first. */
async function lastLineSeq(path: string, onLog: AuditLogFileEvents['onLog']): Promise<number | null> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r+');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile() || st.size === 0) return null;
    const start = Math.max(0, st.size - TAIL_BYTES);
    const buf = Buffer.alloc(st.size - start);
    await fh.read(buf, 0, buf.length, start);
    const lastNl = buf.lastIndexOf(0x0a);
    const end = lastNl + 1;
    if (end < buf.length) {
      // A write cut short by the crash: that event is written again from the database.
      await fh.truncate(start + end);
      onLog('warn', 'audit log ended with a partial line; removed it', `bytes=${buf.length - end}`);
    }
    if (lastNl < 0) return null;
    const prevNl = buf.lastIndexOf(0x0a, lastNl - 1);
    if (prevNl < 0 && start > 0) return null;
    try {
      return seqOfId((JSON.parse(buf.subarray(prevNl + 1, lastNl).toString('utf8')) as { id?: unknown }).id);
    } catch {
      return null;
    }
  } finally {
    await fh.close();
  }
}

async function readPosition(path: string): Promise<number | null> {
  try {
    const fh = await open(path, 'r');
    try {
      const buf = Buffer.alloc(POSITION_WIDTH);
      const { bytesRead } = await fh.read(buf, 0, POSITION_WIDTH, 0);
      const text = buf.subarray(0, bytesRead).toString('latin1').trim();
      return /^\d{1,19}$/.test(text) ? Number(text) : null;
    } finally {
      await fh.close();
    }
  } catch {
    return null;
  }
}

export class AuditLogFile {
  private fh: FileHandle | null = null;
  private posFh: FileHandle | null = null;
  private pending: AuditRow[] = [];
  /** Rows may be missing from `pending`: read them from the database first. */
  private behind = true;
  private running: Promise<void> | null = null;
  private failure: string | null = null;
  private closed = false;
  /** Set while SIGHUP swaps the handles: rows wait in `pending` meanwhile. */
  private reopening = false;
  private positionKnown: boolean;

  private constructor(
    readonly path: string,
    private readonly store: Pick<Store, 'auditRange'>,
    private readonly events: AuditLogFileEvents,
    private written: number,
  ) {
    this.positionKnown = written > 0;
  }

  /** Opens the file and catches it up with the database; a file that cannot be written is reported, not fatal. */
  static async open(path: string, store: Pick<Store, 'auditRange'>, events: AuditLogFileEvents): Promise<AuditLogFile> {
    let fileSeq: number | null = null;
    try {
      fileSeq = await lastLineSeq(path, events.onLog);
    } catch (err) {
      events.onError('cannot read the audit log', err as Error);
    }
    const posSeq = await readPosition(`${path}.pos`);
    const f = new AuditLogFile(path, store, events, Math.max(fileSeq ?? 0, posSeq ?? 0));
    await f.openHandles().catch((err: Error) => f.fail('cannot open the audit log', err));
    if (f.failure === null) await f.run();
    events.onLog('ok', 'audit log open', `path=${path}`, `last=${f.written}`);
    return f;
  }

  get state(): AuditLogFileState {
    return { ok: this.failure === null, error: this.failure, writtenSeq: this.written };
  }

  /** Rows that just became durable, in chain order. */
  append(rows: readonly AuditRow[]): void {
    if (this.closed) return;
    for (const r of rows) this.pending.push(r);
    if (this.pending.length > MAX_PENDING) {
      this.pending = [];
      this.behind = true;
    }
    if (this.failure === null && !this.reopening) void this.run();
  }

  /** Tries again after a failure (the broker calls this every few seconds while failing). */
  retry(): Promise<void> {
    if (this.failure === null || this.closed) return Promise.resolve();
    return this.reopen();
  }

  /** SIGHUP: close and reopen the path (after logrotate renamed or truncated the file), then write what is due. */
  async reopen(): Promise<void> {
    if (this.closed || this.reopening) return;
    this.reopening = true;
    try {
      while (this.running !== null) await this.running;
      await this.closeHandles();
      await this.openHandles();
    } catch (err) {
      this.fail('cannot open the audit log', err as Error);
      return;
    } finally {
      this.reopening = false;
    }
    const wasFailing = this.failure !== null;
    this.failure = null;
    await this.run();
    if (wasFailing && this.failure === null)
      this.events.onLog('ok', 'audit log writable again', `last=${this.written}`);
  }

  /** Waits until everything handed over so far is written (or has failed). */
  async flush(): Promise<void> {
    while (this.running !== null) await this.running;
  }

  async close(): Promise<void> {
    await this.flush();
    if (this.failure === null && this.pending.length > 0) await this.run();
    this.closed = true;
    await this.closeHandles();
  }

  private async openHandles(): Promise<void> {
    this.fh = await open(this.path, 'a', 0o600);
    // Not O_APPEND: the position is rewritten in place at offset 0.
    this.posFh = await open(`${this.path}.pos`, constants.O_RDWR | constants.O_CREAT, 0o600);
  }

  private async closeHandles(): Promise<void> {
    const handles = [this.fh, this.posFh];
    this.fh = this.posFh = null;
    for (const h of handles) await h?.close().catch(() => undefined);
  }

  private fail(message: string, err: Error): void {
    this.failure = `${message}: ${err.message}`;
    this.events.onError(message, err);
  }

  private run(): Promise<void> {
    this.running ??= this.drain().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async drain(): Promise<void> {
    while (this.failure === null) {
      try {
        if (this.behind) {
          this.behind = false;
          await this.catchUp();
          continue;
        }
        const batch = this.pending.filter((r) => r.seq > this.written);
        this.pending = [];
        if (batch.length === 0) return;
        if (this.positionKnown && batch[0]!.seq !== this.written + 1) {
          // Something between was not handed over (a commit raced a catch-up): the database has it.
          this.behind = true;
          continue;
        }
        try {
          await this.write(batch);
        } catch (err) {
          this.pending = [...batch, ...this.pending];
          throw err;
        }
      } catch (err) {
        this.fail('audit log write failed', err as Error);
      }
    }
  }

  private async catchUp(): Promise<void> {
    for (;;) {
      const rows = await this.store.auditRange(this.written, PAGE);
      if (rows.length === 0) return;
      if (this.positionKnown && rows[0]!.seq !== this.written + 1) {
        this.events.onLog(
          'warn',
          'audit log skips events that are no longer in the database (see the archive)',
          `after=${this.written}`,
          `resumes=${rows[0]!.seq}`,
        );
      }
      try {
        await this.write(rows);
      } catch (err) {
        this.behind = true;
        throw err;
      }
    }
  }

  private async write(rows: readonly AuditRow[]): Promise<void> {
    const fh = this.fh;
    if (fh === null) throw new Error('audit log is not open');
    const data = Buffer.from(rows.map(auditJsonLine).join(''), 'utf8');
    const before = (await fh.stat()).size;
    try {
      for (let off = 0; off < data.length; ) {
        const { bytesWritten } = await fh.write(data, off, data.length - off);
        if (bytesWritten === 0) throw new Error('short write');
        off += bytesWritten;
      }
    } catch (err) {
      // No torn line stays behind: the rows are written again whole.
      await fh.truncate(before).catch(() => undefined);
      throw err;
    }
    this.written = rows[rows.length - 1]!.seq;
    this.positionKnown = true;
    const pos = Buffer.from(`${String(this.written).padStart(POSITION_WIDTH - 1, '0')}\n`, 'latin1');
    await this.posFh?.write(pos, 0, pos.length, 0);
  }
}
