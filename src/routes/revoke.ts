/**
 * POST /v1/revoke — kill tokens at one of four levels. Revoking a non-agent subject (`admin`, `app:…`) at agent
 * level revokes the tokens it holds now, not every future one; agent, task and chain revocations of agents are
 * permanent.
 */
import { isAgentSubject } from '../services/claims.js';
import { isRevocationLevel } from '../services/revocations.js';
import { persist, type Services } from '../services/services.js';
import type { Mutation } from '../store/store.js';
import type { Handler } from '../transport/pipeline.js';
import { HttpError } from '../transport/problem.js';
import { checkLengths, readJson } from './body.js';
import { authOf } from './guard.js';

export function revoke(s: Services): Handler {
  return async (ctx) => {
    const { claims: caller } = authOf(ctx);
    const b = readJson(ctx, { level: 'string', target: 'string' });
    if (!b.level || !b.target) throw new HttpError('invalid_request', 'level and target are required');
    checkLengths({ level: b.level, target: b.target });
    const level = b.level;
    if (!isRevocationLevel(level)) throw new HttpError('invalid_request', `invalid revocation level: ${level}`);
    const target = b.target;
    const now = Math.floor(Date.now() / 1000);

    const mutations: Mutation[] = [];
    const undo: Array<() => void> = [];
    const add = (lvl: typeof level, tgt: string, expiresAt: number | null): void => {
      const r = s.revocations.add(lvl, tgt, expiresAt);
      mutations.push({ kind: 'revocation.put', row: r.row });
      undo.push(r.undo);
    };
    if (level === 'agent' && !isAgentSubject(target)) {
      for (const t of s.issued.live(target, now)) add('token', t.jti, t.exp);
    } else {
      // Permanent: the lifetime of a token named only by its jti is unknown here (it may have been issued under a
      // larger AA_MAX_TTL, or by another broker with this key), and an entry that expired early would revive it.
      add(level, target, null);
    }
    await persist(s, mutations, [
      {
        event_type: 'token_revoked',
        agent_id: target,
        detail: `revoked at level=${level} target=${target} by=${caller.sub}`,
        outcome: 'success',
      },
    ], { detail: 'revocation failed', undo: () => undo.forEach((f) => f()) });
    s.metrics.tokensRevoked[level].inc();
    s.logger.ok('REVOKE', 'hdl', 'revoked', `level=${level}`, `target=${target}`, `by=${caller.sub}`);
    return { status: 200, json: { revoked: true, level, target, count: 1 } };
  };
}
