/** awrit revoke, token release, audit events and audit verify against a real broker. */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ADMIN_SECRET, startTestBroker, type TestBroker } from '../helpers/broker.js';
import { type AwritResult, awrit, errorLine } from './awrit.js';

const SQLITE = 'sqlite3'; // from PATH

// The first two tests share a broker; each uses its own agents and tasks.
let b: TestBroker;
before(async () => {
  b = await startTestBroker(null);
});
after(() => b.stop());

test('revoke and token release change what the broker accepts', async () => {
  const env = { AACTL_BROKER_URL: b.url, AACTL_ADMIN_SECRET: ADMIN_SECRET };
  const [a1, a2] = [await b.registerAgent({ task: 'task-r1' }), await b.registerAgent({ task: 'task-r2' })];
  const valid = async (token: string): Promise<boolean> =>
    (await b.req('/v1/token/validate', { body: { token } })).json.valid as boolean;

  const rev = await awrit(['revoke', '--level', 'agent', '--target', a1.agentId], { env });
  assert.equal(rev.code, 0, rev.stderr);
  assert.equal(
    rev.stdout,
    `REVOKED  LEVEL  TARGET${' '.repeat(a1.agentId.length - 4)}COUNT\ntrue     agent  ${a1.agentId}  1\n`,
  );
  assert.equal(await valid(a1.token), false);
  assert.equal(await valid(a2.token), true);

  const revJson = await awrit(['revoke', '--json', '--level=task', '--target=task-r2'], { env });
  assert.equal(revJson.code, 0, revJson.stderr);
  assert.deepEqual(JSON.parse(revJson.stdout), { revoked: true, level: 'task', target: 'task-r2', count: 1 });
  assert.equal(await valid(a2.token), false);

  const badLevel = await awrit(['revoke', '--level', 'everything', '--target', 'x'], { env });
  assert.equal(badLevel.code, 2);
  assert.equal(
    errorLine(badLevel),
    `awrit: --level must be one of token, agent, task, chain, got "everything" (see 'awrit revoke --help')`,
  );

  // Release needs the broker URL only; a second release of the same token succeeds too.
  const a3 = await b.registerAgent({ task: 'task-r3' });
  const relEnv = { AACTL_BROKER_URL: b.url };
  const rel1 = await awrit(['token', 'release', '--token', a3.token], { env: relEnv });
  assert.equal(rel1.code, 0, rel1.stderr);
  assert.equal(rel1.stdout, 'Token released successfully.\n');
  assert.equal(await valid(a3.token), false);
  const rel2 = await awrit(['token', 'release', '--token', '-', '--json'], { env: relEnv, input: `${a3.token}\n` });
  assert.equal(rel2.code, 0, rel2.stderr);
  assert.deepEqual(JSON.parse(rel2.stdout), { released: true });
  const relBad = await awrit(['token', 'release', '--token', 'not.a.jwt'], { env: relEnv });
  assert.equal(relBad.code, 1);
  assert.match(errorLine(relBad), /^awrit: broker refused \(401 unauthorized\): token verification failed/);
  assert.ok(!relBad.stderr.includes('not.a.jwt'), 'the token is never echoed');
});

test('audit events: every filter, paging, table and JSON', async () => {
  const env = { AACTL_BROKER_URL: b.url, AACTL_ADMIN_SECRET: ADMIN_SECRET };
  const agent = await b.registerAgent({ task: 'task-a' });
  const admin = await b.adminToken();
  await b.req('/v1/revoke', { token: admin, body: { level: 'task', target: 'task-zz' } });
  await b.req('/v1/audit/events', { token: 'garbage' }); // a denied event, the latest token_auth_failed

  const all = await awrit(['audit', 'events', '--json', '--limit', '1000'], { env });
  assert.equal(all.code, 0, all.stderr);
  const events = JSON.parse(all.stdout).events as Record<string, unknown>[];
  const total = events.length;
  assert.ok(total >= 8);
  const mid = events[3]?.timestamp as string;
  const authFailures = events.filter((e) => e.event_type === 'token_auth_failed').length;

  // Two rounds of four: the broker allows admin authentication in bursts of 10 per address.
  const [byType, byAgent, byTask, denied] = await Promise.all([
    awrit(['audit', 'events', '--json', '--event-type', 'token_revoked'], { env }),
    awrit(['audit', 'events', '--json', '--agent-id', agent.agentId], { env }),
    awrit(['audit', 'events', '--json', '--task-id', 'task-a'], { env }),
    awrit(['audit', 'events', '--json', '--outcome', 'denied'], { env }),
  ]);
  const [since, until, page, table] = await Promise.all([
    awrit(['audit', 'events', '--json', '--since', mid], { env }),
    awrit(['audit', 'events', '--json', '--until', mid], { env }),
    awrit(['audit', 'events', '--json', '--limit', '2', '--offset', '1'], { env }),
    awrit(['audit', 'events', '--event-type', 'token_auth_failed', '--offset', String(authFailures - 1)], { env }),
  ]);
  interface Event {
    id: string;
    timestamp: string;
    event_type: string;
    task_id?: string;
    outcome?: string;
    detail: string;
  }
  interface Page {
    events: Event[];
    total: number;
    offset: number;
    limit: number;
  }
  const parse = (r: AwritResult): Page => {
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as Page;
  };
  const types = (p: Page): string[] => p.events.map((e) => e.event_type);
  assert.deepEqual(
    parse(byType).events.map((e) => e.detail),
    events.filter((e) => e.event_type === 'token_revoked').map((e) => e.detail),
  );
  assert.ok(types(parse(byType)).every((ty) => ty === 'token_revoked'));
  assert.deepEqual(types(parse(byAgent)), ['agent_registered', 'token_issued']);
  const task = parse(byTask).events;
  assert.ok(task.length >= 1 && task.every((e) => e.task_id === 'task-a'));
  assert.ok(types(parse(denied)).includes('token_auth_failed'));
  assert.ok(parse(denied).events.every((e) => e.outcome === 'denied'));
  assert.equal(parse(since).events[0]?.timestamp, mid);
  assert.equal(parse(until).events.at(-1)?.timestamp, mid);
  const p = parse(page);
  assert.deepEqual({ offset: p.offset, limit: p.limit, n: p.events.length }, { offset: 1, limit: 2, n: 2 });
  assert.equal(p.events[0]?.id, 'evt-000002');

  assert.equal(table.code, 0, table.stderr);
  const lines = table.stdout.trimEnd().split('\n');
  assert.match(lines[0] ?? '', /^ID +TIMESTAMP +EVENT TYPE +AGENT ID +OUTCOME +DETAIL$/);
  assert.match(
    lines[1] ?? '',
    /^evt-\d{6} +\S+Z +token_auth_failed +denied +token verification failed: invalid token format \| path=\/v\.\.\.$/,
  );
  assert.equal(table.stderr, `Showing 1 of ${authFailures} events (offset=${authFailures - 1}, limit=100)\n`);

  const bad = await Promise.all([
    awrit(['audit', 'events', '--since', 'yesterday'], { env }),
    awrit(['audit', 'events', '--outcome', 'maybe'], { env }),
  ]);
  assert.deepEqual(
    bad.map((r) => r.code),
    [2, 2],
  );
  assert.match(errorLine(bad[0] as AwritResult), /--since must be an RFC 3339 time/);
});

test('audit verify: an intact chain, then a database row altered behind the broker', async (t) => {
  const b = await startTestBroker(t, { keepDir: true });
  const env = { AACTL_BROKER_URL: b.url, AACTL_ADMIN_SECRET: ADMIN_SECRET };
  await b.registerAgent();
  const ok = await awrit(['audit', 'verify'], { env });
  assert.equal(ok.code, 0, ok.stderr);
  const m = /^verified (\d+) events; chain intact \(head ([0-9a-f]{64})\)\n$/.exec(ok.stdout);
  assert.ok(m, ok.stdout);
  const check = await b.req('/v1/audit/events?limit=1000', { token: await b.adminToken() });
  const last = check.json.events.at(-1 - (check.json.total - Number(m[1])));
  assert.equal(m[2], last.hash, 'the head is the hash of the last event verified');

  if (spawnSync(SQLITE, ['-version']).status !== 0) {
    t.skip('sqlite3 shell not installed');
    return;
  }
  await b.stop();
  execFileSync(SQLITE, [
    join(b.dir, 'data.db'),
    "UPDATE audit_events SET detail='nothing happened' WHERE id='evt-000003'",
  ]);
  const b2 = await startTestBroker(t, { dir: b.dir });
  const env2 = { AACTL_BROKER_URL: b2.url, AACTL_ADMIN_SECRET: ADMIN_SECRET };
  const [broken, brokenJson] = await Promise.all([
    awrit(['audit', 'verify'], { env: env2 }),
    awrit(['audit', 'verify', '--json'], { env: env2 }),
  ]);
  assert.equal(broken.code, 1);
  assert.match(
    broken.stdout,
    /^chain broken at evt-000003: expected hash [0-9a-f]{64}, found [0-9a-f]{64} \(the event was altered\)\n$/,
  );
  assert.equal(brokenJson.code, 1);
  const j = JSON.parse(brokenJson.stdout);
  assert.equal(j.intact, false);
  assert.equal(j.broken_at, 'evt-000003');
  assert.equal(j.field, 'hash');
  assert.equal(j.verified, 2);
});
