/**
 * Audit retention (AA_AUDIT_RETENTION, AA_AUDIT_ARCHIVE_DIR): events older than the retention move out of the
 * database into archive segments (services/audit-segments.ts). A run writes a segment and makes it durable, and
 * only then commits one store change that deletes those rows and moves the anchor (the last archived event's id
 * and hash) — so a crash at any instant leaves every event in the database, in a segment, or in both. "Both" is
 * a segment written but not yet committed; `reconcile` finds it at the next start (or run) and finishes the
 * commit after checking that the segment holds exactly those rows.
 */
import { mkdir } from 'node:fs/promises';
import { AgentWritError } from '../errors.js';
import { parseRfc3339, rfc3339Nano, rfc3339Seconds } from '../platform/time.js';
import { GENESIS_HASH } from '../store/audit-chain.js';
import type { AuditAnchor, AuditRow, Mutation, Store } from '../store/store.js';
import type { AuditLog } from './audit.js';
import { listSegments, readSegment, removePartialSegments, type Segment, writeSegment } from './audit-segments.js';

/** Events per segment: a few MB of JSON before compression, written in one piece. */
export const SEGMENT_EVENTS = 10_000;
const PAGE = 1000;
/**
 * A run starts no new segment after this long: a backlog (retention just enabled on a long history) is worked off
 * over several runs, so an on-demand run answers well inside the request timeout and shutdown never waits long.
 */
export const RUN_BUDGET_MS = 5_000;

/** The archive directory and the database disagree: archiving stops until an operator looks. */
export class AuditArchiveError extends AgentWritError {
  override readonly name = 'AuditArchiveError';
  readonly code = 'AW_ERR_AUDIT_ARCHIVE';
}

export interface ArchiveResult {
  archived: number;
  segments: string[];
  anchor: AuditAnchor | null;
  /** The run stopped at its time budget with old events left: run again. */
  more: boolean;
}

export interface AuditArchiverDeps {
  dir: string;
  retentionSeconds: number;
  store: Pick<Store, 'auditRange'>;
  audit: AuditLog;
  /** Commits a store change in order with every other request (the persister). */
  commit(mutations: readonly Mutation[]): Promise<void>;
  /** The newest event that may leave the database (the JSONL log must have it first); Infinity when unbounded. */
  archivableThrough(): number;
  now(): number;
  onLog(level: 'ok' | 'warn' | 'fail', message: string, ...ctx: string[]): void;
}

export class AuditArchiver {
  private running: Promise<ArchiveResult> | null = null;

  constructor(private readonly d: AuditArchiverDeps) {}

  get retentionSeconds(): number {
    return this.d.retentionSeconds;
  }

  /** One run at a time; a second caller shares the run in progress. */
  run(): Promise<ArchiveResult> {
    this.running ??= this.archive().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /**
   * Finishes an interrupted run: a segment that starts right after the anchor but whose rows are still in the
   * database is compared with those rows, then committed as archived. Anything else out of line is an error.
   */
  async reconcile(): Promise<void> {
    await mkdir(this.d.dir, { recursive: true, mode: 0o700 });
    await removePartialSegments(this.d.dir);
    const last = (await listSegments(this.d.dir)).at(-1);
    const anchorSeq = this.d.audit.anchor?.seq ?? 0;
    if (last === undefined || last.last <= anchorSeq) return;
    if (last.first !== anchorSeq + 1) {
      throw new AuditArchiveError(`segment ${last.name} does not follow the anchor at seq ${anchorSeq}`);
    }
    const rows = await this.readRows(anchorSeq, last.last);
    const lines = await readSegment(last.path);
    const same =
      rows.length === lines.length &&
      rows.every((r, i) => {
        const l = lines[i];
        return typeof l === 'object' && l.id === r.id && l.hash === r.hash && l.prev_hash === r.prev_hash;
      });
    if (!same || rows.length === 0) {
      throw new AuditArchiveError(`segment ${last.name} does not match the database rows it should hold`);
    }
    await this.commitArchived(rows[rows.length - 1]!);
    this.d.onLog('ok', 'completed an interrupted audit archive run', `segment=${last.name}`);
  }

  private async archive(): Promise<ArchiveResult> {
    await this.reconcile();
    const cutoff = parseRfc3339(rfc3339Nano(this.d.now() - this.d.retentionSeconds * 1000))!;
    const limit = Math.min(this.d.archivableThrough(), this.d.audit.durableSeq);
    const result: ArchiveResult = { archived: 0, segments: [], anchor: this.d.audit.anchor, more: false };
    const deadline = performance.now() + RUN_BUDGET_MS;
    for (;;) {
      if (performance.now() > deadline) {
        result.more = true;
        break;
      }
      const rows = await this.oldRows(cutoff, limit);
      if (rows.length === 0) break;
      const segment: Segment = await writeSegment(this.d.dir, rows);
      await this.commitArchived(rows[rows.length - 1]!);
      result.archived += rows.length;
      result.segments.push(segment.name);
      result.anchor = this.d.audit.anchor;
      this.d.onLog('ok', 'audit events archived', `segment=${segment.name}`, `events=${rows.length}`);
    }
    return result;
  }

  /** The next rows after the anchor older than `cutoff`, at most one segment's worth, stopping at the first newer. */
  private async oldRows(cutoff: string, limit: number): Promise<AuditRow[]> {
    const out: AuditRow[] = [];
    let after = this.d.audit.anchor?.seq ?? 0;
    while (out.length < SEGMENT_EVENTS) {
      const page = await this.d.store.auditRange(after, Math.min(PAGE, SEGMENT_EVENTS - out.length));
      for (const r of page) {
        const at = parseRfc3339(r.timestamp);
        // An unreadable timestamp is never taken for old: the row stays where it can be looked at.
        if (r.seq > limit || at === null || at >= cutoff) return out;
        out.push(r);
      }
      if (page.length === 0) return out;
      after = page[page.length - 1]!.seq;
    }
    return out;
  }

  private async readRows(afterSeq: number, throughSeq: number): Promise<AuditRow[]> {
    const out: AuditRow[] = [];
    for (let after = afterSeq; after < throughSeq; ) {
      const page = await this.d.store.auditRange(after, Math.min(PAGE, throughSeq - after));
      if (page.length === 0) break;
      for (const r of page) if (r.seq <= throughSeq) out.push(r);
      after = page[page.length - 1]!.seq;
    }
    return out;
  }

  private async commitArchived(last: AuditRow): Promise<void> {
    const anchor: AuditAnchor = {
      seq: last.seq,
      id: last.id,
      hash: last.hash,
      archived_at: rfc3339Seconds(this.d.now()),
    };
    await this.d.commit([{ kind: 'audit.archive', anchor }]);
    this.d.audit.anchor = anchor;
  }
}

/** The hash the database part of the chain starts from. */
export function chainStart(anchor: AuditAnchor | null): { seq: number; hash: string } {
  return anchor === null ? { seq: 0, hash: GENESIS_HASH } : { seq: anchor.seq, hash: anchor.hash };
}
