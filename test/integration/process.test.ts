/**
 * The broker as an operator runs it: a child process, fatal configuration errors with exit code 1, a banner, a
 * graceful shutdown on SIGTERM/SIGINT with exit code 0, and state that survives the restart.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ADMIN_SECRET, registerWith } from '../helpers/broker.js';
import { launchBroker } from '../helpers/broker-process.js';
import { request } from '../helpers/http.js';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'awb-proc-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('fatal configuration errors exit 1 with a FATAL line', async (t) => {
  const dir = tempDir(t);
  const cases: [Record<string, string>, RegExp][] = [
    [{}, /^FATAL: admin secret is a known-weak default; run 'awrit init'/m],
    [{ AA_ADMIN_SECRET: 'change-me-in-production' }, /^FATAL: admin secret is a known-weak default/m],
    [{ AA_ADMIN_SECRET: ADMIN_SECRET, AA_TLS_MODE: 'https' }, /^FATAL: AA_TLS_MODE must be none, tls or mtls/m],
    [
      {
        AA_ADMIN_SECRET: ADMIN_SECRET,
        AA_TLS_MODE: 'tls',
        AA_TLS_CERT: join(dir, 'nope.pem'),
        AA_TLS_KEY: join(dir, 'nope.pem'),
      },
      /^FATAL: loading TLS certificate: .*nope\.pem/m,
    ],
    [
      { AA_ADMIN_SECRET: ADMIN_SECRET, AA_DB_PATH: join(dir, 'missing-dir', 'data.db') },
      /^FATAL: init database: .*missing-dir/m,
    ],
    [{ AA_ADMIN_SECRET: ADMIN_SECRET, AA_TRUST_DOMAIN: 'Bad Domain' }, /^FATAL: AA_TRUST_DOMAIN/m],
    [
      { AA_ADMIN_SECRET: ADMIN_SECRET, AA_ED25519: 'openssl' },
      /^FATAL: AA_ED25519 must be native or tweetnacl, got "openssl"$/m,
    ],
  ];
  writeFileSync(join(dir, 'bad.key'), 'not a key');
  cases.push([
    { AA_ADMIN_SECRET: ADMIN_SECRET, AA_SIGNING_KEY_PATH: join(dir, 'bad.key') },
    /^FATAL: signing key: keystore: no PEM block found/m,
  ]);
  for (const [env, expected] of cases) {
    const r = launchBroker(t, dir, env);
    const code = await r.exited;
    assert.equal(code, 1, `${JSON.stringify(env)}: ${r.err()}`);
    assert.match(r.err(), expected);
  }
});

test('banner, SIGTERM drains and exits 0, and state survives a restart', async (t) => {
  const dir = tempDir(t);
  const env = { AA_ADMIN_SECRET: ADMIN_SECRET };
  const first = launchBroker(t, dir, env);
  const url = await first.started();
  assert.match(first.out(), /^AgentWrit broker v2\.0\.0 listening on 127\.0\.0\.1:\d+$/m);
  assert.match(
    first.out(),
    /\[AA:BROKER:WARN\] .* \| main \| Running in development mode -- admin secret stored in plaintext/,
  );
  assert.equal(statSync(join(dir, 'signing.key')).mode & 0o777, 0o600);

  const admin = (await request(url, '/v1/admin/auth', { body: { secret: ADMIN_SECRET } })).json.access_token as string;
  const mkLaunch = async (): Promise<string> =>
    (
      await request(url, '/v1/admin/launch-tokens', {
        token: admin,
        body: { agent_name: 'a', allowed_scope: ['read:data:*'], ttl: 600 },
      })
    ).json.launch_token;
  const lt1 = await mkLaunch();
  const unused = await mkLaunch();
  const agent = await registerWith({ req: (p, o) => request(url, p, o) }, lt1);
  const rev = await request(url, '/v1/revoke', { token: admin, body: { level: 'task', target: 'doomed-task' } });
  assert.equal(rev.status, 200);

  first.child.kill('SIGTERM');
  assert.equal(await first.exited, 0, first.err());
  assert.match(first.out(), /Shutting down gracefully \(signal: terminated\)\.\.\./);
  assert.match(first.out(), /\| shutdown \| clean exit/);

  const second = launchBroker(t, dir, env);
  const url2 = await second.started();
  // Tokens stay valid (same key), the agent can still be delegated to, the unused launch token still works,
  // the revocation is still in force, and the audit trail continues its numbering.
  const v = await request(url2, '/v1/token/validate', { body: { token: agent.token } });
  assert.equal(v.json.valid, true);
  const other = await registerWith({ req: (p, o) => request(url2, p, o) }, unused);
  const d = await request(url2, '/v1/delegate', {
    token: other.token,
    body: { delegate_to: agent.agentId, scope: ['read:data:x'] },
  });
  assert.equal(d.status, 200, d.text);
  const doomed = await registerWith(
    { req: (p, o) => request(url2, p, o) },
    await (async () => {
      const a2 = (await request(url2, '/v1/admin/auth', { body: { secret: ADMIN_SECRET } })).json
        .access_token as string;
      return (
        await request(url2, '/v1/admin/launch-tokens', {
          token: a2,
          body: { agent_name: 'a', allowed_scope: ['read:data:*'] },
        })
      ).json.launch_token as string;
    })(),
    { task: 'doomed-task' },
  );
  assert.equal((await request(url2, '/v1/token/validate', { body: { token: doomed.token } })).json.valid, false);
  const reused = await registerWith({ req: (p, o) => request(url2, p, o) }, lt1).then(
    () => 'registered',
    (e: Error) => e.message,
  );
  assert.match(reused, /launch token already consumed/);
  const admin2 = (await request(url2, '/v1/admin/auth', { body: { secret: ADMIN_SECRET } })).json
    .access_token as string;
  const all = await request(url2, '/v1/audit/events?limit=1000', { token: admin2 });
  const ids = all.json.events as Array<{ id: string; prev_hash: string; hash: string }>;
  ids.forEach((e, i) => {
    assert.equal(e.id, `evt-${String(i + 1).padStart(6, '0')}`);
    if (i > 0) assert.equal(e.prev_hash, ids[i - 1]?.hash);
  });

  second.child.kill('SIGINT');
  assert.equal(await second.exited, 0);
  assert.match(second.out(), /signal: interrupt/);
});
