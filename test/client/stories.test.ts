/**
 * The Python SDK's fifteen acceptance stories, ported to this SDK and run against the real broker: one broker
 * and one app for the file, as an application would hold them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  AgentReleasedError,
  AgentWritApp,
  AuthorizationError,
  createVerifier,
  ProblemError,
  scopeIsSubset,
  type TokenClaims,
  validate,
} from '../../src/client/index.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { createApp } from './support.js';

let b: TestBroker;
let app: AgentWritApp;

function claimsOf(r: Awaited<ReturnType<typeof validate>>): TokenClaims {
  assert.equal(r.valid, true, r.valid ? '' : r.error);
  return (r as { claims: TokenClaims }).claims;
}

describe('acceptance stories', () => {
  before(async () => {
    b = await startTestBroker(null);
    const creds = await createApp(b, 'stories');
    app = new AgentWritApp({ brokerUrl: b.url, ...creds });
  });
  after(async () => {
    app.close();
    await b.stop();
  });

  test('1 create agent: SPIFFE ID names the orchestrator, scope is the requested one', async () => {
    const requested = ['read:data:customer-artis'];
    const agent = await app.createAgent({ orchId: 'data-service', taskId: 'lookup-artis', requestedScope: requested });
    assert.match(agent.agentId, /^spiffe:\/\/[^/]+\/agent\/data-service\/lookup-artis\/[0-9a-f]{16}$/);
    assert.deepEqual([...agent.scope], requested);
    assert.equal(agent.expiresIn, 300);
    assert.deepEqual(agent.bearerHeader, { Authorization: `Bearer ${agent.accessToken}` });
    assert.equal(agent.accessToken.split('.').length, 3);
    await agent.release();
  });

  test('2 renew: new token, same identity, old token revoked', async () => {
    const agent = await app.createAgent({
      orchId: 'export-service',
      taskId: 'export-job-001',
      requestedScope: ['read:data:export-batch-001'],
    });
    const oldToken = agent.accessToken;
    const oldId = agent.agentId;
    await agent.renew();
    assert.notEqual(agent.accessToken, oldToken);
    assert.equal(agent.agentId, oldId);
    assert.equal(agent.expiresIn, 300);
    const old = await validate(b.url, oldToken);
    assert.deepEqual(old, { valid: false, error: 'token is invalid or expired' });
    assert.equal(claimsOf(await validate(b.url, agent.accessToken)).sub, oldId);
    await agent.release();
  });

  test('3 release: token revoked at the broker, a second release is harmless', async () => {
    const agent = await app.createAgent({
      orchId: 'cleanup-service',
      taskId: 'cleanup-job-001',
      requestedScope: ['write:data:cleanup-result-001'],
    });
    const token = agent.accessToken;
    await agent.release();
    assert.equal(agent.released, true);
    assert.equal((await validate(b.url, token)).valid, false);
    await agent.release();
    // Concurrent releases of a fresh agent share one request and both resolve.
    const other = await app.createAgent({
      orchId: 'cleanup-service',
      taskId: 'cleanup-job-002',
      requestedScope: ['write:data:x'],
    });
    await Promise.all([other.release(), other.release()]);
    assert.equal((await app.validate(other.accessToken)).valid, false);
  });

  test('4 validate a live token: claims carry scope, identity, orchestrator and task', async () => {
    const requested = ['read:data:report-q3', 'write:data:summary-q3'];
    const agent = await app.createAgent({
      orchId: 'reporting-service',
      taskId: 'quarterly-report',
      requestedScope: requested,
    });
    const claims = claimsOf(await app.validate(agent.accessToken));
    assert.deepEqual(claims.scope, requested);
    assert.equal(claims.sub, agent.agentId);
    assert.equal(claims.orch_id, 'reporting-service');
    assert.equal(claims.task_id, 'quarterly-report');
    assert.equal(claims.exp - claims.iat, 300);
    assert.match(claims.jti, /^[0-9a-f]{32}$/);
    await agent.release();
  });

  test('5 delegate a narrower scope: the delegated token covers only the delegated slice', async () => {
    const a = await app.createAgent({
      orchId: 'pipeline',
      taskId: 'orchestrator-001',
      requestedScope: ['read:data:partition-7', 'read:data:partition-8'],
    });
    const bAgent = await app.createAgent({
      orchId: 'pipeline',
      taskId: 'worker-partition-7',
      requestedScope: ['read:data:partition-7'],
    });
    const d = await a.delegate({ delegateTo: bAgent.agentId, scope: ['read:data:partition-7'] });
    assert.equal(d.expiresIn, 60, 'the broker default for delegations');
    assert.deepEqual(d.bearerHeader, { Authorization: `Bearer ${d.accessToken}` });
    assert.equal(d.delegationChain.length, 1);
    assert.equal(d.delegationChain[0]?.agent, a.agentId);
    assert.deepEqual(d.delegationChain[0]?.scope, ['read:data:partition-7', 'read:data:partition-8']);
    assert.match(d.delegationChain[0]?.signature ?? '', /^[0-9a-f]{128}$/);
    const claims = claimsOf(await validate(b.url, d.accessToken));
    assert.equal(claims.sub, bAgent.agentId);
    assert.ok(scopeIsSubset(['read:data:partition-7'], claims.scope));
    assert.ok(!scopeIsSubset(['read:data:partition-8'], claims.scope));
    await Promise.all([a.release(), bAgent.release()]);
  });

  test('6 delegate a scope not held: AuthorizationError 403 scope_violation', async () => {
    const a = await app.createAgent({
      orchId: 'pipeline',
      taskId: 'worker-only-p7',
      requestedScope: ['read:data:partition-7'],
    });
    const target = await app.createAgent({
      orchId: 'pipeline',
      taskId: 'target-agent',
      requestedScope: ['read:data:partition-7'],
    });
    await assert.rejects(
      a.delegate({ delegateTo: target.agentId, scope: ['read:data:partition-8'] }),
      (err: unknown) => {
        assert.ok(err instanceof AuthorizationError);
        assert.equal(err.status, 403);
        assert.equal(err.errorCode, 'scope_violation');
        assert.equal(err.detail, 'delegated scope exceeds delegator scope');
        return true;
      },
    );
    await Promise.all([a.release(), target.release()]);
  });

  test('7 delegation chain A → B → C: each hop narrows, the chain records both hops', async () => {
    const a = await app.createAgent({
      orchId: 'data-pipeline',
      taskId: 'manager',
      requestedScope: ['read:data:partition-7', 'read:data:partition-8', 'write:data:pipeline-results'],
    });
    const bAgent = await app.createAgent({
      orchId: 'data-pipeline',
      taskId: 'analyst',
      requestedScope: ['read:data:partition-7', 'read:data:partition-8'],
    });
    const c = await app.createAgent({
      orchId: 'data-pipeline',
      taskId: 'reader',
      requestedScope: ['read:data:partition-7'],
    });
    const ab = await a.delegate({
      delegateTo: bAgent.agentId,
      scope: ['read:data:partition-7', 'read:data:partition-8'],
    });
    const bc = await bAgent.delegate({
      delegateTo: c.agentId,
      scope: ['read:data:partition-7'],
      token: ab.accessToken,
    });
    assert.deepEqual(
      bc.delegationChain.map((r) => r.agent),
      [a.agentId, bAgent.agentId],
    );
    assert.deepEqual(bc.delegationChain[1]?.scope, ['read:data:partition-7', 'read:data:partition-8']);
    const claims = claimsOf(await validate(b.url, bc.accessToken));
    assert.deepEqual(claims.scope, ['read:data:partition-7']);
    assert.equal(claims.sub, c.agentId);
    assert.equal(claims.delegation_chain?.length, 2);
    assert.ok(!scopeIsSubset(['read:data:partition-8'], claims.scope));
    assert.ok(!scopeIsSubset(['write:data:pipeline-results'], claims.scope));
    await Promise.all([a.release(), bAgent.release(), c.release()]);
  });

  test('8 delegate the whole scope: the broker accepts an equal scope', async () => {
    const all = ['read:data:partition-7', 'read:data:partition-8', 'write:data:pipeline-results'];
    const a = await app.createAgent({ orchId: 'no-narrow-test', taskId: 'delegator', requestedScope: all });
    const receiver = await app.createAgent({
      orchId: 'no-narrow-test',
      taskId: 'receiver',
      requestedScope: ['read:data:partition-7'],
    });
    const d = await a.delegate({ delegateTo: receiver.agentId, scope: all, ttl: 120 });
    assert.equal(d.expiresIn, 120);
    assert.deepEqual(claimsOf(await validate(b.url, d.accessToken)).scope, all);
    await Promise.all([a.release(), receiver.release()]);
  });

  test('9 scope gating: the app blocks actions outside the agent scope before they happen', async () => {
    const agent = await app.createAgent({
      orchId: 'customer-service',
      taskId: 'lookup-artis',
      requestedScope: ['read:data:customer-artis'],
    });
    assert.equal(scopeIsSubset(['read:data:customer-artis'], agent.scope), true);
    assert.equal(scopeIsSubset(['read:data:all-customers'], agent.scope), false);
    assert.equal(scopeIsSubset(['write:data:customer-artis'], agent.scope), false);
    await agent.release();
  });

  test('10 natural expiry: valid at first, rejected once the lifetime has passed, without release', async () => {
    const agent = await app.createAgent({
      orchId: 'short-lived-service',
      taskId: 'quick-task-001',
      requestedScope: ['read:data:temp-resource'],
      maxTtl: 1,
    });
    assert.equal(agent.expiresIn, 1);
    const claims = claimsOf(await validate(b.url, agent.accessToken));
    // A resource server's own clock sees the expiry at once when driven past exp.
    const later = createVerifier({ brokerUrl: b.url, revocation: 'none', clock: () => (claims.exp + 1) * 1000 });
    await assert.rejects(later.verify(agent.accessToken), { name: 'VerificationError', check: 'expired' });
    later.close();
    // The broker's own clock: a one-second token is gone within two seconds; wait for that, polling.
    const deadline = Date.now() + 10_000;
    let r = await validate(b.url, agent.accessToken);
    while (r.valid && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 100));
      r = await validate(b.url, agent.accessToken);
    }
    assert.deepEqual(r, { valid: false, error: 'token is invalid or expired' });
  });

  test('11 RFC 7807 error: every problem field reaches the caller', async () => {
    const a = await app.createAgent({
      orchId: 'error-test',
      taskId: 'trigger-403',
      requestedScope: ['read:data:only-this'],
    });
    const target = await app.createAgent({
      orchId: 'error-test',
      taskId: 'target',
      requestedScope: ['read:data:only-this'],
    });
    const err = await a.delegate({ delegateTo: target.agentId, scope: ['read:data:something-else'] }).then(
      () => assert.fail('delegation must be refused'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof AuthorizationError && err instanceof ProblemError);
    assert.equal(err.type, 'urn:agentwrit:error:scope_violation');
    assert.equal(err.title, 'Forbidden');
    assert.equal(err.status, 403);
    assert.equal(err.detail, 'delegated scope exceeds delegator scope');
    assert.equal(err.instance, '/v1/delegate');
    assert.equal(err.errorCode, 'scope_violation');
    assert.match(err.requestId ?? '', /^[A-Za-z0-9._-]+$/);
    assert.deepEqual(Object.keys(err.problem), [
      'type',
      'title',
      'status',
      'detail',
      'instance',
      'errorCode',
      'requestId',
    ]);
    assert.equal(err.message, '403 scope_violation: delegated scope exceeds delegator scope');
    // An unknown delegate is a plain ProblemError (404).
    await assert.rejects(
      a.delegate({ delegateTo: 'spiffe://agentwrit.local/agent/x/y/0000000000000000', scope: ['read:data:only-this'] }),
      (e: unknown) => {
        assert.ok(e instanceof ProblemError && !(e instanceof AuthorizationError));
        assert.equal(e.status, 404);
        assert.equal(e.errorCode, 'not_found');
        return true;
      },
    );
    await Promise.all([a.release(), target.release()]);
  });

  test('12 multiple agents: unique identities, no cross-access, claims match each agent', async () => {
    const tasks = [
      ['read-customers', 'read:data:customers-west'],
      ['read-inventory', 'read:data:inventory-warehouse-3'],
      ['write-reports', 'write:data:quarterly-report-q3'],
    ] as const;
    const agents = await Promise.all(
      tasks.map(([taskId, scope]) =>
        app.createAgent({ orchId: 'multi-agent-service', taskId, requestedScope: [scope] }),
      ),
    );
    assert.equal(new Set(agents.map((a) => a.agentId)).size, 3);
    for (const x of agents) {
      for (const y of agents)
        if (x !== y) assert.equal(scopeIsSubset(y.scope, x.scope), false, `${x.taskId} reaches ${y.taskId}`);
      const claims = claimsOf(await app.validate(x.accessToken));
      assert.deepEqual(claims.scope, [...x.scope]);
      assert.equal(claims.sub, x.agentId);
    }
    await Promise.all(agents.map((a) => a.release()));
  });

  test('13 renew or delegate after release: a clear local error, nothing sent', async () => {
    const agent = await app.createAgent({
      orchId: 'lifecycle-test',
      taskId: 'renew-after-release',
      requestedScope: ['read:data:test-resource'],
    });
    await agent.release();
    const token = agent.accessToken;
    await assert.rejects(agent.renew(), (e: unknown) => e instanceof AgentReleasedError && /released/.test(e.message));
    await assert.rejects(
      agent.delegate({ delegateTo: 'spiffe://fake/agent', scope: ['read:data:test-resource'] }),
      (e: unknown) => e instanceof AgentReleasedError && /released/.test(e.message),
    );
    assert.equal(agent.accessToken, token);
  });

  test('14 garbage tokens: valid=false, never an exception', async () => {
    for (const token of ['completely-fake-not-a-jwt', 'eyJ.fake.token', 'aaa.bbb.ccc.ddd.eee', '']) {
      const r = await validate(b.url, token);
      assert.equal(r.valid, false, token);
      assert.equal(typeof (r as { error: string }).error, 'string');
    }
  });

  test('15 health: ok, version, uptime, database connected', async () => {
    const h = await app.health();
    assert.equal(h.status, 'ok');
    assert.equal(h.version, '2.0.0');
    assert.ok(Number.isInteger(h.uptime) && h.uptime >= 0);
    assert.equal(h.dbConnected, true);
    assert.ok(h.auditEventsCount > 0);
  });
});
