/** Token operations: issue (for every route that hands out a token), validate, renew and release. */
import type { VerifyLane } from '../../crypto/verify-lanes.js';
import { RequestError } from '../../errors.js';
import { type Claims, isAgentSubject } from '../claims.js';
import type { Services } from '../services.js';
import type { Issued, IssueSpec, Verified } from '../tokens.js';
import type { UnitOfWork } from '../unit-of-work.js';

/**
 * Signs a token within a unit of work. Tokens of non-agent subjects are remembered (and persisted) so an
 * agent-level revocation of `admin` or `app:…` can find them; if the unit of work is rolled back, the token is
 * forgotten again.
 */
export async function issueToken(s: Services, tx: UnitOfWork, spec: IssueSpec): Promise<Issued> {
  const claims = s.tokens.claimsFor(spec);
  if (!isAgentSubject(spec.sub)) {
    // Tracked before the signature is awaited: a revocation of this subject arriving meanwhile must see the jti.
    const row = { jti: claims.jti, sub: spec.sub, exp: claims.exp };
    tx.change({ kind: 'issuedToken.put', row }, s.issued.add(row));
  }
  const issued = await s.tokens.signClaims(claims);
  tx.onRollback(() => s.tokens.forget(issued.cacheKey));
  return issued;
}

export type Validation = { valid: true; claims: Claims } | { valid: false; reason: string };

/**
 * Verifies a token against memory that is current enough to trust: on a shared store a broker whose view of
 * revocations is older than AA_REVOCATION_MAX_LAG answers 503 rather than accept a token that may be revoked, and a
 * token signed with a key made by another broker a moment ago is checked again once memory has caught up.
 */
export async function verifyCurrent(s: Services, token: string, lane: VerifyLane): Promise<Verified> {
  requireCurrent(s);
  const v = await s.tokens.verify(token, lane);
  if (v.ok || v.unknownKey !== true) return v;
  await s.sync();
  return s.tokens.verify(token, lane);
}

/**
 * Refuses (503) to decide on credentials while this broker's view of a shared store is older than
 * AA_REVOCATION_MAX_LAG: a revocation, a deregistration or a consumption made elsewhere may be missing.
 */
export function requireCurrent(s: Services): void {
  if (s.follower.stale()) {
    throw new RequestError('service_unavailable', 'revocation state is not current, try again shortly', {
      retryAfter: 1,
    });
  }
}

/** Whether a token is good for this broker: signature, claims, revocation and audience. */
export async function validateToken(s: Services, token: string, lane: VerifyLane): Promise<Validation> {
  const v = await verifyCurrent(s, token, lane);
  if (v.ok && s.tokens.audienceOk(v.claims)) return { valid: true, claims: v.claims };
  return { valid: false, reason: v.ok ? 'audience mismatch' : v.reason };
}

/**
 * Exchanges a live token for a fresh one with the same identity, scope and lifetime. The old jti is revoked
 * first (synchronously, so two concurrent renewals of one token cannot both win).
 */
export async function renewToken(s: Services, c: Claims): Promise<Issued> {
  if (s.revocations.isRevoked(c)) {
    const tx = s.begin().audit({
      event_type: 'token_renewal_failed',
      agent_id: c.sub,
      task_id: c.task_id,
      orch_id: c.orch_id,
      detail: `token renewal failed for agent=${c.sub}: token has been revoked`,
      outcome: 'denied',
    });
    await tx.commit('token renewal failed');
    throw new RequestError('unauthorized', 'token renewal failed');
  }
  const tx = s.begin();
  const revocation = s.revocations.add('token', c.jti, c.exp);
  tx.change({ kind: 'revocation.put', row: revocation.row }, revocation.undo);
  const lifetime = c.exp - c.iat;
  let issued: Issued;
  try {
    issued = await issueToken(s, tx, {
      sub: c.sub,
      scope: c.scope,
      ttl: Math.max(lifetime, 0),
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
    tx.rollback();
    throw new RequestError('internal_error', 'token renewal failed', { cause: err });
  }
  if (isAgentSubject(c.sub)) extendAgent(s, tx, c.sub, issued.claims.exp);
  tx.audit({
    event_type: 'token_renewed',
    agent_id: c.sub,
    task_id: c.task_id,
    orch_id: c.orch_id,
    detail: `token renewed for agent=${c.sub} new_jti=${issued.claims.jti}`,
    outcome: 'success',
  });
  await tx.commit('token renewal failed');
  return issued;
}

/** An agent's known lifetime grows with the newest token issued to it. */
export function extendAgent(s: Services, tx: UnitOfWork, agentId: string, exp: number): void {
  const previous = s.agents.get(agentId);
  const extended = s.agents.extend(agentId, exp);
  if (extended !== null && previous !== undefined) {
    tx.change({ kind: 'agent.put', row: extended }, () => s.agents.put(previous));
  }
}

/** A token ends itself. Idempotent: releasing an already dead (but genuine, unexpired) token changes nothing. */
export async function releaseToken(s: Services, c: Claims, alreadyRevoked: boolean): Promise<void> {
  if (alreadyRevoked) return;
  const tx = s.begin();
  const revocation = s.revocations.add('token', c.jti, c.exp);
  tx.change({ kind: 'revocation.put', row: revocation.row }, revocation.undo).audit({
    event_type: 'token_released',
    agent_id: c.sub,
    task_id: c.task_id,
    orch_id: c.orch_id,
    detail: `token released | jti=${c.jti}`,
    outcome: 'success',
  });
  await tx.commit('token release failed');
  s.metrics.tokensRevoked.release.inc();
  s.logger.ok('RELEASE', 'hdl', 'token released', `jti=${c.jti}`);
}
