/**
 * Input fuzzing: ≥10,000 generated bodies across every JSON route of a broker process, from a seeded PRNG
 * (`FUZZ_SEED` reproduces a run). Every answer is a 4xx RFC 7807 body or, for the rare valid body, a success;
 * never a 5xx; the process stays up and its RSS stays bounded.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import nacl from 'tweetnacl';
import { ADMIN_SECRET } from '../helpers/broker.js';
import { type Answer, Flood, prng, spawnBroker } from './support.js';

const TOTAL = 10_000;
const PROBLEM_KEYS = ['type', 'title', 'status', 'detail', 'instance', 'error_code', 'request_id'];

/** Field names each route reads, so generated bodies reach past the decoder as often as they fail in it. */
const FIELDS: Record<string, string[]> = {
  '/v1/register': ['launch_token', 'nonce', 'public_key', 'signature', 'orch_id', 'task_id', 'requested_scope'],
  '/v1/token/validate': ['token'],
  '/v1/token/renew': [],
  '/v1/token/release': [],
  '/v1/delegate': ['delegate_to', 'scope', 'ttl'],
  '/v1/revoke': ['level', 'target'],
  '/v1/admin/auth': ['secret', 'client_id', 'client_secret'],
  '/v1/admin/launch-tokens': ['agent_name', 'allowed_scope', 'max_ttl', 'single_use', 'ttl'],
  '/v1/app/launch-tokens': ['agent_name', 'allowed_scope', 'max_ttl', 'single_use', 'ttl'],
  '/v1/admin/apps': ['name', 'scopes', 'token_ttl'],
  '/v1/app/auth': ['client_id', 'client_secret'],
};
const PUT_APP = ['scopes', 'token_ttl'];
const NASTY_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'valueOf',
  'SECRET',
  'Token',
  '',
];
const NASTY_STRINGS = [
  '',
  ' ',
  'null',
  'true',
  '0',
  '-1',
  '1e400',
  '*',
  '*:*:*',
  'admin',
  'admin:revoke:*',
  'token',
  'agent',
  '../..',
  '%00',
  '\u0000',
  '\ud800',
  '\u202e',
  '<>&',
  'spiffe://agentwrit.local/agent/a/b/c',
  "' OR 1=1 --",
  `$2a$12$${'a'.repeat(53)}`,
];
const NASTY_NUMBERS = [
  0,
  -0,
  -1,
  1,
  59,
  60,
  86400,
  86401,
  2 ** 31,
  2 ** 53,
  2 ** 53 + 2,
  -(2 ** 53),
  1e21,
  1e308,
  5e-324,
  0.5,
  315_360_001,
];

function generator(seed: number) {
  const rnd = prng(seed);
  const int = (n: number): number => Math.floor(rnd() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
  const str = (): string => {
    switch (int(6)) {
      case 0:
        return pick(NASTY_STRINGS);
      case 1:
        return 'x'.repeat(pick([1, 64, 4096, 4097, 20_000]));
      case 2:
        return String.fromCharCode(...Array.from({ length: int(40) }, () => int(0x10000)));
      case 3:
        return Array.from({ length: int(4) + 1 }, () => pick(['read', 'write', '*', 'data', 'x', ''])).join(':');
      default:
        return Array.from({ length: int(24) }, () => String.fromCharCode(32 + int(95))).join('');
    }
  };
  const value = (depth: number): unknown => {
    switch (int(depth > 3 ? 6 : 9)) {
      case 0:
        return null;
      case 1:
        return rnd() < 0.5;
      case 2:
        return pick(NASTY_NUMBERS);
      case 3:
      case 4:
        return str();
      case 5:
        return Array.from({ length: int(4) }, () => (rnd() < 0.7 ? str() : value(depth + 1)));
      case 6:
        return Array.from({ length: int(300) }, () => 'read:data:x');
      default: {
        const o: Record<string, unknown> = {};
        for (let i = int(4); i > 0; i--) o[rnd() < 0.5 ? pick(NASTY_KEYS) : str().slice(0, 12)] = value(depth + 1);
        return o;
      }
    }
  };
  const objectJson = (fields: readonly string[]): string => {
    const parts: string[] = [];
    for (const f of fields) {
      if (rnd() < 0.3) continue;
      const key = rnd() < 0.1 ? f.toUpperCase() : f;
      parts.push(`${JSON.stringify(key)}:${JSON.stringify(value(0)) ?? 'null'}`);
    }
    for (let i = int(3); i > 0; i--)
      parts.push(`${JSON.stringify(pick(NASTY_KEYS))}:${JSON.stringify(value(1)) ?? 'null'}`);
    if (rnd() < 0.1 && parts.length > 0) parts.push(parts[0] as string); // duplicate member
    return `{${parts.join(',')}}`;
  };
  /** One body: mostly schema-shaped JSON, the rest hostile bytes and shapes. */
  return (fields: readonly string[]): Buffer => {
    switch (int(14)) {
      case 0: {
        const depth = pick([64, 1_000, 10_000, 100_000]);
        return Buffer.from('['.repeat(depth) + ']'.repeat(int(2) * depth));
      }
      case 1: {
        const depth = pick([64, 1_000, 20_000]);
        return Buffer.from(`${'{"a":'.repeat(depth)}1${'}'.repeat(int(2) * depth)}`);
      }
      case 2:
        return Buffer.from(Array.from({ length: int(300) + 1 }, () => int(256)));
      case 3: {
        const ok = Buffer.from(objectJson(fields));
        const bad = Buffer.from([pick([0xc0, 0xff, 0xed, 0xf8, 0x80]), pick([0x80, 0xa0, 0xbf, 0x00])]);
        const at = int(ok.length);
        return Buffer.concat([ok.subarray(0, at), bad, ok.subarray(at)]);
      }
      case 4:
        return Buffer.from(
          pick([
            '',
            ' ',
            'null',
            '[]',
            '"x"',
            '1',
            'true',
            '{}',
            '{}{}',
            '{} x',
            '{"a":1,}',
            '\ufeff{}',
            '{"__proto__":{"admin":true}}',
            '{"constructor":{"prototype":{"x":1}}}',
          ]),
        );
      case 5:
        return Buffer.from(
          `{${JSON.stringify(pick(fields.length > 0 ? fields : ['x']))}:${pick(['1'.repeat(400), `-${'9'.repeat(400)}`, '1e999999', `0.${'0'.repeat(5000)}1`, '9007199254740993'])}}`,
        );
      default:
        return Buffer.from(objectJson(fields));
    }
  };
}

test('fuzz: 10,000 generated bodies, no 5xx, RFC 7807 everywhere, bounded RSS', { timeout: 55_000 }, async (t) => {
  const seed =
    process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : (Date.now() ^ (process.pid << 8)) >>> 0;
  t.diagnostic(`FUZZ_SEED=${seed}`);
  const gen = generator(seed);
  const rnd = prng(seed ^ 0x9e3779b9);

  const p = await spawnBroker(t);
  const flood = new Flood(p.port, 16);
  t.after(() => flood.close());
  const json = async (path: string, body: unknown, token?: string): Promise<Record<string, any>> => {
    // eslint-disable-line @typescript-eslint/no-explicit-any
    const r = await flood.send(path, {
      body: JSON.stringify(body),
      headers: token ? { Authorization: `Bearer ${token}` } : {},
    });
    return JSON.parse(r.text) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  };
  // Real credentials, so the Bearer routes are fuzzed past the guard.
  const admin = (await json('/v1/admin/auth', { secret: ADMIN_SECRET })).access_token as string;
  const app = await json('/v1/admin/apps', { name: 'fuzz-app', scopes: ['read:data:*'] }, admin);
  const appToken = (await json('/v1/app/auth', { client_id: app.client_id, client_secret: app.client_secret }))
    .access_token as string;
  const lt = (
    await json(
      '/v1/admin/launch-tokens',
      { agent_name: 'f', allowed_scope: ['read:data:*'], single_use: false, ttl: 3600 },
      admin,
    )
  ).launch_token as string;
  const keys = nacl.sign.keyPair();
  const nonce = (await json('/v1/challenge', undefined)).nonce as string;
  const agent = await json('/v1/register', {
    launch_token: lt,
    nonce,
    orch_id: 'o',
    task_id: 't',
    requested_scope: ['read:data:*'],
    public_key: Buffer.from(keys.publicKey).toString('base64'),
    signature: Buffer.from(nacl.sign.detached(Buffer.from(nonce, 'hex'), keys.secretKey)).toString('base64'),
  });
  assert.ok(agent.access_token, JSON.stringify(agent));
  const tokenFor: Record<string, string | undefined> = {
    '/v1/token/renew': undefined,
    '/v1/token/release': undefined,
    '/v1/delegate': agent.access_token,
    '/v1/revoke': admin,
    '/v1/admin/launch-tokens': admin,
    '/v1/app/launch-tokens': appToken,
    '/v1/admin/apps': admin,
  };
  const routes = [...Object.keys(FIELDS), `/v1/admin/apps/${app.app_id as string}`];

  const rss0 = p.rssMb();
  let peak = rss0;
  const tally = new Map<number, number>();
  const failures: string[] = [];
  const deadline = Date.now() + 45_000;
  const answers = await flood.run(
    TOTAL,
    16,
    async (i) => {
      const path = routes[Math.floor(rnd() * routes.length)] as string;
      const isPut = path.startsWith('/v1/admin/apps/app-');
      const body = gen(isPut ? PUT_APP : (FIELDS[path] ?? []));
      const token = isPut ? admin : tokenFor[path];
      const r: Answer = await flood.send(path, {
        method: isPut ? 'PUT' : 'POST',
        body,
        headers: token ? { Authorization: `Bearer ${token}` } : {},
      });
      tally.set(r.status, (tally.get(r.status) ?? 0) + 1);
      if (i % 1000 === 0) peak = Math.max(peak, p.rssMb());
      const problem = r.status >= 400;
      let ok = r.status < 500 && r.status !== 0;
      if (ok && problem) {
        ok = r.headers['content-type'] === 'application/problem+json';
        try {
          const j = JSON.parse(r.text) as Record<string, unknown>;
          ok &&= JSON.stringify(Object.keys(j)) === JSON.stringify(PROBLEM_KEYS) && j.status === r.status;
        } catch {
          ok = false;
        }
      }
      if (!ok && failures.length < 5)
        failures.push(
          `#${i} ${path} → ${r.status} ${r.text.slice(0, 200)} | body: ${body.toString('latin1').slice(0, 120)}`,
        );
      return r.status;
    },
    deadline,
  );
  const sent = answers.filter((s) => s !== undefined).length;
  t.diagnostic(
    `sent ${sent} bodies; statuses ${JSON.stringify(Object.fromEntries(tally))}; RSS ${rss0.toFixed(0)} → peak ${peak.toFixed(0)} MB`,
  );
  assert.deepEqual(failures, [], `FUZZ_SEED=${seed}`);
  assert.ok(sent >= TOTAL, `only ${sent} bodies were sent before the deadline (FUZZ_SEED=${seed})`);
  assert.ok(p.alive(), 'the broker process died');
  assert.equal((await flood.send('/v1/health')).status, 200);
  const rss1 = p.rssMb();
  assert.ok(
    Math.max(peak, rss1) - rss0 < 200,
    `RSS grew from ${rss0.toFixed(0)} to ${Math.max(peak, rss1).toFixed(0)} MB (FUZZ_SEED=${seed})`,
  );
  assert.doesNotMatch(p.output(), /request failed|FATAL|Uncaught|RangeError/, 'an unexpected error was logged');
});
