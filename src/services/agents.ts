/**
 * Registered agents. Delegation targets must exist here; the active-agents gauge counts those whose newest token
 * is still alive and which are not revoked.
 */
import type { AgentRow } from '../store/store.js';

export class Agents {
  private readonly rows = new Map<string, AgentRow>();

  load(rows: readonly AgentRow[]): void {
    for (const r of rows) this.rows.set(r.agent_id, r);
  }

  clear(): void {
    this.rows.clear();
  }

  get(id: string): AgentRow | undefined {
    return this.rows.get(id);
  }

  put(row: AgentRow): () => void {
    const previous = this.rows.get(row.agent_id);
    this.rows.set(row.agent_id, row);
    return () => {
      if (previous === undefined) this.rows.delete(row.agent_id);
      else this.rows.set(row.agent_id, previous);
    };
  }

  /** Extends the agent's known lifetime to `exp`; returns the updated row to persist, or null if unknown/no change. */
  extend(id: string, exp: number): AgentRow | null {
    const r = this.rows.get(id);
    if (r === undefined || r.expires_at >= exp) return null;
    const updated = { ...r, expires_at: exp };
    this.rows.set(id, updated);
    return updated;
  }

  activeCount(nowSeconds: number, isRevoked: (agentId: string) => boolean): number {
    let n = 0;
    for (const r of this.rows.values())
      if (r.expires_at >= nowSeconds && r.status === 'active' && !isRevoked(r.agent_id)) n++;
    return n;
  }

  /** Forgets agents whose tokens all expired more than `retentionSeconds` ago (mirrors the store's prune). */
  prune(nowSeconds: number, retentionSeconds: number): number {
    let n = 0;
    for (const [id, r] of this.rows) {
      if (r.expires_at + retentionSeconds < nowSeconds) {
        this.rows.delete(id);
        n++;
      }
    }
    return n;
  }
}
