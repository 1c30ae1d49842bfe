/**
 * Revocation at four levels (docs/internals.md, "Revocation"). A token is dead if its jti, its subject, its task or the root of
 * its delegation chain is revoked. Entries carry the time after which no token they match can still be alive,
 * so housekeeping can drop them; agent, task and chain entries never expire (fail closed).
 */
import { sqliteSeconds, sqliteTimestamp } from '../platform/time.js';
import type { RevocationLevel, RevocationRow } from '../store/store.js';
import { type Claims, isAgentSubject } from './claims.js';

export const REVOCATION_LEVELS: readonly RevocationLevel[] = ['token', 'agent', 'task', 'chain'];

export function isRevocationLevel(v: string): v is RevocationLevel {
  return (REVOCATION_LEVELS as readonly string[]).includes(v);
}

export class Revocations {
  private readonly byLevel: Record<RevocationLevel, Map<string, RevocationRow>> = {
    token: new Map(),
    agent: new Map(),
    task: new Map(),
    chain: new Map(),
  };

  load(rows: readonly RevocationRow[]): void {
    for (const r of rows) this.byLevel[r.level].set(r.target, r);
  }

  clear(): void {
    for (const map of Object.values(this.byLevel)) map.clear();
  }

  /** A row committed by another broker on a shared store: merged like `add` (later expiry wins, never wins most). */
  merge(row: RevocationRow): void {
    this.add(row.level, row.target, row.expires_at, row.revoked_at);
  }

  isRevoked(c: Claims): boolean {
    if (this.byLevel.token.has(c.jti)) return true;
    const agent = this.byLevel.agent.get(c.sub);
    if (agent !== undefined) {
      // This broker revokes `admin`/`app:…` by their live jtis and never writes such a row; one imported from a Go
      // database kills the tokens issued up to its time, not every future one (else admin access is gone for good).
      if (isAgentSubject(c.sub) || c.iat <= sqliteSeconds(agent.revoked_at)) return true;
    }
    if (c.task_id && this.byLevel.task.has(c.task_id)) return true;
    const root = c.delegation_chain?.[0]?.agent;
    return root !== undefined && this.byLevel.chain.has(root);
  }

  has(level: RevocationLevel, target: string): boolean {
    return this.byLevel[level].has(target);
  }

  get(level: RevocationLevel, target: string): RevocationRow | undefined {
    return this.byLevel[level].get(target);
  }

  /**
   * Records a revocation in memory and returns the row to persist plus how to take it back if the commit fails.
   * An existing entry keeps the later expiry (null = never expires wins).
   */
  add(
    level: RevocationLevel,
    target: string,
    expiresAt: number | null,
    revokedAt?: string,
  ): { row: RevocationRow; undo: () => void } {
    const map = this.byLevel[level];
    const previous = map.get(target);
    const expires =
      previous === undefined
        ? expiresAt
        : previous.expires_at === null || expiresAt === null
          ? null
          : Math.max(previous.expires_at, expiresAt);
    const row: RevocationRow = {
      level,
      target,
      revoked_at: previous?.revoked_at ?? revokedAt ?? sqliteTimestamp(),
      expires_at: expires,
    };
    map.set(target, row);
    return {
      row,
      undo: () => {
        if (previous === undefined) map.delete(target);
        else map.set(target, previous);
      },
    };
  }

  prune(nowSeconds: number): number {
    let n = 0;
    for (const map of Object.values(this.byLevel)) {
      for (const [target, row] of map) {
        if (row.expires_at !== null && row.expires_at < nowSeconds) {
          map.delete(target);
          n++;
        }
      }
    }
    return n;
  }

  get size(): number {
    return Object.values(this.byLevel).reduce((n, m) => n + m.size, 0);
  }
}
