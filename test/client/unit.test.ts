/** Scope rule, error mapping, secrets in errors, transport failures and app-token reuse timing. */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { inspect } from 'node:util';
import {
  AgentWritApp,
  AuthenticationError,
  AuthorizationError,
  ConfigurationError,
  isValidScope,
  ProblemError,
  RateLimitError,
  scopeIsSubset,
  TransportError,
  validate,
} from '../../src/client/index.js';
import { redact } from '../../src/client/redact.js';
import { problemError } from '../../src/client/transport.js';
import { isValidScope as brokerIsValidScope, isSubset } from '../../src/services/scopes.js';
import { auditCount, brokerWithApp } from './support.js';

test('the SDK imports only Node built-ins and its own modules', () => {
  const dir = new URL('../../src/client/', import.meta.url);
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
  assert.ok(files.includes('index.ts'));
  for (const f of files) {
    const text = readFileSync(new URL(f, dir), 'utf8');
    for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+'([^']+)'|import\(\s*'([^']+)'/g)) {
      const spec = (m[1] ?? m[2]) as string;
      assert.ok(spec.startsWith('node:') || /^\.\/[a-z-]+\.js$/.test(spec), `${f} imports ${spec}`);
    }
  }
});

test('scopeIsSubset decides exactly as the broker does', () => {
  const cases: [string[], string[], boolean][] = [
    [['read:data:x'], ['read:data:x'], true],
    [['read:data:x'], ['read:data:*'], true],
    [['read:data:*'], ['read:data:*'], true],
    [['read:data:*'], ['read:data:x'], false], // a wildcard is only a wildcard on the held side
    [['read:data:x'], ['read:*:x'], false], // and only in the identifier position
    [['read:data:x'], ['*:data:x'], false],
    [['read:data:x'], ['*'], false],
    [['read:data:a:b'], ['read:data:*'], true], // the identifier may contain colons
    [['read:data:a:b'], ['read:data:a'], false],
    [['write:data:x'], ['read:data:*'], false],
    [['read:other:x'], ['read:data:*'], false],
    [['read:data:x', 'write:data:y'], ['read:data:*', 'write:data:y'], true],
    [['read:data:x', 'write:data:z'], ['read:data:*', 'write:data:y'], false],
    [[], [], true],
    [[], ['read:data:x'], true],
    [['read:data:x'], [], false],
    [['read:data'], ['read:data'], false], // malformed scopes cover nothing
    [['read::x'], ['read::x'], false],
    [[':data:x'], [':data:x'], false],
    [['read:data:'], ['read:data:*'], false],
    [['READ:data:x'], ['read:data:*'], false],
  ];
  for (const [required, held, expected] of cases) {
    assert.equal(scopeIsSubset(required, held), expected, `${JSON.stringify(required)} ⊆ ${JSON.stringify(held)}`);
    assert.equal(isSubset(required, held), expected, 'the broker agrees');
  }
  for (const s of ['a:b:c', 'a:b:c:d', 'a:b', 'a::c', ':b:c', 'a:b:', '', '*', 'a:b:*'])
    assert.equal(isValidScope(s), brokerIsValidScope(s), s);
});

test('error mapping: status picks the class, problem fields and Retry-After are kept', () => {
  const body = (code: string, status: number) => ({
    type: `urn:agentwrit:error:${code}`,
    title: 'T',
    status,
    detail: 'd',
    instance: '/v1/x',
    error_code: code,
    request_id: 'r1',
  });
  const e401 = problemError(401, body('unauthorized', 401), {});
  assert.ok(e401 instanceof AuthenticationError);
  assert.deepEqual(e401.problem, {
    type: 'urn:agentwrit:error:unauthorized',
    title: 'T',
    status: 401,
    detail: 'd',
    instance: '/v1/x',
    errorCode: 'unauthorized',
    requestId: 'r1',
  });
  assert.ok(problemError(403, body('forbidden', 403), {}) instanceof AuthorizationError);
  const e429 = problemError(429, body('rate_limited', 429), { 'retry-after': '60' });
  assert.ok(e429 instanceof RateLimitError);
  assert.equal(e429.retryAfter, 60);
  assert.equal((problemError(429, {}, { 'retry-after': 'soon' }) as RateLimitError).retryAfter, null);
  const e404 = problemError(404, body('not_found', 404), {});
  assert.ok(
    e404 instanceof ProblemError && !(e404 instanceof AuthenticationError) && !(e404 instanceof AuthorizationError),
  );
  // Not a problem document (a proxy's HTML page): still a ProblemError, with what is known.
  const proxy = problemError(502, undefined, { 'x-request-id': 'abc' });
  assert.deepEqual(proxy.problem, {
    type: 'about:blank',
    title: 'Bad Gateway',
    status: 502,
    detail: 'broker answered HTTP 502',
    instance: null,
    errorCode: 'unknown',
    requestId: 'abc',
  });
  for (const e of [e401, e429, e404, proxy]) assert.ok(e instanceof Error && e.name.endsWith('Error'));
});

test('redaction: tokens, secrets, keys and signatures never reach a message', () => {
  const jwt = 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJlc2lnbmF0dXJl';
  const hex = 'a'.repeat(32) + '0123456789abcdef'.repeat(2);
  const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const b64 = Buffer.from('0123456789abcdefghijABCDEFGHIJ0123456789').toString('base64');
  const out = redact(`a ${jwt} b ${hex} c ${pem} d ${b64} e`);
  for (const s of [jwt, hex, pem.trim(), b64]) assert.ok(!out.includes(s), out);
  // Identities stay readable.
  const id = 'spiffe://agentwrit.local/agent/orchestrator-one/task-number-one/0123456789abcdef';
  assert.equal(redact(`agent ${id} released`), `agent ${id} released`);
});

test('no secret in an error, toString, inspect or JSON of the SDK objects', async (t) => {
  const { b, clientId, clientSecret } = await brokerWithApp(t);
  const wrong = 'f'.repeat(64);
  const bad = new AgentWritApp({ brokerUrl: b.url, clientId, clientSecret: wrong });
  const err = await bad
    .createAgent({ orchId: 'o', taskId: 't', requestedScope: ['read:data:x'] })
    .catch((e: unknown) => e);
  assert.ok(err instanceof AuthenticationError);
  assert.equal(err.errorCode, 'unauthorized');
  const app = new AgentWritApp({ brokerUrl: b.url, clientId, clientSecret });
  const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const agent = await app.createAgent({ orchId: 'o', taskId: 't', requestedScope: ['read:data:x'], privateKey: pem });
  const rsaPem = generateKeyPairSync('rsa', { modulusLength: 1024 })
    .privateKey.export({ type: 'pkcs8', format: 'pem' })
    .toString();
  const keyErrors = await Promise.all([
    app
      .createAgent({ orchId: 'o', taskId: 't', requestedScope: ['read:data:x'], privateKey: rsaPem })
      .catch((e: unknown) => e),
    app
      .createAgent({ orchId: 'o', taskId: 't', requestedScope: ['read:data:x'], privateKey: pem.replace('MC4', 'XX4') })
      .catch((e: unknown) => e),
  ]);
  for (const e of keyErrors) assert.ok(e instanceof ConfigurationError, String(e));
  // A token's owner renews it after release elsewhere: the broker refuses, the error names no token.
  const token = agent.accessToken;
  await validate(b.url, token);
  const renewErr = await (async () => {
    const r = await b.req('/v1/token/release', { method: 'POST', token });
    assert.equal(r.status, 204);
    return agent.renew().catch((e: unknown) => e);
  })();
  assert.ok(renewErr instanceof AuthenticationError);
  const texts = [err, renewErr, ...keyErrors].flatMap((e) => [
    String(e),
    (e as Error).message,
    (e as Error).stack ?? '',
    inspect(e),
    JSON.stringify(e),
  ]);
  texts.push(inspect(app), String(app), JSON.stringify(app), inspect(agent), String(agent), JSON.stringify(agent));
  for (const text of texts) {
    for (const secret of [
      clientSecret,
      wrong,
      token,
      token.split('.')[2] as string,
      pem,
      rsaPem,
      pem.split('\n')[1] as string,
    ]) {
      assert.ok(!text.includes(secret), `secret leaked into: ${text.slice(0, 200)}`);
    }
  }
});

test('transport failures: refused connection, silent server, bad options', async (t) => {
  // A port that was just free: nothing listens there.
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const freePort = (probe.address() as { port: number }).port;
  await new Promise<void>((r) => probe.close(() => r()));
  await assert.rejects(
    validate(`http://127.0.0.1:${freePort}`, 'x.y.z'),
    (e: unknown) => e instanceof TransportError && e.reason === 'connection',
  );

  // A server that accepts and never answers.
  const sockets: Socket[] = [];
  const silent = createServer((s) => sockets.push(s));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  t.after(() => {
    for (const s of sockets) s.destroy();
    silent.close();
  });
  const port = (silent.address() as { port: number }).port;
  const app = new AgentWritApp({
    brokerUrl: `http://127.0.0.1:${port}`,
    clientId: 'c',
    clientSecret: 's',
    timeoutMs: 200,
  });
  await assert.rejects(
    app.health(),
    (e: unknown) => e instanceof TransportError && e.reason === 'timeout' && /200 ms/.test(e.message),
  );

  assert.throws(() => new AgentWritApp({ brokerUrl: 'ftp://x', clientId: 'c', clientSecret: 's' }), ConfigurationError);
  assert.throws(
    () => new AgentWritApp({ brokerUrl: 'not a url', clientId: 'c', clientSecret: 's' }),
    ConfigurationError,
  );
  assert.throws(
    () => new AgentWritApp({ brokerUrl: 'http://u:p@127.0.0.1', clientId: 'c', clientSecret: 's' }),
    ConfigurationError,
  );
  assert.throws(
    () => new AgentWritApp({ brokerUrl: 'http://127.0.0.1', clientId: 'c', clientSecret: 's', tls: { ca: 'x' } }),
    /https/,
  );
  assert.throws(
    () => new AgentWritApp({ brokerUrl: 'http://127.0.0.1', clientId: 'c', clientSecret: '' }),
    ConfigurationError,
  );
});

test('app token: fetched once, reused, renewed shortly before expiry, shared by concurrent calls', async (t) => {
  // 60 s is the shortest app token the broker issues; the SDK's clock is driven, the broker's is not needed.
  const { b, clientId, clientSecret, appId } = await brokerWithApp(t, { tokenTtl: 60 });
  let now = Date.now();
  const app = new AgentWritApp({ brokerUrl: b.url, clientId, clientSecret, clock: () => now });
  const create = () => app.createAgent({ orchId: 'o', taskId: 't', requestedScope: ['read:data:x'] });
  assert.equal(await auditCount(b, 'app_authenticated'), 0, 'lazy: nothing before the first call');
  await app.health();
  assert.equal(await auditCount(b, 'app_authenticated'), 0, 'health needs no app token');
  await Promise.all([create(), create(), create()]);
  assert.equal(await auditCount(b, 'app_authenticated'), 1, 'concurrent first calls share one authentication');
  await create();
  assert.equal(await auditCount(b, 'app_authenticated'), 1);
  now += 47_000; // 13 s left: more than a fifth of 60 s, the token is still used
  await create();
  assert.equal(await auditCount(b, 'app_authenticated'), 1);
  now += 2_000; // 11 s left: renewed before it can expire mid-call
  await create();
  await create();
  assert.equal(await auditCount(b, 'app_authenticated'), 2);

  // The broker drops the app's tokens early: the next call authenticates again once and succeeds.
  const admin = await b.adminToken();
  const r = await b.req('/v1/revoke', { token: admin, body: { level: 'agent', target: `app:${appId}` } });
  assert.equal(r.status, 200, r.text);
  await create();
  assert.equal(await auditCount(b, 'app_authenticated'), 3);
  // (The broker allows three app authentications in a burst per client and address, then one every 6 s.)
});

test('app auth rate limit surfaces as RateLimitError with Retry-After', async (t) => {
  const { b, clientId } = await brokerWithApp(t);
  const errors: unknown[] = [];
  for (let i = 0; i < 4; i++) {
    const app = new AgentWritApp({ brokerUrl: b.url, clientId, clientSecret: 'wrong' });
    errors.push(
      await app.createAgent({ orchId: 'o', taskId: 't', requestedScope: ['read:data:x'] }).catch((e: unknown) => e),
    );
  }
  assert.ok(errors.slice(0, 3).every((e) => e instanceof AuthenticationError));
  const last = errors[3];
  assert.ok(last instanceof RateLimitError, String(last));
  assert.equal(last.status, 429);
  assert.equal(last.errorCode, 'rate_limited');
  assert.equal(last.retryAfter, 60);
});

test('connections are kept alive and reused across calls', async (t) => {
  // A plain HTTP server answering like the validate route, counting the TCP connections it accepts.
  let connections = 0;
  const server = createHttpServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ valid: false, error: 'token is invalid or expired' }));
    });
  });
  server.on('connection', () => connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  for (let i = 0; i < 5; i++) assert.equal((await validate(url, 'a.b.c')).valid, false);
  const app = new AgentWritApp({ brokerUrl: url, clientId: 'c', clientSecret: 's' });
  for (let i = 0; i < 5; i++) assert.equal((await app.validate('a.b.c')).valid, false);
  app.close();
  assert.equal(connections, 2, 'one connection for the shared validate() transport, one for the app');
});
