/**
 * Live tokens of non-agent subjects (`admin`, `app:…`). Revoking such a subject at agent level revokes exactly
 * these jtis, so the operator's next `POST /v1/admin/auth` works (the reference bricked admin access for good).
 */
import type { IssuedTokenRow } from '../store/store.js';

export class IssuedTokens {
  private readonly bySub = new Map<string, Map<string, number>>();

  load(rows: readonly IssuedTokenRow[]): void {
    for (const r of rows) this.add(r);
  }

  clear(): void {
    this.bySub.clear();
  }

  add(r: IssuedTokenRow): () => void {
    let m = this.bySub.get(r.sub);
    if (m === undefined) {
      m = new Map();
      this.bySub.set(r.sub, m);
    }
    m.set(r.jti, r.exp);
    return () => {
      m.delete(r.jti);
      if (m.size === 0) this.bySub.delete(r.sub);
    };
  }

  live(sub: string, nowSeconds: number): IssuedTokenRow[] {
    const out: IssuedTokenRow[] = [];
    for (const [jti, exp] of this.bySub.get(sub) ?? []) if (exp >= nowSeconds) out.push({ jti, sub, exp });
    return out;
  }

  prune(nowSeconds: number): number {
    let n = 0;
    for (const [sub, m] of this.bySub) {
      for (const [jti, exp] of m) {
        if (exp < nowSeconds) {
          m.delete(jti);
          n++;
        }
      }
      if (m.size === 0) this.bySub.delete(sub);
    }
    return n;
  }
}
