/**
 * Launch tokens: opaque 64-hex bearer strings an operator or app hands to an agent for one registration (or
 * several, when not single-use). Only their SHA-256 is kept, in memory and on disk.
 */
import { randomHex, sha256Hex } from '../crypto/secrets.js';
import type { LaunchTokenRow } from '../store/store.js';

export type LaunchLookup =
  | { ok: true; row: LaunchTokenRow }
  | { ok: false; reason: 'launch token not found' | 'launch token expired' | 'launch token already consumed' };

export class LaunchTokens {
  private readonly rows = new Map<string, LaunchTokenRow>();

  load(rows: readonly LaunchTokenRow[]): void {
    for (const r of rows) this.rows.set(r.token_hash, r);
  }

  clear(): void {
    this.rows.clear();
  }

  /** A row committed by another broker on a shared store (a consumed one stays consumed). */
  put(row: LaunchTokenRow): void {
    const known = this.rows.get(row.token_hash);
    if (known !== undefined && known.consumed_at !== null && row.consumed_at === null) return;
    this.rows.set(row.token_hash, { ...row });
  }

  /** A consumption committed by another broker on a shared store. */
  markConsumed(tokenHash: string, at: number): void {
    const row = this.rows.get(tokenHash);
    if (row !== undefined && row.consumed_at === null) row.consumed_at = at;
  }

  create(
    spec: Omit<LaunchTokenRow, 'token_hash' | 'created_at' | 'consumed_at' | 'expires_at'> & { ttlSeconds: number },
  ): {
    token: string;
    row: LaunchTokenRow;
    undo: () => void;
  } {
    const token = randomHex(32);
    const now = Date.now();
    const { ttlSeconds, ...rest } = spec;
    const row: LaunchTokenRow = {
      ...rest,
      token_hash: sha256Hex(token),
      created_at: now,
      expires_at: now + ttlSeconds * 1000,
      consumed_at: null,
    };
    this.rows.set(row.token_hash, row);
    return { token, row, undo: () => this.rows.delete(row.token_hash) };
  }

  /** The reference's order: not found, then expired (strictly after expires_at), then consumed. */
  lookup(token: string, now = Date.now()): LaunchLookup {
    const row = this.rows.get(sha256Hex(token));
    if (row === undefined) return { ok: false, reason: 'launch token not found' };
    if (now > row.expires_at) return { ok: false, reason: 'launch token expired' };
    if (row.consumed_at !== null) return { ok: false, reason: 'launch token already consumed' };
    return { ok: true, row };
  }

  /** Marks a single-use token consumed; false if another registration got there first. */
  consume(row: LaunchTokenRow, now = Date.now()): { ok: boolean; undo: () => void } {
    if (row.consumed_at !== null) return { ok: false, undo: () => undefined };
    row.consumed_at = now;
    return { ok: true, undo: () => (row.consumed_at = null) };
  }

  prune(now = Date.now()): number {
    let n = 0;
    for (const [k, r] of this.rows) {
      if (now > r.expires_at || r.consumed_at !== null) {
        this.rows.delete(k);
        n++;
      }
    }
    return n;
  }

  get size(): number {
    return this.rows.size;
  }
}
