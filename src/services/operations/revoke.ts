/**
 * Revocation at one of four levels. Revoking a non-agent subject (`admin`, `app:…`) at agent level revokes the
 * tokens it holds now, not every future one; every other revocation is permanent.
 */
import type { RevocationLevel } from '../../store/store.js';
import { type Claims, isAgentSubject } from '../claims.js';
import type { Services } from '../services.js';

export async function revoke(s: Services, caller: Claims, level: RevocationLevel, target: string): Promise<void> {
  const now = Math.floor(Date.now() / 1000);
  // The live tokens of `admin` or `app:…` may have been issued by other brokers on a shared store a moment ago.
  if (level === 'agent' && !isAgentSubject(target)) await s.sync();
  const tx = s.begin();
  const add = (lvl: RevocationLevel, tgt: string, expiresAt: number | null): void => {
    const r = s.revocations.add(lvl, tgt, expiresAt);
    tx.change({ kind: 'revocation.put', row: r.row }, r.undo);
  };
  if (level === 'agent' && !isAgentSubject(target)) {
    for (const t of s.issued.live(target, now)) add('token', t.jti, t.exp);
  } else {
    // Permanent: the lifetime of a token named only by its jti is unknown here (it may have been issued under a
    // larger AA_MAX_TTL, or by another broker with this key), and an entry that expired early would revive it.
    add(level, target, null);
  }
  tx.audit({
    event_type: 'token_revoked',
    agent_id: target,
    detail: `revoked at level=${level} target=${target} by=${caller.sub}`,
    outcome: 'success',
  });
  await tx.commit('revocation failed');
  s.metrics.tokensRevoked[level].inc();
  s.logger.ok('REVOKE', 'hdl', 'revoked', `level=${level}`, `target=${target}`, `by=${caller.sub}`);
}
