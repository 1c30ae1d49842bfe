/**
 * POST /v1/delegate — an agent hands a narrower slice of its scope to another registered agent. Scopes only
 * narrow, chains stop at depth 5, and a delegated token never outlives the token that created it.
 */
import { isAgentSubject, type DelegRecord } from '../services/claims.js';
import { chainHash, delegationTimestamp, MAX_DELEGATION_DEPTH, recordSigningText } from '../services/delegation.js';
import { goList, isSubset } from '../services/scopes.js';
import { issueToken, persist, type Services } from '../services/services.js';
import type { Handler } from '../transport/pipeline.js';
import { HttpError } from '../transport/problem.js';
import { checkLengths, checkTtlInput, readJson } from './body.js';
import { authOf } from './guard.js';

const DEFAULT_DELEGATION_TTL = 60;

export function delegate(s: Services): Handler {
  return async (ctx) => {
    const { claims: c } = authOf(ctx);
    const b = readJson(ctx, { delegate_to: 'string', scope: 'strings', ttl: 'int' });
    if (!b.delegate_to) throw new HttpError('invalid_request', 'missing required field: delegate_to');
    if (b.scope === undefined || b.scope.length === 0) throw new HttpError('invalid_request', 'missing required field: scope');
    checkLengths({ delegate_to: b.delegate_to, scope: b.scope });
    checkTtlInput('ttl', b.ttl);
    if (!isAgentSubject(c.sub)) throw new HttpError('forbidden', 'only agent tokens may delegate');
    const chain = c.delegation_chain ?? [];
    if (chain.length >= MAX_DELEGATION_DEPTH) throw new HttpError('scope_violation', 'delegation depth limit exceeded');
    const held = c.scope ?? [];
    if (!isSubset(b.scope, held)) {
      await persist(s, [], [
        {
          event_type: 'delegation_attenuation_violation',
          agent_id: c.sub,
          task_id: c.task_id,
          orch_id: c.orch_id,
          detail: `delegation_attenuation_violation | delegator=${c.sub} | target=${b.delegate_to} | requested=${goList(b.scope)} | allowed=${goList(held)}`,
          outcome: 'denied',
          deleg_depth: chain.length,
        },
      ], { detail: 'delegation failed' });
      throw new HttpError('scope_violation', 'delegated scope exceeds delegator scope');
    }
    if (s.agents.get(b.delegate_to) === undefined) throw new HttpError('not_found', 'delegate agent not found');

    const delegatedAt = delegationTimestamp();
    let record: DelegRecord;
    try {
      const sig = await s.tokens.sign(Buffer.from(recordSigningText(c.sub, held, delegatedAt), 'utf8'));
      record = { agent: c.sub, scope: held, delegated_at: delegatedAt, signature: Buffer.from(sig).toString('hex') };
    } catch (err) {
      throw new HttpError('internal_error', 'delegation failed', { cause: err });
    }
    const newChain = [...chain, record];
    const hash = chainHash(newChain);
    let t;
    try {
      t = await issueToken(s, {
        sub: b.delegate_to,
        scope: b.scope,
        ttl: b.ttl !== undefined && b.ttl > 0 ? b.ttl : DEFAULT_DELEGATION_TTL,
        notAfter: c.exp,
        aud: c.aud,
        noAudience: c.aud === undefined,
        task_id: c.task_id,
        orch_id: c.orch_id,
        delegation_chain: newChain,
        chain_hash: hash,
      });
    } catch (err) {
      throw new HttpError('internal_error', 'delegation failed', { cause: err });
    }
    const previous = s.agents.get(b.delegate_to);
    const updated = s.agents.extend(b.delegate_to, t.issued.claims.exp);
    await persist(s, updated === null ? [] : [{ kind: 'agent.put', row: updated }], [
      {
        event_type: 'delegation_created',
        agent_id: b.delegate_to,
        task_id: c.task_id,
        orch_id: c.orch_id,
        detail: `delegation from ${c.sub} to ${b.delegate_to} scope=${goList(b.scope)} depth=${newChain.length}`,
        outcome: 'success',
        deleg_depth: newChain.length,
        deleg_chain_hash: hash,
      },
    ], {
      detail: 'delegation failed',
      undo: () => {
        t.undo();
        if (updated !== null && previous !== undefined) s.agents.put(previous);
      },
    });
    return {
      status: 200,
      json: { access_token: t.issued.token, expires_in: t.issued.ttl, delegation_chain: newChain },
    };
  };
}
