/** The rules a reviewer reads first: scopes, the audit chain, redaction, claims and delegation hashing. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { goJson } from '../../src/platform/go-json.js';
import { parseRfc3339, rfc3339Nano } from '../../src/platform/time.js';
import { sanitizeDetail } from '../../src/services/audit.js';
import { type Claims, parseClaims, serializeClaims } from '../../src/services/claims.js';
import { chainHash, recordSigningText } from '../../src/services/delegation.js';
import { covers, goList, isSubset, isValidScope, parseScope } from '../../src/services/scopes.js';
import { auditHash, auditId, GENESIS_HASH } from '../../src/store/audit-chain.js';

test('scope grammar: three non-empty parts, identifier may contain colons', () => {
  assert.deepEqual(parseScope('read:data:x:y'), { action: 'read', resource: 'data', identifier: 'x:y' });
  for (const bad of ['', 'a', 'a:b', ':b:c', 'a::c', 'a:b:', 'a:b:c'.slice(0, 4)])
    assert.equal(isValidScope(bad), false, bad);
  assert.equal(isValidScope('a:b:c'), true);
});

test('coverage: * only as the allowed identifier', () => {
  assert.equal(covers('read:data:*', 'read:data:x'), true);
  assert.equal(covers('read:data:*', 'read:data:*'), true);
  assert.equal(covers('read:data:x', 'read:data:*'), false);
  assert.equal(covers('*:*:*', 'read:data:x'), false);
  assert.equal(covers('*:*:*', '*:*:x'), true);
  assert.equal(covers('read:*:x', 'read:data:x'), false);
  assert.equal(covers('read:data:x', 'write:data:x'), false);
  assert.equal(covers('read:data', 'read:data'), false);
  assert.equal(isSubset([], ['a:b:c']), true);
  assert.equal(isSubset(['a:b:c', 'a:b:d'], ['a:b:*']), true);
  assert.equal(isSubset(['a:b:c', 'x:y:z'], ['a:b:*']), false);
  assert.equal(isSubset(['admin:revoke:*'], ['admin:revoke:foo']), false);
  assert.equal(goList(['a', 'b']), '[a b]');
  assert.equal(goList([]), '[]');
  assert.equal(goList(null), '[]');
});

test('audit hash: SHA-256 of the 13 fields joined by |', () => {
  const row = {
    id: auditId(1),
    timestamp: '2026-02-15T12:00:00.12345Z',
    event_type: 'admin_auth',
    agent_id: '',
    task_id: '',
    orch_id: '',
    detail: 'admin authenticated as admin',
    resource: '',
    outcome: 'success',
    deleg_depth: 0,
    deleg_chain_hash: '',
    bytes_transferred: 0,
    prev_hash: GENESIS_HASH,
  };
  const expected = createHash('sha256')
    .update(
      `${GENESIS_HASH}|evt-000001|2026-02-15T12:00:00.12345Z|admin_auth||||admin authenticated as admin||success|0||0`,
    )
    .digest('hex');
  assert.equal(auditHash(row), expected);
  assert.equal(auditId(1234567), 'evt-1234567');
});

test('audit detail redaction follows the reference rule', () => {
  assert.equal(sanitizeDetail('client_secret=abc def'), 'client_secret=***REDACTED***');
  assert.equal(sanitizeDetail('password: hunter2'), 'password: ***REDACTED***');
  assert.equal(sanitizeDetail('app=x secret=y'), 'app=x secret=y'); // keyword after the first '='
  assert.equal(sanitizeDetail('nothing here'), 'nothing here');
  assert.equal(sanitizeDetail('Private_Key=zzz'), 'Private_Key=***REDACTED***');
});

test('RFC3339Nano formatting and filter parsing', () => {
  assert.equal(rfc3339Nano(Date.UTC(2026, 1, 15, 12, 0, 0, 0)), '2026-02-15T12:00:00Z');
  assert.equal(rfc3339Nano(Date.UTC(2026, 1, 15, 12, 0, 0, 120), 450_000), '2026-02-15T12:00:00.12045Z');
  assert.equal(parseRfc3339('2026-02-15T14:00:00+02:00'), '2026-02-15T12:00:00.000000000Z');
  assert.equal(parseRfc3339('2026-02-15T12:00:00.5Z'), '2026-02-15T12:00:00.500000000Z');
  for (const bad of [
    '2026-02-30T00:00:00Z',
    '2026-02-15 12:00:00Z',
    '2026-02-15T12:00:00',
    'x',
    '2026-02-15T25:00:00Z',
  ]) {
    assert.equal(parseRfc3339(bad), null, bad);
  }
  assert.equal(parseRfc3339('0001-01-01T00:00:00Z'), '0001-01-01T00:00:00.000000000Z');
  assert.equal(parseRfc3339('9999-12-31T23:59:59-23:59'), null);
});

test('claims: reference key order, strict types, string or array aud', () => {
  const c: Claims = {
    iss: '',
    sub: 's',
    aud: ['a'],
    exp: 10,
    nbf: 1,
    iat: 1,
    jti: 'j',
    scope: ['a:b:c'],
    task_id: 't',
    orch_id: 'o',
  };
  const json = serializeClaims(c);
  assert.equal(
    json,
    '{"iss":"","sub":"s","aud":["a"],"exp":10,"nbf":1,"iat":1,"jti":"j","scope":["a:b:c"],"task_id":"t","orch_id":"o"}',
  );
  assert.deepEqual(parseClaims(json), c);
  assert.deepEqual(parseClaims('{"sub":"s","aud":"x","exp":1,"jti":"j"}')?.aud, ['x']);
  for (const bad of [
    '{"exp":"1"}',
    '{"scope":"a:b:c"}',
    '{"exp":1.5}',
    '{"sub":1}',
    '{"aud":[1]}',
    '[]',
    '{"sub":"a","sub":"b"}',
    '{"delegation_chain":[{"agent":1}]}',
  ]) {
    assert.equal(parseClaims(bad), null, bad);
  }
});

test('delegation: record signing text and chain hash with Go escaping', () => {
  assert.equal(
    recordSigningText('spiffe://x', ['a:b:c', 'd:e:f'], '2026-01-01T00:00:00.1Z'),
    'spiffe://x|a:b:c,d:e:f|2026-01-01T00:00:00.1Z',
  );
  const chain = [{ agent: 'a<b>&', scope: ['s'], delegated_at: '2026-04-14T20:26:27.257796884Z', signature: 'ff' }];
  const expected = createHash('sha256')
    .update(
      '[{"agent":"a\\u003cb\\u003e\\u0026","scope":["s"],"delegated_at":"2026-04-14T20:26:27.257796884Z","signature":"ff"}]',
    )
    .digest('hex');
  assert.equal(chainHash(chain), expected);
  assert.equal(goJson({ s: '\u2028' }), '{"s":"\\u2028"}');
});
