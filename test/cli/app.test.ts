/** awrit app … against a real broker: output, JSON, exit codes and the broker state each command changes. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ADMIN_SECRET, startTestBroker, type TestBroker } from '../helpers/broker.js';
import { awrit, errorLine } from './awrit.js';

// One broker for the file; the tests run in order and each names its own apps.
let b: TestBroker;
before(async () => {
  b = await startTestBroker(null);
});
after(() => b.stop());

test('app register, list, get, update, remove', async () => {
  // A trailing slash on the URL must not produce `//v1/...`.
  const env = { AACTL_BROKER_URL: `${b.url}/`, AACTL_ADMIN_SECRET: ADMIN_SECRET };
  const admin = await b.adminToken();

  const reg = await awrit(
    [
      'app',
      'register',
      '--name',
      'weather-bot',
      '--scopes',
      'read:weather:*, write:weather:alerts',
      '--token-ttl',
      '600',
    ],
    { env },
  );
  assert.equal(reg.code, 0, reg.stderr);
  const rows = new Map(
    reg.stdout
      .trimEnd()
      .split('\n')
      .slice(1)
      .map((l) => l.split(/\s{2,}/) as [string, string]),
  );
  assert.match(reg.stdout, /^FIELD {10}VALUE\n/);
  const appId = rows.get('APP_ID') ?? '';
  assert.match(appId, /^app-weather-bot-[0-9a-f]{6}$/);
  assert.match(rows.get('CLIENT_SECRET') ?? '', /^[0-9a-f]{64}$/);
  // Scopes are trimmed before they are sent.
  assert.equal(rows.get('SCOPES'), 'read:weather:*, write:weather:alerts');
  assert.equal(rows.get('TOKEN_TTL'), '600s');
  assert.equal(reg.stderr, '\nWARNING: Save the client_secret — it cannot be retrieved again.\n');
  const stored = await b.req(`/v1/admin/apps/${appId}`, { token: admin });
  assert.equal(stored.status, 200);
  assert.deepEqual(stored.json.scopes, ['read:weather:*', 'write:weather:alerts']);
  const appAuth = await b.req('/v1/app/auth', {
    body: { client_id: rows.get('CLIENT_ID'), client_secret: rows.get('CLIENT_SECRET') },
  });
  assert.equal(appAuth.status, 200, 'the printed credentials work');

  const regJson = await awrit(['--json', 'app', 'register', '--name', 'news-bot', '--scopes', 'read:news:*'], { env });
  assert.equal(regJson.code, 0, regJson.stderr);
  assert.equal(regJson.stderr, '');
  assert.ok(regJson.stdout.endsWith('}\n') && !regJson.stdout.endsWith('\n\n'));
  const created = JSON.parse(regJson.stdout);
  assert.equal(created.name, 'news-bot');
  assert.equal(created.status, 'active');
  assert.equal(created.token_ttl, 1800);

  const list = await awrit(['app', 'list'], { env });
  assert.equal(list.code, 0, list.stderr);
  const lines = list.stdout.trimEnd().split('\n');
  assert.match(lines[0] ?? '', /^NAME +APP_ID +CLIENT_ID +STATUS +SCOPES +TOKEN_TTL +CREATED$/);
  assert.equal(lines.length, 3);
  // Columns line up: every row has its APP_ID where the header has it.
  const col = (lines[0] ?? '').indexOf('APP_ID');
  for (const l of lines.slice(1)) assert.match(l.slice(col), /^app-/);
  assert.ok(
    lines.some((l) => l.includes(appId) && l.includes('read:weather:*,write:weather:alerts') && l.includes('600s')),
  );
  assert.equal(list.stderr, 'Total: 2\n');
  assert.ok(
    lines.every((l) => l === l.trimEnd()),
    'no trailing spaces',
  );

  const get = await awrit(['app', 'get', appId, '--json'], { env });
  assert.equal(get.code, 0, get.stderr);
  assert.equal(JSON.parse(get.stdout).app_id, appId);
  const getTable = await awrit(['app', 'get', appId], { env });
  assert.match(getTable.stdout, /^STATUS +active$/m);
  assert.match(getTable.stdout, /^NAME +weather-bot$/m);

  const upd = await awrit(['app', 'update', '--id', appId, '--scopes', ' read:weather:berlin ', '--token-ttl', '900'], {
    env,
  });
  assert.equal(upd.code, 0, upd.stderr);
  assert.match(upd.stdout, /^APP_ID +SCOPES +TOKEN_TTL +UPDATED_AT\n/);
  assert.match(upd.stdout, new RegExp(`^${appId} +read:weather:berlin +900s +\\d{4}-`, 'm'));
  const after = await b.req(`/v1/admin/apps/${appId}`, { token: admin });
  assert.deepEqual(after.json.scopes, ['read:weather:berlin']);
  assert.equal(after.json.token_ttl, 900);

  const rm = await awrit(['app', 'remove', '--id', appId], { env });
  assert.equal(rm.code, 0, rm.stderr);
  assert.match(
    rm.stdout,
    new RegExp(`^APP_ID +STATUS +DEREGISTERED_AT\\n${appId} +inactive +\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ\\n$`),
  );
  assert.equal(rm.stderr, 'App deregistered. The record is retained; credentials are revoked.\n');
  const gone = await b.req(`/v1/admin/apps/${appId}`, { token: admin });
  assert.equal(gone.json.status, 'inactive');
});

test('app errors: refusals are one stderr line with exit 1, usage mistakes exit 2 before any request', async () => {
  const env = { AACTL_BROKER_URL: b.url, AACTL_ADMIN_SECRET: ADMIN_SECRET };
  const admin = await b.adminToken();
  const appsBefore = (await b.req('/v1/admin/apps', { token: admin })).json.total as number;
  const first = await awrit(['app', 'register', '--name', 'dup-bot', '--scopes', 'read:x:*'], { env });
  assert.equal(first.code, 0, first.stderr);

  const [dup, missing, badTtl, escaped, wrongSecret] = await Promise.all([
    awrit(['app', 'register', '--name', 'dup-bot', '--scopes', 'read:x:*'], { env }),
    awrit(['app', 'get', 'app-nope-000000'], { env }),
    awrit(['app', 'register', '--name', 'ttl-bot', '--scopes', 'read:x:*', '--token-ttl', '5'], { env }),
    // Escaped as one path segment: the broker sees the id, not another route.
    awrit(['app', 'get', '../apps'], { env }),
    awrit(['app', 'list'], { env: { ...env, AACTL_ADMIN_SECRET: 'not-the-secret' } }),
  ]);
  assert.equal(dup.code, 1);
  assert.match(
    errorLine(dup),
    /^awrit: broker refused \(409 conflict\): app name already exists: dup-bot \[request_id=[0-9a-f]+\]$/,
  );
  assert.equal(dup.stdout, '');
  assert.equal(missing.code, 1);
  assert.match(errorLine(missing), /^awrit: broker refused \(404 not_found\): app not found/);
  assert.equal(badTtl.code, 1);
  assert.match(
    errorLine(badTtl),
    /\(400 invalid_ttl\): invalid token TTL: must be between 60 and 86400 seconds, got 5/,
  );
  assert.equal(escaped.code, 1);
  assert.match(errorLine(escaped), /404 not_found\): app not found/);
  assert.equal(wrongSecret.code, 1);
  assert.match(
    errorLine(wrongSecret),
    /^awrit: admin authentication: broker refused \(401 unauthorized\): invalid credentials/,
  );
  assert.ok(!wrongSecret.stderr.includes('not-the-secret'));

  const usage = await Promise.all([
    awrit(['app', 'register', '--scopes', 'a:b:c'], { env }),
    awrit(['app', 'register', '--name', 'x-bot', '--scopes', 'a:b:c', '--token-ttl', 'ten'], { env }),
    awrit(['app', 'update', '--id', 'app-x'], { env }),
    awrit(['app', 'get'], { env }),
    awrit(['app', 'list', '--bogus'], { env }),
    awrit(['app', 'frobnicate'], { env }),
    awrit(['app', 'list'], { env: { AACTL_ADMIN_SECRET: ADMIN_SECRET } }),
    awrit(['app', 'list'], { env: { AACTL_BROKER_URL: b.url } }),
  ]);
  const messages = usage.map((r) => {
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stdout, '');
    return errorLine(r);
  });
  assert.deepEqual(messages, [
    "awrit: --name is required (see 'awrit app register --help')",
    `awrit: --token-ttl must be an integer, got "ten" (see 'awrit app register --help')`,
    "awrit: at least one of --scopes or --token-ttl is required (see 'awrit app update --help')",
    "awrit: missing argument APP_ID (see 'awrit app get --help')",
    "awrit: unknown flag --bogus (see 'awrit app list --help')",
    `awrit: unknown command "app frobnicate" (see 'awrit app --help')`,
    'awrit: AACTL_BROKER_URL is not set (e.g. export AACTL_BROKER_URL=https://broker.example:8080)',
    'awrit: AACTL_ADMIN_SECRET is not set (export it from your secrets manager; awrit init prints one)',
  ]);
  // None of the usage errors reached the broker: only the one successful register created an app.
  const apps = await b.req('/v1/admin/apps', { token: admin });
  assert.equal(apps.json.total, appsBefore + 1);
});
