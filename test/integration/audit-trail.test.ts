/**
 * The audit trail beyond the database, through a real broker: retention by age (the clock driven) into gzip
 * segments, the anchor, verification of archives + database end to end and of tampered archives, a restart in the
 * middle of an archive run, and a JSONL audit log whose disk fails and recovers.
 */
import assert from 'node:assert/strict';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { listSegments, readSegment, writeSegment } from '../../src/services/audit-segments.js';
import { openStore } from '../../src/store/index.js';
import { awrit } from '../cli/awrit.js';
import { ADMIN_SECRET, startTestBroker, type TestBroker } from '../helpers/broker.js';

const HOUR = 3_600_000;

function trailDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'awb-trail-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const trailEnv = (dir: string): Record<string, string> => ({
  AA_AUDIT_RETENTION: '1h',
  AA_AUDIT_ARCHIVE_DIR: join(dir, 'archive'),
  AA_AUDIT_LOG_PATH: join(dir, 'audit.jsonl'),
});

/** The ids in a JSONL file, in file order. */
const logIds = (path: string): string[] =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => (JSON.parse(l) as { id: string }).id);

const seqs = (n: number): string[] => Array.from({ length: n }, (_, i) => `evt-${String(i + 1).padStart(6, '0')}`);

async function dbIds(b: TestBroker): Promise<{ ids: string[]; json: Record<string, unknown> }> {
  const r = await b.req('/v1/audit/events?limit=1000', { token: await b.adminToken() });
  return { ids: (r.json.events as Array<{ id: string }>).map((e) => e.id), json: r.json };
}

async function archivedIds(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const s of await listSegments(dir))
    for (const l of await readSegment(s.path)) out.push((l as { id: string }).id);
  return out;
}

test('retention by age: segments, anchor, health, query and verification end to end', async (t) => {
  const dir = trailDir(t);
  let now = Date.now();
  const b = await startTestBroker(t, { dir, keepDir: true, env: trailEnv(dir), clock: () => now });
  const env = { AACTL_BROKER_URL: b.url, AACTL_ADMIN_SECRET: ADMIN_SECRET };
  const archive = join(dir, 'archive');

  // Nothing is old yet: a run archives nothing.
  await b.registerAgent();
  const admin = await b.adminToken();
  const none = await b.req('/v1/admin/audit/archive', { method: 'POST', token: admin });
  assert.equal(none.status, 200, none.text);
  assert.deepEqual(none.json, { archived: 0, segments: [], archived_through: null, more: false });

  // Three runs, each after the clock moved past the retention: three segments in chain order.
  for (let round = 0; round < 3; round++) {
    await b.launchToken();
    now += 2 * HOUR;
    if (round === 0) {
      const r = await awrit(['audit', 'archive'], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^archived \d+ events into 1 segments; the database now starts after evt-\d{6}\n$/);
    } else {
      const r = await b.req('/v1/admin/audit/archive', { method: 'POST', token: await b.adminToken() });
      assert.equal(r.status, 200, r.text);
      assert.ok((r.json.archived as number) > 0);
      assert.equal((r.json.segments as string[]).length, 1);
    }
  }
  const segments = await listSegments(archive);
  assert.equal(segments.length, 3);
  for (const [i, s] of segments.entries()) if (i > 0) assert.equal(s.first, (segments[i - 1]?.last ?? 0) + 1);
  const anchorSeq = segments[2]!.last;

  const { ids, json } = await dbIds(b);
  assert.equal(ids[0], `evt-${String(anchorSeq + 1).padStart(6, '0')}`, 'the database starts right after the anchor');
  const anchor = json.archived_through as { id: string; hash: string };
  assert.equal(anchor.id, `evt-${String(anchorSeq).padStart(6, '0')}`);
  const archived = await archivedIds(archive);
  const head = anchorSeq + ids.length;
  assert.deepEqual([...archived, ...ids], seqs(head), 'archives + database hold every event exactly once');
  const health = await b.req('/v1/health');
  assert.equal(health.json.audit_events_count, ids.length, 'health counts the events in the database');
  assert.equal(health.json.audit_log, 'ok');

  const [dbOnly, whole] = await Promise.all([
    awrit(['audit', 'verify'], { env }),
    awrit(['audit', 'verify', '--archive', archive], { env }),
  ]);
  assert.equal(dbOnly.code, 0, dbOnly.stderr);
  assert.match(
    dbOnly.stdout,
    new RegExp(
      `^verified \\d+ events in the database from the archive anchor ${anchor.id} \\(earlier events are archived`,
    ),
  );
  assert.equal(whole.code, 0, whole.stderr);
  assert.match(
    whole.stdout,
    new RegExp(
      `^verified \\d+ events from the genesis \\(${anchorSeq} in 3 archive segments, \\d+ in the database\\); chain intact`,
    ),
  );

  // Tampering: an edited line, a missing segment, two segments swapped.
  const copy = (name: string): string => {
    const to = join(dir, name);
    cpSync(archive, to, { recursive: true });
    return to;
  };
  const edited = copy('edited');
  const mid = segments[1]!;
  const lines = gunzipSync(readFileSync(join(edited, mid.name)))
    .toString('utf8')
    .split('\n');
  lines[1] = lines[1]!.replace(/"detail":"[^"]*"/, '"detail":"nothing happened"');
  writeFileSync(join(edited, mid.name), gzipSync(lines.join('\n')));
  const missing = copy('missing');
  unlinkSync(join(missing, mid.name));
  const swapped = copy('swapped');
  renameSync(join(swapped, segments[0]!.name), join(swapped, 'x'));
  renameSync(join(swapped, mid.name), join(swapped, segments[0]!.name));
  renameSync(join(swapped, 'x'), join(swapped, mid.name));
  const [e, m, s] = await Promise.all([
    awrit(['audit', 'verify', '--archive', edited, '--json'], { env }),
    awrit(['audit', 'verify', '--archive', missing], { env }),
    awrit(['audit', 'verify', '--archive', swapped], { env }),
  ]);
  assert.equal(e.code, 1, e.stdout);
  const ej = JSON.parse(e.stdout);
  assert.deepEqual(
    [ej.intact, ej.field, ej.broken_at, ej.where],
    [false, 'hash', `evt-${String(mid.first + 1).padStart(6, '0')}`, `archive segment ${mid.name}, line 2`],
  );
  assert.equal(m.code, 1);
  assert.match(
    m.stdout,
    new RegExp(
      `^chain broken at evt-${String(segments[2]!.first).padStart(6, '0')}: expected event evt-${String(mid.first).padStart(6, '0')} here`,
    ),
  );
  assert.equal(s.code, 1);
  assert.match(s.stdout, /^chain broken at evt-\d+: expected event evt-000001 here .*\[archive segment /);

  // Housekeeping archives too; with every row gone the chain continues from the anchor, also after a restart.
  now += 2 * HOUR;
  await b.handle.housekeep();
  assert.equal((await b.req('/v1/health')).json.audit_events_count, 0);
  await b.stop();
  // A line torn by a crash is cut off at the next start and written again whole.
  writeFileSync(join(dir, 'audit.jsonl'), `${readFileSync(join(dir, 'audit.jsonl'), 'utf8')}{"id":"evt-0`);
  const b2 = await startTestBroker(t, { dir, keepDir: true, env: trailEnv(dir), clock: () => now });
  assert.ok(
    b2.logs.some((l) => l.includes('audit log ended with a partial line')),
    b2.logs.join('\n'),
  );
  const after = await dbIds(b2);
  const last = (await listSegments(archive)).at(-1)!;
  assert.equal(after.ids[0], `evt-${String(last.last + 1).padStart(6, '0')}`);
  const lastArchived = (await readSegment(last.path)).at(-1) as { hash: string };
  const firstAfter = (await b2.req('/v1/audit/events?limit=1', { token: await b2.adminToken() })).json.events[0];
  assert.equal(firstAfter.prev_hash, lastArchived.hash, 'the chain continues from the archived head');
  const again = await awrit(['audit', 'verify', '--archive', archive], { env: { ...env, AACTL_BROKER_URL: b2.url } });
  assert.equal(again.code, 0, again.stdout);

  // The JSONL log holds every event exactly once, archived ones included.
  // Reading the ids authenticates (an audited event), so the log is flushed after that read, not before it.
  const total = (await dbIds(b2)).ids.at(-1)!;
  await b2.handle.services.auditFile?.flush();
  assert.deepEqual(logIds(join(dir, 'audit.jsonl')), seqs(Number(total.slice(4))));
});

test('a restart in the middle of an archive run loses and duplicates nothing', async (t) => {
  const dir = trailDir(t);
  const archive = join(dir, 'archive');
  const b = await startTestBroker(t, { dir, keepDir: true, env: trailEnv(dir) });
  for (let i = 0; i < 3; i++) await b.launchToken();
  await b.stop();

  // The state a crash leaves between "segment durable" and "rows deleted": a segment whose rows are still in the
  // database, and the temp file of a write that never finished.
  const store = await openStore({ path: join(dir, 'data.db') });
  const rows = await store.auditRange(0, 5);
  await store.close();
  const seg = await writeSegment(archive, rows);
  writeFileSync(join(archive, 'audit-000000000011-000000000020.jsonl.gz.tmp'), 'partial');

  // A segment that does not hold those rows is refused, and nothing is deleted.
  const good = readFileSync(seg.path);
  const forged = gunzipSync(good)
    .toString('utf8')
    .replace(/"hash":"[0-9a-f]{64}"/, `"hash":"${'0'.repeat(64)}"`);
  writeFileSync(seg.path, gzipSync(forged));
  const refused = await startTestBroker(t, { dir, keepDir: true, env: trailEnv(dir) });
  assert.ok(
    refused.logs.some((l) => l.includes('audit archive check failed') && l.includes('does not match the database')),
    refused.logs.join('\n'),
  );
  assert.equal((await dbIds(refused)).ids[0], 'evt-000001');
  const run = await refused.req('/v1/admin/audit/archive', { method: 'POST', token: await refused.adminToken() });
  assert.equal(run.status, 500);
  await refused.stop();

  writeFileSync(seg.path, good);
  const b2 = await startTestBroker(t, { dir, keepDir: true, env: trailEnv(dir) });
  assert.ok(
    b2.logs.some((l) => l.includes('completed an interrupted audit archive run')),
    b2.logs.join('\n'),
  );
  assert.deepEqual(readdirSync(archive), [seg.name], 'the temp file is gone');
  const { ids, json } = await dbIds(b2);
  assert.equal((json.archived_through as { id: string }).id, 'evt-000005');
  assert.deepEqual([...(await archivedIds(archive)), ...ids], seqs(Number(ids.at(-1)!.slice(4))));
  const v = await awrit(['audit', 'verify', '--archive', archive], {
    env: { AACTL_BROKER_URL: b2.url, AACTL_ADMIN_SECRET: ADMIN_SECRET },
  });
  assert.equal(v.code, 0, v.stdout);
});

test('a failing audit log file: requests succeed, health and metrics say so, the log catches up once writable', async (t) => {
  if (!existsSync('/dev/full')) return t.skip('no /dev/full here');
  const dir = trailDir(t);
  const path = join(dir, 'audit.jsonl');
  const b = await startTestBroker(t, { dir, keepDir: true, env: { AA_AUDIT_LOG_PATH: path } });
  await b.registerAgent();
  await b.handle.services.auditFile?.flush();
  const before = logIds(path);
  assert.deepEqual(before, seqs(before.length));

  // Writes now land on a device that is always full.
  renameSync(path, `${path}.1`);
  symlinkSync('/dev/full', path);
  await b.handle.reopenAuditLog();
  const agent = await b.registerAgent();
  assert.ok(agent.token, 'requests still succeed');
  await b.handle.services.auditFile?.flush();
  const health = await b.req('/v1/health');
  assert.equal(health.status, 200);
  assert.equal(health.json.audit_log, 'failing');
  assert.ok(
    b.logs.some((l) => l.includes('audit log write failed') && l.includes('ENOSPC')),
    b.logs.join('\n'),
  );
  const metrics = (await b.req('/v1/metrics')).text;
  assert.match(metrics, /^agentwrit_audit_log_write_errors_total [1-9]\d*$/m);

  // Space returns (a real file again): the retry writes everything missed, once.
  unlinkSync(path);
  await b.handle.services.auditFile?.retry();
  assert.equal((await b.req('/v1/health')).json.audit_log, 'ok');
  const head = Number((await dbIds(b)).ids.at(-1)!.slice(4));
  await b.handle.services.auditFile?.flush();
  assert.deepEqual([...before, ...logIds(path)], seqs(head));
});
