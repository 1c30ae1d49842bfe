/** What every response carries, and how the pipeline answers what no handler should see. */
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { startTestBroker } from '../helpers/broker.js';

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
  'x-frame-options': 'DENY',
};

function assertCommon(headers: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(SECURITY_HEADERS)) assert.equal(headers[k], v, k);
  assert.match(String(headers['x-request-id']), /^[A-Za-z0-9._-]{1,128}$/);
  assert.equal(headers['strict-transport-security'], undefined);
}

/** Sends raw bytes and returns the raw response text (the server closes or we stop after `ms`). */
function raw(port: number, payload: string | Buffer, ms = 3000): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    s.on('data', (c) => chunks.push(c));
    const done = (): void => resolve(Buffer.concat(chunks).toString('latin1'));
    s.on('close', done);
    s.on('error', done);
    s.setTimeout(ms, () => s.destroy());
    s.write(payload);
  });
}

test('pipeline: 404, 405, redirects, headers, request ids, body limit', async (t) => {
  const b = await startTestBroker(t);

  const nf = await b.req('/v1/nope');
  assert.equal(nf.status, 404);
  assertCommon(nf.headers);
  assert.equal(nf.headers['content-type'], 'application/problem+json');
  assert.deepEqual(Object.keys(nf.json), ['type', 'title', 'status', 'detail', 'instance', 'error_code', 'request_id']);
  assert.equal(nf.json.type, 'urn:agentwrit:error:not_found');
  assert.equal(nf.json.instance, '/v1/nope');
  assert.equal(nf.json.request_id, nf.headers['x-request-id']);

  for (const path of ['/v1/health/', '/v1/admin/apps/', '/v1/admin/apps/a/b', '/v1%2Fhealth']) {
    assert.equal((await b.req(path)).status, 404, path);
  }

  const m = await b.req('/v1/health', { method: 'POST', body: {} });
  assert.equal(m.status, 405);
  assert.equal(m.headers.allow, 'GET, HEAD');
  assert.equal(m.json.error_code, 'method_not_allowed');
  assertCommon(m.headers);
  assert.equal(
    (await b.req('/v1/admin/apps/x', { method: 'PATCH', body: {} })).headers.allow,
    'DELETE, GET, HEAD, PUT',
  );
  assert.equal((await b.req('/v1/admin/apps', { method: 'DELETE' })).headers.allow, 'GET, HEAD, POST');
  assert.equal((await b.req('/v1/register', { method: 'OPTIONS' })).status, 405);

  const head = await b.req('/v1/health', { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.text, '');

  const redirect = await b.req('//v1/health');
  assert.equal(redirect.status, 301);
  assert.equal(redirect.headers.location, '/v1/health');
  assert.equal((await b.req('/v1/../v1/health')).headers.location, '/v1/health');

  const good = await b.req('/v1/health', { headers: { 'X-Request-ID': 'client-id_1.2' } });
  assert.equal(good.headers['x-request-id'], 'client-id_1.2');
  const bad = await b.req('/v1/health', { headers: { 'X-Request-ID': 'bad id\twith tab' } });
  assert.match(String(bad.headers['x-request-id']), /^[0-9a-f]{16}$/);
  const long = await b.req('/v1/health', { headers: { 'X-Request-ID': 'a'.repeat(129) } });
  assert.match(String(long.headers['x-request-id']), /^[0-9a-f]{16}$/);

  // Exactly 1 MiB is read (and then judged as JSON); one byte more is 413, also on unknown paths and GETs.
  const exact = await b.req('/v1/token/validate', { body: ' '.repeat(1_048_576) });
  assert.equal(exact.status, 400);
  assert.equal(exact.json.detail, 'malformed JSON body');
  const over = await b.req('/v1/token/validate', { body: ' '.repeat(1_048_577) });
  assert.equal(over.status, 413);
  assert.equal(over.json.detail, 'request body must not exceed 1 MB');
  assert.equal(over.json.title, 'Request Entity Too Large');
  assertCommon(over.headers);
  assert.equal((await b.req('/v1/nope', { body: 'x'.repeat(1_048_577) })).status, 413);
  assert.equal((await b.req('/v1/health', { method: 'GET', body: 'x'.repeat(1_048_577) })).status, 413);

  // Chunked bodies are cut off at the limit too.
  const chunk = 'x'.repeat(65_536);
  let chunked = 'POST /v1/token/validate HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n';
  for (let i = 0; i < 17; i++) chunked += `${(65_536).toString(16)}\r\n${chunk}\r\n`;
  chunked += '0\r\n\r\n';
  const chunkedRes = await raw(b.handle.port, chunked);
  assert.match(chunkedRes, /^HTTP\/1\.1 413 /);
  assert.match(chunkedRes, /X-Content-Type-Options: nosniff/i);

  // A declared Content-Length over the limit is refused before the body is sent.
  const declared = await raw(
    b.handle.port,
    'POST /v1/token/validate HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n',
  );
  assert.match(declared, /^HTTP\/1\.1 413 /);

  // Malformed HTTP still gets an RFC 7807 answer.
  const garbage = await raw(b.handle.port, 'BLAH\r\n\r\n');
  assert.match(garbage, /^HTTP\/1\.1 400 /);
  assert.match(garbage, /application\/problem\+json/);

  // One log line per request, in the reference format.
  const line = b.logs.find((l) => l.includes('path=/v1/nope'));
  assert.match(
    String(line),
    /^\[AA:HTTP:OK\] \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \| handler \| request completed \| method=GET, path=\/v1\/nope, status=404, latency=[0-9.]+(ns|µs|ms|s), request_id=[0-9a-f]{16}$/,
  );
});

test('health, metrics and jwks', async (t) => {
  const b = await startTestBroker(t);
  const h = await b.req('/v1/health');
  assert.equal(h.status, 200);
  assert.deepEqual(Object.keys(h.json), ['status', 'version', 'uptime', 'db_connected', 'audit_events_count']);
  assert.equal(h.json.status, 'ok');
  assert.equal(h.json.version, '2.0.0');
  assert.equal(h.json.db_connected, true);
  assert.equal(h.json.audit_events_count, 0);
  await b.adminToken();
  assert.equal((await b.req('/v1/health')).json.audit_events_count, 1);

  const m = await b.req('/v1/metrics');
  assert.equal(m.status, 200);
  assert.match(String(m.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  assertCommon(m.headers);
  for (const name of [
    'agentwrit_tokens_issued_total{scope="admin:launch-tokens:*"} 1',
    'agentwrit_admin_auth_total{status="success"} 1',
    'agentwrit_audit_events_total{event_type="admin_auth"} 1',
    'agentwrit_active_agents 0',
    'agentwrit_launch_tokens_created_total 0',
    'agentwrit_clock_skew_total 0',
    'agentwrit_request_duration_seconds_count{endpoint="/v1/health"} 2',
    'agentwrit_audit_write_duration_seconds_count 1',
  ]) {
    assert.ok(m.text.includes(name), `metrics missing: ${name}`);
  }

  const j1 = await b.req('/v1/jwks');
  const j2 = await b.req('/.well-known/jwks.json');
  assert.equal(j1.status, 200);
  assert.deepEqual(j1.json, j2.json);
  const key = j1.json.keys[0];
  assert.equal(key.kty, 'OKP');
  assert.equal(key.crv, 'Ed25519');
  assert.equal(key.alg, 'EdDSA');
  assert.equal(key.use, 'sig');
  assert.match(key.x, /^[A-Za-z0-9_-]{43}$/);
  const admin = await b.adminToken();
  const kid = JSON.parse(Buffer.from(admin.split('.')[0] as string, 'base64url').toString()).kid;
  assert.equal(key.kid, kid);
});
