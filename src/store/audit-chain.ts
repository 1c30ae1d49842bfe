/**
 * The audit chain's stored form, shared by the broker (which extends it), the store (which checks what it is asked
 * to append) and awrit (which verifies it): ids, the genesis link and the hash input. Both brokers chain the same
 * way, so a trail written by either verifies under this rule (docs/internals.md, "Audit chain").
 */
import { createHash } from 'node:crypto';
import type { AuditRow } from './store.js';

/** The `prev_hash` of the first event. */
export const GENESIS_HASH = '0'.repeat(64);

/** `evt-` + the sequence number zero-padded to six digits, so ids never collide and sort by seq. */
export function auditId(seq: number): string {
  return `evt-${String(seq).padStart(6, '0')}`;
}

/** SHA-256 (hex) of the 13 chained fields joined by `|`. */
export function auditHash(r: Omit<AuditRow, 'hash' | 'seq'>): string {
  const input = [
    r.prev_hash,
    r.id,
    r.timestamp,
    r.event_type,
    r.agent_id,
    r.task_id,
    r.orch_id,
    r.detail,
    r.resource,
    r.outcome,
    String(r.deleg_depth),
    r.deleg_chain_hash,
    String(r.bytes_transferred),
  ].join('|');
  return createHash('sha256').update(input, 'utf8').digest('hex');
}
