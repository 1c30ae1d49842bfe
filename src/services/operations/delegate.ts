/**
 * Delegation: an agent hands a narrower slice of its scope to another registered agent. Scopes only narrow,
 * chains stop at a fixed depth, and a delegated token never outlives the token that created it.
 */
import { LIMITS } from '../../config/limits.js';
import { RequestError } from '../../errors.js';
import { nowRfc3339Nano } from '../../platform/time.js';
import { type Claims, type DelegRecord, isAgentSubject } from '../claims.js';
import { chainHash, recordSigningText } from '../delegation.js';
import { goList, isSubset } from '../scopes.js';
import type { Services } from '../services.js';
import type { Issued } from '../tokens.js';
import { extendAgent, issueToken } from './tokens.js';

export interface DelegationRequest {
  delegateTo: string;
  scope: string[];
  /** Requested lifetime in seconds; ≤ 0 or absent = the default. */
  ttl: number | undefined;
}

export async function delegate(
  s: Services,
  c: Claims,
  r: DelegationRequest,
): Promise<{ issued: Issued; chain: DelegRecord[] }> {
  if (!isAgentSubject(c.sub)) throw new RequestError('forbidden', 'only agent tokens may delegate');
  const chain = c.delegation_chain ?? [];
  if (chain.length >= LIMITS.maxDelegationDepth)
    throw new RequestError('scope_violation', 'delegation depth limit exceeded');
  const held = c.scope ?? [];
  if (!isSubset(r.scope, held)) {
    await s
      .begin()
      .audit({
        event_type: 'delegation_attenuation_violation',
        agent_id: c.sub,
        task_id: c.task_id,
        orch_id: c.orch_id,
        detail: `delegation_attenuation_violation | delegator=${c.sub} | target=${r.delegateTo} | requested=${goList(r.scope)} | allowed=${goList(held)}`,
        outcome: 'denied',
        deleg_depth: chain.length,
      })
      .commit('delegation failed');
    throw new RequestError('scope_violation', 'delegated scope exceeds delegator scope');
  }
  if (s.agents.get(r.delegateTo) === undefined) await s.sync(); // registered through another broker a moment ago?
  if (s.agents.get(r.delegateTo) === undefined) throw new RequestError('not_found', 'delegate agent not found');

  const delegatedAt = nowRfc3339Nano();
  const tx = s.begin();
  let newChain: DelegRecord[];
  let hash: string;
  let issued: Issued;
  try {
    const sig = await s.tokens.sign(Buffer.from(recordSigningText(c.sub, held, delegatedAt), 'utf8'));
    const record: DelegRecord = {
      agent: c.sub,
      scope: held,
      delegated_at: delegatedAt,
      signature: Buffer.from(sig).toString('hex'),
    };
    newChain = [...chain, record];
    hash = chainHash(newChain);
    issued = await issueToken(s, tx, {
      sub: r.delegateTo,
      scope: r.scope,
      ttl: r.ttl !== undefined && r.ttl > 0 ? r.ttl : LIMITS.delegationDefaultTtl,
      notAfter: c.exp,
      aud: c.aud,
      noAudience: c.aud === undefined,
      task_id: c.task_id,
      orch_id: c.orch_id,
      delegation_chain: newChain,
      chain_hash: hash,
    });
  } catch (err) {
    tx.rollback();
    throw new RequestError('internal_error', 'delegation failed', { cause: err });
  }
  extendAgent(s, tx, r.delegateTo, issued.claims.exp);
  tx.audit({
    event_type: 'delegation_created',
    agent_id: r.delegateTo,
    task_id: c.task_id,
    orch_id: c.orch_id,
    detail: `delegation from ${c.sub} to ${r.delegateTo} scope=${goList(r.scope)} depth=${newChain.length}`,
    outcome: 'success',
    deleg_depth: newChain.length,
    deleg_chain_hash: hash,
  });
  await tx.commit('delegation failed');
  return { issued, chain: newChain };
}
