/** awrit key rotate|list against a real broker: output, JSON, the keys it changes, and its exit codes. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ADMIN_SECRET, jwtHeader, startTestBroker, type TestBroker } from '../helpers/broker.js';
import { awrit, errorLine } from './awrit.js';

let b: TestBroker;
before(async () => {
  b = await startTestBroker(null);
});
after(() => b.stop());

test('key list, key rotate, key rotate --revoke-previous', async () => {
  const env = { AACTL_BROKER_URL: b.url, AACTL_ADMIN_SECRET: ADMIN_SECRET };
  const first = b.handle.services.tokens.kid;
  const agent = await b.registerAgent();

  const list = await awrit(['key', 'list'], { env });
  assert.equal(list.code, 0, list.stderr);
  const lines = list.stdout.trimEnd().split('\n');
  assert.match(lines[0] ?? '', /^KID +STATE +CREATED +ROTATED +RETIRE_AT +RETIRED$/);
  assert.match(lines[1] ?? '', new RegExp(`^${first} +active +\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ +- +- +-$`));
  assert.equal(list.stderr, 'Total: 1\n');

  const rot = await awrit(['key', 'rotate'], { env });
  assert.equal(rot.code, 0, rot.stderr);
  const second = b.handle.services.tokens.kid;
  assert.notEqual(second, first);
  const rows = rot.stdout
    .trimEnd()
    .split('\n')
    .slice(1)
    .map((l) => l.split(/ +/));
  assert.deepEqual(
    rows.map((r) => [r[0], r[1]]),
    [
      [second, 'active'],
      [first, 'retiring'],
    ],
  );
  assert.equal(rot.stderr, 'Tokens signed by a retiring key keep verifying until RETIRE_AT.\n');
  assert.equal((await b.req('/v1/token/validate', { body: { token: agent.token } })).json.valid, true);

  const listJson = await awrit(['key', 'list', '--json'], { env });
  assert.equal(listJson.code, 0, listJson.stderr);
  assert.equal(listJson.stderr, '');
  const listed = JSON.parse(listJson.stdout);
  assert.equal(listed.total, 2);
  assert.deepEqual(
    listed.keys.map((k: { kid: string; state: string }) => [k.kid, k.state]),
    [
      [second, 'active'],
      [first, 'retiring'],
    ],
  );

  const revoke = await awrit(['--json', 'key', 'rotate', '--revoke-previous'], { env });
  assert.equal(revoke.code, 0, revoke.stderr);
  const body = JSON.parse(revoke.stdout);
  assert.equal(body.kid, b.handle.services.tokens.kid);
  assert.deepEqual(
    body.previous.map((k: { state: string }) => k.state),
    ['retired', 'retired'],
  );
  assert.equal((await b.req('/v1/token/validate', { body: { token: agent.token } })).json.valid, false);
  assert.equal(jwtHeader(await b.adminToken()).kid, body.kid);
});

test('key commands: missing admin secret (2), unknown flag (2), broker down (3), refused (1)', async () => {
  const noSecret = await awrit(['key', 'rotate'], { env: { AACTL_BROKER_URL: b.url } });
  assert.equal(noSecret.code, 2);
  assert.match(errorLine(noSecret), /^awrit: AACTL_ADMIN_SECRET is not set/);

  const badFlag = await awrit(['key', 'list', '--revoke-previous'], {
    env: { AACTL_BROKER_URL: b.url, AACTL_ADMIN_SECRET: ADMIN_SECRET },
  });
  assert.equal(badFlag.code, 2);
  assert.match(errorLine(badFlag), /--revoke-previous.*\(see 'awrit key list --help'\)$/);

  const before = b.handle.services.keys.list().length;
  const down = await awrit(['key', 'rotate'], {
    env: { AACTL_BROKER_URL: 'http://127.0.0.1:1', AACTL_ADMIN_SECRET: ADMIN_SECRET },
  });
  assert.equal(down.code, 3);
  assert.match(errorLine(down), /^awrit: cannot reach broker at http:\/\/127\.0\.0\.1:1/);

  const wrong = await awrit(['key', 'list'], {
    env: { AACTL_BROKER_URL: b.url, AACTL_ADMIN_SECRET: 'not-the-secret-0123456789abcdef' },
  });
  assert.equal(wrong.code, 1);
  assert.match(errorLine(wrong), /401/);
  assert.equal(b.handle.services.keys.list().length, before, 'no failed command rotated');
});
