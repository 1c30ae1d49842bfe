/**
 * POST /v1/register — an agent proves possession of an Ed25519 key by signing a broker nonce and receives its
 * first token. Every input is checked before anything is consumed; the nonce is burned by any attempt that
 * reaches it; a single-use launch token is consumed only by a successful registration, atomically.
 */
import { decodeBase64Std } from '../crypto/base64.js';
import { isWeakPublicKey } from '../crypto/ed25519.js';
import { PAID_LANE } from '../crypto/verify-lanes.js';
import { goList, isSubset } from '../services/scopes.js';
import { isValidSegment, newAgentId } from '../services/spiffe.js';
import { issueToken, persist, type Services } from '../services/services.js';
import { shedWhenBusy } from '../services/tokens.js';
import type { AgentRow, Mutation } from '../store/store.js';
import type { Handler } from '../transport/pipeline.js';
import { HttpError } from '../transport/problem.js';
import { checkLengths, readJson } from './body.js';

const SCHEMA = {
  launch_token: 'string',
  nonce: 'string',
  public_key: 'string',
  signature: 'string',
  orch_id: 'string',
  task_id: 'string',
  requested_scope: 'strings',
} as const;

const REQUIRED = ['launch_token', 'nonce', 'public_key', 'signature', 'orch_id', 'task_id'] as const;

export function register(s: Services): Handler {
  return async (ctx) => {
    const b = readJson(ctx, SCHEMA);
    try {
      return await attempt(s, b);
    } catch (err) {
      s.metrics.registrations.failure.inc();
      throw err;
    }
  };
}

async function attempt(s: Services, b: ReturnType<typeof readJson<typeof SCHEMA>>): Promise<{ status: number; json: unknown }> {
  for (const f of REQUIRED) {
    if (!b[f]) throw new HttpError('invalid_request', `missing required field: ${f}`);
  }
  const requested = b.requested_scope ?? [];
  if (requested.length === 0) throw new HttpError('invalid_request', 'missing required field: requested_scope');
  checkLengths(b);
  const launchToken = b.launch_token as string;
  const nonce = b.nonce as string;
  const orchId = b.orch_id as string;
  const taskId = b.task_id as string;
  for (const [name, v] of [['orch_id', orchId], ['task_id', taskId]] as const) {
    if (!isValidSegment(v)) {
      throw new HttpError('invalid_request', `invalid ${name}: use 1-128 characters of A-Z a-z 0-9 . _ - (not "." or "..")`);
    }
  }

  const lookup = s.launchTokens.lookup(launchToken);
  if (!lookup.ok) throw new HttpError('unauthorized', `launch token: ${lookup.reason}`);
  const lt = lookup.row;
  // A deregistered app's launch tokens die with it, like its app tokens.
  const appGone = (): boolean => lt.app_id !== '' && !s.apps.isActiveAppSubject(`app:${lt.app_id}`);
  if (appGone()) throw new HttpError('unauthorized', 'launch token: issuing app is deregistered');

  if (!isSubset(requested, lt.allowed_scope)) {
    await persist(s, [], [
      {
        event_type: 'registration_policy_violation',
        task_id: taskId,
        orch_id: orchId,
        detail: `scope violation: requested ${goList(requested)} exceeds allowed ${goList(lt.allowed_scope)}`,
        outcome: 'denied',
      },
    ], { detail: 'registration failed' });
    throw new HttpError('scope_violation', 'requested scope exceeds allowed scope');
  }

  const publicKey = decodeBase64Std(b.public_key as string);
  if (publicKey === null) throw new HttpError('unauthorized', 'invalid Ed25519 public key: base64 decode failed');
  if (publicKey.length !== 32) throw new HttpError('unauthorized', 'invalid Ed25519 public key: wrong key size');
  if (isWeakPublicKey(publicKey)) throw new HttpError('unauthorized', 'invalid Ed25519 public key: weak key');
  const signature = decodeBase64Std(b.signature as string);
  if (signature === null) throw new HttpError('unauthorized', 'nonce signature verification failed: base64 decode failed');

  const nonceState = s.nonces.consume(nonce);
  if (nonceState === 'not_found') throw new HttpError('unauthorized', 'nonce: nonce not found or expired');
  if (nonceState === 'consumed') throw new HttpError('unauthorized', 'nonce: nonce already consumed');

  // The signed message is the nonce's 32 raw bytes, not its hex text.
  const good = await shedWhenBusy(s.pool.verify(Buffer.from(nonce, 'hex'), signature, publicKey, PAID_LANE));
  if (!good) throw new HttpError('unauthorized', 'nonce signature verification failed');
  // Re-checked after the await: the launch token may have expired, or its app been deregistered, meanwhile.
  if (Date.now() > lt.expires_at) throw new HttpError('unauthorized', 'launch token: launch token expired');
  if (appGone()) throw new HttpError('unauthorized', 'launch token: issuing app is deregistered');

  const undo: Array<() => void> = [];
  const mutations: Mutation[] = [];
  if (lt.single_use) {
    const consumed = s.launchTokens.consume(lt);
    if (!consumed.ok) throw new HttpError('unauthorized', 'consume launch token: launch token already consumed');
    undo.push(consumed.undo);
    mutations.push({ kind: 'launchToken.consume', token_hash: lt.token_hash, consumed_at: lt.consumed_at as number });
  }
  const rollback = (): void => undo.reverse().forEach((f) => f());

  const agentId = newAgentId(s.config.trustDomain, orchId, taskId);
  let issued;
  try {
    const t = await issueToken(s, { sub: agentId, scope: requested, ttl: lt.max_ttl > 0 ? lt.max_ttl : 300, task_id: taskId, orch_id: orchId });
    issued = t.issued;
    undo.push(t.undo);
  } catch (err) {
    rollback();
    throw new HttpError('internal_error', 'registration failed', { cause: err });
  }
  const agent: AgentRow = {
    agent_id: agentId,
    public_key: b.public_key as string,
    orch_id: orchId,
    task_id: taskId,
    scope: requested,
    registered_at: Date.now(),
    app_id: lt.app_id,
    expires_at: issued.claims.exp,
    status: 'active',
  };
  undo.push(s.agents.put(agent));
  mutations.push({ kind: 'agent.put', row: agent });
  const appSuffix = lt.app_id ? ` app_id=${lt.app_id}` : '';
  await persist(s, mutations, [
    {
      event_type: 'agent_registered',
      agent_id: agentId,
      task_id: taskId,
      orch_id: orchId,
      detail: `Agent registered with scope ${goList(requested)}${appSuffix}`,
      outcome: 'success',
    },
    {
      event_type: 'token_issued',
      agent_id: agentId,
      task_id: taskId,
      orch_id: orchId,
      detail: `Token issued, jti=${issued.claims.jti}, ttl=${issued.ttl}${appSuffix}`,
      outcome: 'success',
    },
  ], { detail: 'registration failed', undo: rollback });

  s.metrics.registrations.success.inc();
  s.metrics.activeAgents.inc();
  s.logger.ok('IDENTITY', 'Register', 'agent registered', `agent_id=${agentId}, scope=${goList(requested)}`);
  return { status: 200, json: { agent_id: agentId, access_token: issued.token, expires_in: issued.ttl } };
}
