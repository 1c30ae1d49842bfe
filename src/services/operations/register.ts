/**
 * Agent registration: an agent proves possession of an Ed25519 key by signing a broker nonce and receives its
 * first token. The launch token is checked before the nonce is touched; the nonce is burned by any attempt that
 * reaches it; a single-use launch token is consumed only by a successful registration, atomically.
 */
import { isWeakPublicKey } from '../../crypto/ed25519.js';
import { PAID_LANE } from '../../crypto/verify-lanes.js';
import { RequestError } from '../../errors.js';
import type { AgentRow } from '../../store/store.js';
import { goList, isSubset } from '../scopes.js';
import type { Services } from '../services.js';
import { newAgentId } from '../spiffe.js';
import { type Issued, shedWhenBusy } from '../tokens.js';
import { issueToken, requireCurrent } from './tokens.js';

export interface Registration {
  launchToken: string;
  nonce: string;
  /** The key as sent (standard base64) and decoded; `null` when it did not decode. */
  publicKeyText: string;
  publicKey: Uint8Array | null;
  signature: Uint8Array | null;
  orchId: string;
  taskId: string;
  requestedScope: string[];
}

export async function registerAgent(s: Services, r: Registration): Promise<{ agentId: string; issued: Issued }> {
  requireCurrent(s);
  let lookup = s.launchTokens.lookup(r.launchToken);
  if (!lookup.ok && lookup.reason === 'launch token not found') {
    // Created through another broker on a shared store a moment ago?
    await s.sync();
    lookup = s.launchTokens.lookup(r.launchToken);
  }
  if (!lookup.ok) throw new RequestError('unauthorized', `launch token: ${lookup.reason}`);
  const lt = lookup.row;
  // A deregistered app's launch tokens die with it, like its app tokens.
  const appGone = (): boolean => lt.app_id !== '' && !s.apps.isActiveAppSubject(`app:${lt.app_id}`);
  if (appGone()) throw new RequestError('unauthorized', 'launch token: issuing app is deregistered');

  if (!isSubset(r.requestedScope, lt.allowed_scope)) {
    await s
      .begin()
      .audit({
        event_type: 'registration_policy_violation',
        task_id: r.taskId,
        orch_id: r.orchId,
        detail: `scope violation: requested ${goList(r.requestedScope)} exceeds allowed ${goList(lt.allowed_scope)}`,
        outcome: 'denied',
      })
      .commit('registration failed');
    throw new RequestError('scope_violation', 'requested scope exceeds allowed scope');
  }

  const { publicKey, signature } = r;
  if (publicKey === null) throw new RequestError('unauthorized', 'invalid Ed25519 public key: base64 decode failed');
  if (publicKey.length !== 32) throw new RequestError('unauthorized', 'invalid Ed25519 public key: wrong key size');
  if (isWeakPublicKey(publicKey)) throw new RequestError('unauthorized', 'invalid Ed25519 public key: weak key');
  if (signature === null)
    throw new RequestError('unauthorized', 'nonce signature verification failed: base64 decode failed');

  const nonceState = await s.nonces.consume(r.nonce);
  if (nonceState === 'not_found') throw new RequestError('unauthorized', 'nonce: nonce not found or expired');
  if (nonceState === 'consumed') throw new RequestError('unauthorized', 'nonce: nonce already consumed');

  // The signed message is the nonce's 32 raw bytes, not its hex text. Registration is paid for (launch token and
  // nonce checked above), so it never waits behind anonymous verifications.
  const good = await shedWhenBusy(s.pool.verify(Buffer.from(r.nonce, 'hex'), signature, publicKey, PAID_LANE));
  if (!good) throw new RequestError('unauthorized', 'nonce signature verification failed');
  // Re-checked after the await: the launch token may have expired, or its app been deregistered, meanwhile.
  if (Date.now() > lt.expires_at) throw new RequestError('unauthorized', 'launch token: launch token expired');
  if (appGone()) throw new RequestError('unauthorized', 'launch token: issuing app is deregistered');

  const tx = s.begin();
  if (lt.single_use) {
    const consumed = s.launchTokens.consume(lt);
    if (!consumed.ok) throw new RequestError('unauthorized', 'consume launch token: launch token already consumed');
    tx.change(
      { kind: 'launchToken.consume', token_hash: lt.token_hash, consumed_at: lt.consumed_at as number },
      consumed.undo,
    );
  }
  const agentId = newAgentId(s.config.trustDomain, r.orchId, r.taskId);
  let issued: Issued;
  try {
    issued = await issueToken(s, tx, {
      sub: agentId,
      scope: r.requestedScope,
      ttl: lt.max_ttl > 0 ? lt.max_ttl : 300,
      task_id: r.taskId,
      orch_id: r.orchId,
    });
  } catch (err) {
    tx.rollback();
    throw new RequestError('internal_error', 'registration failed', { cause: err });
  }
  const agent: AgentRow = {
    agent_id: agentId,
    public_key: r.publicKeyText,
    orch_id: r.orchId,
    task_id: r.taskId,
    scope: r.requestedScope,
    registered_at: Date.now(),
    app_id: lt.app_id,
    expires_at: issued.claims.exp,
    status: 'active',
  };
  const appSuffix = lt.app_id ? ` app_id=${lt.app_id}` : '';
  tx.change({ kind: 'agent.put', row: agent }, s.agents.put(agent)).audit(
    {
      event_type: 'agent_registered',
      agent_id: agentId,
      task_id: r.taskId,
      orch_id: r.orchId,
      detail: `Agent registered with scope ${goList(r.requestedScope)}${appSuffix}`,
      outcome: 'success',
    },
    {
      event_type: 'token_issued',
      agent_id: agentId,
      task_id: r.taskId,
      orch_id: r.orchId,
      detail: `Token issued, jti=${issued.claims.jti}, ttl=${issued.ttl}${appSuffix}`,
      outcome: 'success',
    },
  );
  // On a shared store another broker may have consumed the single-use token first: that registration won.
  await tx.commit(
    'registration failed',
    new RequestError('unauthorized', 'consume launch token: launch token already consumed'),
  );
  s.metrics.registrations.success.inc();
  s.metrics.activeAgents.inc();
  s.logger.ok('IDENTITY', 'Register', 'agent registered', `agent_id=${agentId}, scope=${goList(r.requestedScope)}`);
  return { agentId, issued };
}
