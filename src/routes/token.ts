/** POST /v1/token/validate, /v1/token/renew, /v1/token/release. */
import { isAgentSubject } from '../services/claims.js';
import { issueToken, persist, type Services } from '../services/services.js';
import type { Mutation } from '../store/store.js';
import type { Handler } from '../transport/pipeline.js';
import { HttpError } from '../transport/problem.js';
import { readJson } from './body.js';
import { authOf, verificationLane } from './guard.js';

/** Resource servers ask whether a token is good. Always 200 for a well-formed request; failures are generic. */
export function validate(s: Services): Handler {
  return async (ctx) => {
    const b = readJson(ctx, { token: 'string' });
    if (!b.token) throw new HttpError('invalid_request', 'token field is required');
    const v = await s.tokens.verify(b.token, verificationLane(ctx));
    if (v.ok && s.tokens.audienceOk(v.claims)) return { status: 200, json: { valid: true, claims: v.claims } };
    const reason = v.ok ? 'audience mismatch' : v.reason;
    s.logger.warn('VALIDATE', 'hdl', 'token verification failed', `err=${reason}`, `request_id=${ctx.requestId}`);
    return { status: 200, json: { valid: false, error: 'token is invalid or expired' } };
  };
}

/**
 * Exchanges a live token for a fresh one with the same identity, scope and lifetime. The old jti is revoked
 * first (synchronously, so two concurrent renewals of one token cannot both win).
 */
export function renew(s: Services): Handler {
  return async (ctx) => {
    const { claims: c } = authOf(ctx);
    const fail = async (reason: string): Promise<never> => {
      await persist(s, [], [
        {
          event_type: 'token_renewal_failed',
          agent_id: c.sub,
          task_id: c.task_id,
          orch_id: c.orch_id,
          detail: `token renewal failed for agent=${c.sub}: ${reason}`,
          outcome: 'denied',
        },
      ], { detail: 'token renewal failed' });
      throw new HttpError('unauthorized', 'token renewal failed');
    };
    if (s.revocations.isRevoked(c)) return fail('token has been revoked');
    const revocation = s.revocations.add('token', c.jti, c.exp);
    const lifetime = c.exp - c.iat;
    let t;
    try {
      t = await issueToken(s, {
        sub: c.sub,
        scope: c.scope,
        ttl: lifetime > 0 ? lifetime : 0,
        // A delegated token never outlives the one it came from, renewed or not.
        notAfter: c.delegation_chain !== undefined ? c.exp : undefined,
        aud: c.aud,
        noAudience: c.aud === undefined,
        sid: c.sid,
        task_id: c.task_id,
        orch_id: c.orch_id,
        delegation_chain: c.delegation_chain,
        chain_hash: c.chain_hash,
      });
    } catch (err) {
      revocation.undo();
      throw new HttpError('internal_error', 'token renewal failed', { cause: err });
    }
    const mutations: Mutation[] = [{ kind: 'revocation.put', row: revocation.row }, ...t.mutations];
    const undo = [revocation.undo, t.undo];
    if (isAgentSubject(c.sub)) {
      const previous = s.agents.get(c.sub);
      const extended = s.agents.extend(c.sub, t.issued.claims.exp);
      if (extended !== null && previous !== undefined) {
        mutations.push({ kind: 'agent.put', row: extended });
        undo.push(() => s.agents.put(previous));
      }
    }
    await persist(s, mutations, [
      {
        event_type: 'token_renewed',
        agent_id: c.sub,
        task_id: c.task_id,
        orch_id: c.orch_id,
        detail: `token renewed for agent=${c.sub} new_jti=${t.issued.claims.jti}`,
        outcome: 'success',
      },
    ], { detail: 'token renewal failed', undo: () => undo.forEach((f) => f()) });
    return { status: 200, json: { access_token: t.issued.token, expires_in: t.issued.ttl } };
  };
}

/** A token ends itself. Idempotent: releasing an already dead (but genuine, unexpired) token is 204 again. */
export function release(s: Services): Handler {
  return async (ctx) => {
    const { claims: c, revoked } = authOf(ctx);
    if (revoked) return { status: 204 };
    const revocation = s.revocations.add('token', c.jti, c.exp);
    await persist(s, [{ kind: 'revocation.put', row: revocation.row }], [
      {
        event_type: 'token_released',
        agent_id: c.sub,
        task_id: c.task_id,
        orch_id: c.orch_id,
        detail: `token released | jti=${c.jti}`,
        outcome: 'success',
      },
    ], { detail: 'token release failed', undo: revocation.undo });
    s.metrics.tokensRevoked.release.inc();
    s.logger.ok('RELEASE', 'hdl', 'token released', `jti=${c.jti}`);
    return { status: 204 };
  };
}
