/**
 * The audit trail: every credential event becomes a row chained by SHA-256 to the one before it
 * (store/audit-chain.ts: a trail verifies under either broker's rule). The log only assigns ids and hashes;
 * rows become durable through the persister, and if a commit fails the head rewinds to the last durable row, so
 * a failed write never leaves a gap or a reused id.
 */
import { nowRfc3339Nano } from '../platform/time.js';
import { auditHash, auditId, GENESIS_HASH } from '../store/audit-chain.js';
import type { AuditAnchor, AuditRow } from '../store/store.js';

export interface AuditInput {
  event_type: string;
  agent_id?: string | undefined;
  task_id?: string | undefined;
  orch_id?: string | undefined;
  detail: string;
  resource?: string | undefined;
  outcome: 'success' | 'denied';
  deleg_depth?: number | undefined;
  deleg_chain_hash?: string | undefined;
}

export interface AuditHead {
  seq: number;
  hash: string;
}

const SENSITIVE = ['secret', 'password', 'token_value', 'private_key'];
const hasSensitive = (s: string): boolean => {
  const lower = s.toLowerCase();
  return SENSITIVE.some((k) => lower.includes(k));
};

/** The Go broker's redaction rule (docs/internals.md, "Audit chain"), applied before hashing. */
export function sanitizeDetail(detail: string): string {
  if (!hasSensitive(detail)) return detail;
  const eq = detail.indexOf('=');
  if (eq !== -1 && hasSensitive(detail.slice(0, eq))) return `${detail.slice(0, eq)}=***REDACTED***`;
  const colon = detail.indexOf(': ');
  if (colon !== -1 && hasSensitive(detail.slice(0, colon))) return `${detail.slice(0, colon)}: ***REDACTED***`;
  return detail;
}

/**
 * Longest text kept in one audit field. Denial events carry the request path and client-chosen ids, and a request
 * line may be up to 1 MiB: storing (and folding) them whole would let anonymous requests grow the trail and memory
 * by megabytes each.
 */
export const MAX_AUDIT_TEXT = 4096;

const CLIPPED = '...[truncated]';

/**
 * `text` if it fits in `max` characters; otherwise a prefix (never ending inside a surrogate pair) + a marker. A NUL
 * character (only possible in text a client chose, such as a request path) becomes U+FFFD: every store must be able
 * to hold the event exactly as it was hashed, and a PostgreSQL text column cannot hold NUL.
 */
export function clipAuditText(input: string, max = MAX_AUDIT_TEXT): string {
  const text = input.includes('\u0000') ? input.replaceAll('\u0000', '\ufffd') : input;
  if (text.length <= max) return text;
  let end = max - CLIPPED.length;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  return text.slice(0, end) + CLIPPED;
}

/** The event with every text field bounded; applied before anything holds or stores it. */
export function boundAuditInput(e: AuditInput): AuditInput {
  const clip = (v: string | undefined): string | undefined => (v === undefined ? v : clipAuditText(v));
  return {
    ...e,
    event_type: clipAuditText(e.event_type),
    agent_id: clip(e.agent_id),
    task_id: clip(e.task_id),
    orch_id: clip(e.orch_id),
    detail: clipAuditText(e.detail),
    resource: clip(e.resource),
  };
}

export class AuditLog {
  private head: AuditHead;
  private durable: AuditHead;
  /** The last event moved out of the database into an archive segment; null while none was. */
  anchor: AuditAnchor | null;

  constructor(
    start: { lastSeq: number; lastHash: string },
    private readonly onRecord: (eventType: string) => void,
    anchor: AuditAnchor | null = null,
  ) {
    this.head = { seq: start.lastSeq, hash: start.lastHash || GENESIS_HASH };
    this.durable = { ...this.head };
    this.anchor = anchor;
  }

  /** Builds the next row of the chain. The caller puts it in a commit batch. */
  record(input: AuditInput): AuditRow {
    const e = boundAuditInput(input);
    const seq = this.head.seq + 1;
    const partial = {
      id: auditId(seq),
      timestamp: nowRfc3339Nano(),
      event_type: e.event_type,
      agent_id: e.agent_id ?? '',
      task_id: e.task_id ?? '',
      orch_id: e.orch_id ?? '',
      detail: sanitizeDetail(e.detail),
      resource: e.resource ?? '',
      outcome: e.outcome,
      deleg_depth: e.deleg_depth ?? 0,
      deleg_chain_hash: e.deleg_chain_hash ?? '',
      bytes_transferred: 0,
      prev_hash: this.head.hash,
    };
    const row: AuditRow = { seq, ...partial, hash: auditHash(partial) };
    this.head = { seq, hash: row.hash };
    this.onRecord(e.event_type);
    return row;
  }

  markDurable(row: AuditRow): void {
    if (row.seq > this.durable.seq) this.durable = { seq: row.seq, hash: row.hash };
  }

  /**
   * A row committed on a shared store (by any broker): the chain head there is the database's, so memory follows
   * it. Rows this broker records next are provisional; the store numbers and chains them at commit.
   */
  adopt(row: AuditRow): void {
    if (row.seq <= this.durable.seq) return;
    this.durable = { seq: row.seq, hash: row.hash };
    if (row.seq > this.head.seq) this.head = { ...this.durable };
  }

  /** An archive committed by another broker on a shared store. */
  adoptAnchor(anchor: AuditAnchor): void {
    if (this.anchor === null || anchor.seq > this.anchor.seq) this.anchor = anchor;
  }

  /** After a failed commit: everything past the last durable row is gone. */
  rewind(): void {
    this.head = { ...this.durable };
  }

  /** Events in the database: the chain head's number less the archived ones. */
  get count(): number {
    return this.head.seq - (this.anchor?.seq ?? 0);
  }

  /** The last durable event's number. */
  get durableSeq(): number {
    return this.durable.seq;
  }
}

/** The JSON shape of an event: empty optional fields omitted. */
export function auditEventJson(r: AuditRow): Record<string, unknown> {
  const o: Record<string, unknown> = { id: r.id, timestamp: r.timestamp, event_type: r.event_type };
  if (r.agent_id) o.agent_id = r.agent_id;
  if (r.task_id) o.task_id = r.task_id;
  if (r.orch_id) o.orch_id = r.orch_id;
  o.detail = r.detail;
  if (r.resource) o.resource = r.resource;
  if (r.outcome) o.outcome = r.outcome;
  if (r.deleg_depth) o.deleg_depth = r.deleg_depth;
  if (r.deleg_chain_hash) o.deleg_chain_hash = r.deleg_chain_hash;
  if (r.bytes_transferred) o.bytes_transferred = r.bytes_transferred;
  o.hash = r.hash;
  o.prev_hash = r.prev_hash;
  return o;
}
