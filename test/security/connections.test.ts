/**
 * Transport abuse: slow and lying uploads are cut off within the server's timeouts, 1,000 idle connections cost
 * little and are reaped, huge and numerous headers, request-id injection, path tricks (no open redirect) and
 * every wrong method. The slow cases run concurrently with the fast ones so the file stays short.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { buildRouter } from '../../src/routes/table.js';
import { SERVER_LIMITS } from '../../src/transport/server.js';
import { startTestBroker } from '../helpers/broker.js';
import { rawExchange, rawStatus } from './support.js';

const PROBLEM_KEYS = ['type', 'title', 'status', 'detail', 'instance', 'error_code', 'request_id'];

test('transport: slowloris, lying lengths, idle floods, headers, request ids, paths and methods', {
  timeout: 50_000,
}, async (t) => {
  const b = await startTestBroker(t);
  const port = b.handle.port;
  const head = (path: string, extra = ''): string => `POST ${path} HTTP/1.1\r\nHost: x\r\n${extra}`;

  // --- Slow cases, started first and awaited at the end. -------------------------------------------------------
  const headerBytes = Array.from({ length: 40 }, (_, i) =>
    i === 0 ? 'GET /v1/health HTTP/1.1\r\n' : `X-${i}: ${i}\r\n`,
  );
  const slowHeaders = rawExchange(port, headerBytes, { gapMs: 500, giveUpMs: 12_000 });
  const slowBody = rawExchange(
    port,
    [head('/v1/token/validate', 'Content-Length: 100\r\n\r\n'), ...Array.from({ length: 60 }, () => 'x')],
    { gapMs: 500, giveUpMs: 25_000 },
  );
  const stalledBody = rawExchange(port, [head('/v1/token/validate', 'Content-Length: 1048576\r\n\r\n{"token":')], {
    giveUpMs: 25_000,
  });
  const silent = rawExchange(port, [], { giveUpMs: 12_000 });

  // --- 1,000 idle keep-alive connections after one request each, and the broker still answers at once. ----------
  const rssBefore = process.memoryUsage().rss;
  const idle: net.Socket[] = [];
  t.after(() => {
    for (const s of idle) s.destroy();
  });
  await Promise.all(
    Array.from(
      { length: 1000 },
      () =>
        new Promise<void>((resolve) => {
          const s = net.connect(port, '127.0.0.1');
          idle.push(s);
          s.once('data', () => resolve());
          s.once('error', () => resolve());
          s.write('GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n');
        }),
    ),
  );
  const started = Date.now();
  assert.equal((await b.req('/v1/health')).status, 200);
  assert.ok(Date.now() - started < 3_000, 'health is slow with 1,000 idle connections');
  const grownMb = (process.memoryUsage().rss - rssBefore) / 1e6;
  assert.ok(grownMb < 150, `1,000 idle connections (both ends in this process) grew RSS by ${grownMb.toFixed(0)} MB`);
  assert.equal(SERVER_LIMITS.keepAliveTimeoutMs, 120_000, 'idle keep-alive sockets are reaped (Go: IdleTimeout 120 s)');
  for (const s of idle) s.destroy();

  // --- Bodies: exactly 1 MiB chunked is read; a Content-Length that lies short leaves the rest to the parser. ---
  const mib = 1_048_576;
  const json = `{"token":"${'a'.repeat(mib - 12)}"}`;
  assert.equal(Buffer.byteLength(json), mib);
  const chunks = [head('/v1/token/validate', 'Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n')];
  for (let i = 0; i < json.length; i += 65_536) {
    const part = json.slice(i, i + 65_536);
    chunks.push(`${part.length.toString(16)}\r\n${part}\r\n`);
  }
  chunks.push('0\r\n\r\n');
  const exact = await rawExchange(port, [chunks.join('')], { giveUpMs: 10_000 });
  assert.equal(rawStatus(exact.text), 200, 'exactly 1 MiB chunked is accepted');
  assert.match(exact.text, /"valid":false/);
  const over = await rawExchange(
    port,
    [
      head('/v1/token/validate', 'Transfer-Encoding: chunked\r\n\r\n') +
        `100001\r\n${'x'.repeat(mib + 1)}\r\n0\r\n\r\n`,
    ],
    { giveUpMs: 10_000 },
  );
  assert.equal(rawStatus(over.text), 413);
  assert.ok(over.closedByServer, 'over-limit upload: the server closes the connection');
  const short = await rawExchange(
    port,
    [`${head('/v1/token/validate', 'Content-Length: 2\r\n\r\n')}{}${'GARBAGE'.repeat(100_000)}`],
    { giveUpMs: 10_000 },
  );
  // The body is the declared 2 bytes; the rest is a malformed second request, and the connection is dropped.
  assert.ok(short.closedByServer && [0, 200, 400].includes(rawStatus(short.text)), short.text.slice(0, 40));
  const both = await rawExchange(
    port,
    [`${head('/v1/token/validate', 'Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n')}0\r\n\r\n`],
    { giveUpMs: 5_000 },
  );
  assert.equal(rawStatus(both.text), 400, 'Content-Length with Transfer-Encoding (request smuggling) is refused');
  const twoLengths = await rawExchange(
    port,
    [head('/v1/token/validate', 'Content-Length: 2\r\nContent-Length: 20\r\n\r\n{}')],
    { giveUpMs: 5_000 },
  );
  assert.equal(rawStatus(twoLengths.text), 400, 'two Content-Length headers are refused');

  // --- Headers: over 1 MiB is 431 with a problem body; thousands of small ones are fine. ------------------------
  const huge = await rawExchange(
    port,
    [`GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(SERVER_LIMITS.maxHeaderBytes + 10)}\r\n\r\n`],
    { giveUpMs: 10_000 },
  );
  assert.equal(rawStatus(huge.text), 431);
  assert.match(huge.text, /application\/problem\+json[\s\S]*"status":431/);
  const many = Array.from({ length: 5000 }, (_, i) => `X-H${i}: v`).join('\r\n');
  const manyRes = await rawExchange(
    port,
    [`GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${many}\r\n\r\n`],
    { giveUpMs: 10_000 },
  );
  assert.equal(rawStatus(manyRes.text), 200);

  // --- X-Request-ID: anything outside [A-Za-z0-9._-]{1,128} is replaced, never echoed or logged. --------------
  const hostile = [
    '<script>alert(1)</script>',
    'id;rm -rf /',
    "a'b",
    'é',
    'a b',
    '../../x',
    '%0d%0aSet-Cookie:x',
    'x'.repeat(129),
    '',
  ];
  for (const id of hostile) {
    const r = await b.req('/v1/health', { headers: { 'X-Request-ID': id } });
    assert.match(String(r.headers['x-request-id']), /^[0-9a-f]{16}$/, JSON.stringify(id));
  }
  const latin = await rawExchange(
    port,
    ['GET /v1/nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Request-ID: \xff\x1b[31m\r\n\r\n'],
    { giveUpMs: 5_000 },
  );
  assert.match(latin.text, /X-Request-ID: [0-9a-f]{16}\r\n/);
  const dup = await rawExchange(
    port,
    ['GET /v1/nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Request-ID: aaa\r\nX-Request-ID: bbb\r\n\r\n'],
    { giveUpMs: 5_000 },
  );
  assert.match(dup.text, /X-Request-ID: (aaa|[0-9a-f]{16})\r\n/);
  for (const line of b.logs)
    assert.ok(!line.includes('<script>') && !line.includes('\x1b'), `unsafe text logged: ${line.slice(0, 200)}`);

  // --- Paths: canonical redirects only to routes we serve; no open redirect; encodings are not decoded. ---------
  const paths: [string, number, string?][] = [
    ['//v1/health', 301, '/v1/health'],
    ['/v1/../v1/health', 301, '/v1/health'],
    ['/v1/./health?x=1', 301, '/v1/health?x=1'],
    ['/./\\evil.example', 404],
    ['//evil.example/..', 404],
    ['/.//evil.example', 404],
    ['/v1/./nope', 404],
    ['/v1/health/', 404],
    ['/v1%2Fhealth', 404],
    ['/v1/%68ealth', 404],
    ['/v1/%2e%2e/v1/health', 404],
    ['/V1/HEALTH', 404],
    ['/v1/health%00', 404],
    ['/v1/health;x', 404],
    ['http://evil.example/v1/health', 404],
    ['*', 404],
  ];
  for (const [path, status, location] of paths) {
    const r = await rawExchange(port, [`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`], {
      giveUpMs: 5_000,
    });
    assert.equal(rawStatus(r.text), status, path);
    if (location !== undefined)
      assert.match(r.text, new RegExp(`\r\nLocation: ${location.replace(/[?.]/g, '\\$&')}\r\n`), path);
    else assert.doesNotMatch(r.text, /\r\nLocation:/i, path);
  }
  // A path parameter is decoded but only ever used as an id.
  const admin = await b.adminToken();
  const trick = await b.req('/v1/admin/apps/..%2F..%2Fv1%2Fhealth', { token: admin });
  assert.equal(trick.status, 404);
  assert.equal(trick.json.detail, 'app not found');

  // --- Every route with every wrong method: 405, RFC 7807, Allow lists exactly the route's methods. ------------
  const routes = new Map<string, Set<string>>();
  for (const { method, pattern } of buildRouter(b.handle.services).list()) {
    const path = pattern.replace('{id}', 'app-x');
    if (!routes.has(path)) routes.set(path, new Set());
    routes.get(path)?.add(method);
  }
  for (const [path, methods] of routes) {
    if (methods.has('GET')) methods.add('HEAD');
    for (const method of ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      if (methods.has(method)) continue;
      const r = await b.req(path, { method, body: method === 'GET' ? undefined : {} });
      assert.equal(r.status, 405, `${method} ${path}`);
      assert.deepEqual(Object.keys(r.json), PROBLEM_KEYS);
      assert.equal(r.headers.allow, [...methods].sort().join(', '), `${method} ${path}`);
    }
  }
  for (const method of ['TRACE', 'FOO', 'CONNECT']) {
    const r = await rawExchange(port, [`${method} /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`], {
      giveUpMs: 5_000,
    });
    assert.ok([0, 400, 405].includes(rawStatus(r.text)), `${method}: ${r.text.slice(0, 40)}`);
  }

  // --- The slow ones: each was cut off by the server within its timeout (plus the 1 s check interval). ---------
  const [sh, sb, st, si] = await Promise.all([slowHeaders, slowBody, stalledBody, silent]);
  const headerCut = SERVER_LIMITS.headersTimeoutMs + 2_500;
  const requestCut = SERVER_LIMITS.requestTimeoutMs + 2_500;
  assert.ok(sh.closedByServer && sh.closedAfterMs <= headerCut, `slow headers held ${sh.closedAfterMs} ms`);
  assert.ok(si.closedByServer && si.closedAfterMs <= headerCut, `silent connection held ${si.closedAfterMs} ms`);
  assert.ok(sb.closedByServer && sb.closedAfterMs <= requestCut, `slow body held ${sb.closedAfterMs} ms`);
  assert.ok(st.closedByServer && st.closedAfterMs <= requestCut, `stalled body held ${st.closedAfterMs} ms`);
  for (const r of [sh, si, sb, st]) assert.ok([0, 408].includes(rawStatus(r.text)), r.text.slice(0, 40));
  assert.equal((await b.req('/v1/health')).status, 200);
});
