/**
 * Recomputes the audit hash chain event by event with the broker's own rule (`auditHash`), so a trail checks out
 * exactly when the broker would have produced it. Events must arrive oldest first, starting at the genesis or at
 * an archive anchor (the last event moved out of the database).
 */
import { auditHash, auditId, GENESIS_HASH } from '../store/audit-chain.js';
import type { Json } from './decode.js';

export interface ChainBreak {
  /** The id of the first event that does not fit (as found in the trail). */
  at: string;
  /** What does not match: the event's own hash, its link to the previous event, its position, or its shape. */
  field: 'hash' | 'prev_hash' | 'id' | 'event';
  expected: string;
  found: string;
}

const STRING_FIELDS = ['id', 'timestamp', 'event_type', 'detail', 'hash', 'prev_hash'] as const;
const OPTIONAL_STRINGS = ['agent_id', 'task_id', 'orch_id', 'resource', 'outcome', 'deleg_chain_hash'] as const;
const OPTIONAL_INTS = ['deleg_depth', 'bytes_transferred'] as const;

function shapeProblem(e: Json): string | null {
  for (const k of STRING_FIELDS) if (typeof e[k] !== 'string') return `"${k}" missing or not a string`;
  for (const k of OPTIONAL_STRINGS) if (e[k] !== undefined && typeof e[k] !== 'string') return `"${k}" is not a string`;
  for (const k of OPTIONAL_INTS)
    if (e[k] !== undefined && !Number.isSafeInteger(e[k])) return `"${k}" is not an integer`;
  return null;
}

const s = (e: Json, k: string): string => (typeof e[k] === 'string' ? (e[k] as string) : '');
const n = (e: Json, k: string): number => (typeof e[k] === 'number' ? (e[k] as number) : 0);

export class ChainVerifier {
  private prev: string;
  private verified = 0;
  private readonly startSeq: number;

  constructor(start: { seq: number; hash: string } = { seq: 0, hash: GENESIS_HASH }) {
    this.startSeq = start.seq;
    this.prev = start.hash;
  }

  get count(): number {
    return this.verified;
  }

  /** The sequence number of the last verified event (the start's before any). */
  get seq(): number {
    return this.startSeq + this.verified;
  }

  /** The hash of the last verified event (the genesis value before any). */
  get head(): string {
    return this.prev;
  }

  /** Checks the next event; returns the break, or null when it extends the chain. */
  add(e: Json): ChainBreak | null {
    const expectedId = auditId(this.seq + 1);
    const shape = shapeProblem(e);
    if (shape !== null) {
      return {
        at: typeof e.id === 'string' ? e.id : expectedId,
        field: 'event',
        expected: 'a well-formed event',
        found: shape,
      };
    }
    const id = s(e, 'id');
    if (id !== expectedId) return { at: id, field: 'id', expected: expectedId, found: id };
    if (s(e, 'prev_hash') !== this.prev)
      return { at: id, field: 'prev_hash', expected: this.prev, found: s(e, 'prev_hash') };
    const recomputed = auditHash({
      id,
      timestamp: s(e, 'timestamp'),
      event_type: s(e, 'event_type'),
      agent_id: s(e, 'agent_id'),
      task_id: s(e, 'task_id'),
      orch_id: s(e, 'orch_id'),
      detail: s(e, 'detail'),
      resource: s(e, 'resource'),
      outcome: s(e, 'outcome'),
      deleg_depth: n(e, 'deleg_depth'),
      deleg_chain_hash: s(e, 'deleg_chain_hash'),
      bytes_transferred: n(e, 'bytes_transferred'),
      prev_hash: this.prev,
    });
    if (recomputed !== s(e, 'hash')) return { at: id, field: 'hash', expected: recomputed, found: s(e, 'hash') };
    this.prev = recomputed;
    this.verified += 1;
    return null;
  }
}

export function describeBreak(b: ChainBreak): string {
  switch (b.field) {
    case 'hash':
      return `chain broken at ${b.at}: expected hash ${b.expected}, found ${b.found} (the event was altered)`;
    case 'prev_hash':
      return `chain broken at ${b.at}: expected prev_hash ${b.expected}, found ${b.found} (an earlier event was altered or removed)`;
    case 'id':
      return `chain broken at ${b.at}: expected event ${b.expected} here (events missing or out of order)`;
    case 'event':
      return `chain broken at ${b.at}: malformed event (${b.found})`;
  }
}
