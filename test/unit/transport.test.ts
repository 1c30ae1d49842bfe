import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rateLimitKey } from '../../src/transport/client-ip.js';
import { DecodeError, decodeBody } from '../../src/transport/json.js';
import { RateLimiter } from '../../src/transport/rate-limit.js';
import { cleanPath, Router } from '../../src/transport/router.js';

test('router: exact, params, HEAD, 405 Allow, redirects', () => {
  const r = new Router<string>()
    .add('GET', '/v1/a', 'a')
    .add('POST', '/v1/a', 'a-post')
    .add('GET', '/v1/x/{id}', 'x')
    .add('DELETE', '/v1/x/{id}', 'xd');
  assert.deepEqual(r.match('GET', '/v1/a'), { kind: 'found', route: 'a', pattern: '/v1/a', params: {} });
  assert.equal((r.match('HEAD', '/v1/a') as { route: string }).route, 'a');
  assert.deepEqual(r.match('PUT', '/v1/a'), { kind: 'method_not_allowed', pattern: '/v1/a', allow: 'GET, HEAD, POST' });
  assert.deepEqual(r.match('GET', '/v1/x/a%20b'), {
    kind: 'found',
    route: 'x',
    pattern: '/v1/x/{id}',
    params: { id: 'a b' },
  });
  assert.deepEqual(r.match('GET', '/v1/x/'), { kind: 'not_found' });
  assert.deepEqual(r.match('GET', '/v1/x/a/b'), { kind: 'not_found' });
  assert.deepEqual(r.match('GET', '/v1/x/%E0%A4%A'), { kind: 'not_found' });
  assert.deepEqual(r.match('GET', '//v1/a'), { kind: 'redirect', location: '/v1/a' });
  assert.deepEqual(r.match('GET', '/v1/./a'), { kind: 'redirect', location: '/v1/a' });
  assert.deepEqual(r.match('GET', 'v1/a'), { kind: 'not_found' });
  assert.equal(cleanPath('/a/../../b/'), '/b/');
  assert.deepEqual(
    r
      .list()
      .map((e) => `${e.method} ${e.pattern}`)
      .sort(),
    ['DELETE /v1/x/{id}', 'GET /v1/a', 'GET /v1/x/{id}', 'POST /v1/a'],
  );
  assert.throws(() => r.add('GET', '/v1/a', 'dup'));
});

test('json decoding: case-insensitive keys, null = absent, strict types, inert __proto__', () => {
  const schema = { token: 'string', ttl: 'int', scopes: 'strings', flag: 'bool' } as const;
  const d = (s: string): unknown => decodeBody(Buffer.from(s), schema);
  assert.deepEqual(d('{"TOKEN":"a","token":"b","ttl":5}'), { token: 'b', ttl: 5 });
  assert.deepEqual(d('{"token":null,"scopes":["a"]}'), { scopes: ['a'] });
  assert.deepEqual(d('null'), {});
  assert.deepEqual(d('{"__proto__":{"token":"x"},"constructor":1}'), {});
  assert.equal(({} as Record<string, unknown>).token, undefined);
  for (const bad of [
    '',
    '[]',
    '"x"',
    '1',
    '{"ttl":1.5}',
    '{"ttl":"1"}',
    '{"scopes":"a"}',
    '{"scopes":[1]}',
    '{"flag":"true"}',
    '{} x',
    '{"ttl":1e400}',
  ]) {
    assert.throws(() => d(bad), DecodeError, bad);
  }
  assert.throws(() => decodeBody(Buffer.from([0x7b, 0xff, 0x7d]), schema), DecodeError);
});

test('rate limiter: burst, refill, cap, prune', () => {
  const l = new RateLimiter({ rate: 1, burst: 3, retryAfterSeconds: 1, maxKeys: 2 });
  assert.deepEqual([l.take('a', 0), l.take('a', 0), l.take('a', 0), l.take('a', 0)], [true, true, true, false]);
  assert.equal(l.take('a', 1000), true);
  assert.equal(l.take('b', 1000), true);
  assert.equal(l.take('c', 1000), false); // map full of busy keys: fail closed
  assert.equal(l.prune(10_000), 2);
  assert.equal(l.take('c', 10_000), true);
});

test('rate-limit keys: IPv4 as is, IPv6 by its /64', () => {
  assert.equal(rateLimitKey('203.0.113.7'), '203.0.113.7');
  assert.equal(rateLimitKey('2001:db8:1:2:aaaa::1'), rateLimitKey('2001:db8:1:2:ffff:ffff:ffff:ffff'));
  assert.notEqual(rateLimitKey('2001:db8:1:2::1'), rateLimitKey('2001:db8:1:3::1'));
  assert.equal(rateLimitKey('2001:db8:1:2::1'), '20010db800010002/64');
  assert.equal(rateLimitKey('not-an-ip'), 'not-an-ip');
});
