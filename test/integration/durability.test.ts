/**
 * Durability through the real broker: what a 201 acknowledged survives `kill -9` at a random instant, the file
 * left behind passes SQLite's integrity check, a corrupt journal refuses to start, and a full disk fails requests
 * (500, health 503) until space returns.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ADMIN_SECRET, startTestBroker } from '../helpers/broker.js';
import { launchBroker } from '../helpers/broker-process.js';
import { request } from '../helpers/http.js';

const hasSqlite3 = spawnSync('sqlite3', ['-version']).status === 0;

async function adminToken(url: string): Promise<string> {
  return (await request(url, '/v1/admin/auth', { body: { secret: ADMIN_SECRET } })).json.access_token as string;
}

test('kill -9 at random instants never loses an acknowledged write', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'awb-kill-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const acknowledged: string[] = [];
  for (let round = 0; round < 3; round++) {
    const p = launchBroker(t, dir, { AA_ADMIN_SECRET: ADMIN_SECRET });
    const url = await p.started();
    const admin = await adminToken(url);
    let stop = false;
    // The kill lands at a random point of the write stream, 8-23 acknowledged writes into the round, with the other
    // writers' requests in flight: the same test on a fast machine and on a busy one.
    const killAt = acknowledged.length + 8 + Math.floor(Math.random() * 16);
    let reached = (): void => undefined;
    const killPoint = new Promise<void>((resolve) => (reached = resolve));
    const writer = async (w: number): Promise<void> => {
      for (let i = 0; !stop; i++) {
        const name = `r${round}-w${w}-${i}`;
        try {
          const r = await request(url, '/v1/admin/launch-tokens', {
            token: admin,
            body: { agent_name: name, allowed_scope: ['a:b:c'] },
          });
          if (r.status === 201) acknowledged.push(name);
          if (acknowledged.length >= killAt) reached();
        } catch {
          return; // the process is gone
        }
      }
    };
    const writers = Array.from({ length: 8 }, (_, w) => writer(w));
    await Promise.race([killPoint, Promise.all(writers)]);
    p.child.kill('SIGKILL');
    stop = true;
    await Promise.all(writers);
    await p.exited;
    if (hasSqlite3) {
      const check = spawnSync('sqlite3', [join(dir, 'data.db'), 'PRAGMA integrity_check']);
      assert.equal(check.stdout.toString().trim(), 'ok', check.stderr.toString());
    }
  }
  assert.ok(acknowledged.length > 20, `only ${acknowledged.length} writes acknowledged`);
  const p = launchBroker(t, dir, { AA_ADMIN_SECRET: ADMIN_SECRET });
  const url = await p.started();
  const admin = await adminToken(url);
  const seen = new Set<string>();
  for (let offset = 0; ; offset += 1000) {
    const page = await request(url, `/v1/audit/events?event_type=launch_token_issued&limit=1000&offset=${offset}`, {
      token: admin,
    });
    for (const e of page.json.events as Array<{ detail: string }>) seen.add(/agent=(\S+)/.exec(e.detail)?.[1] ?? '');
    if (offset + 1000 >= page.json.total) break;
  }
  const lost = acknowledged.filter((n) => !seen.has(n));
  assert.deepEqual(lost, [], `${lost.length} of ${acknowledged.length} acknowledged writes lost`);
  // The chain is intact across the crashes.
  const all = await request(url, '/v1/audit/events?limit=1000', { token: admin });
  const events = all.json.events as Array<{ id: string; hash: string; prev_hash: string }>;
  for (const [i, e] of events.entries()) if (i > 0) assert.equal(e.prev_hash, events[i - 1]?.hash, e.id);
});

test('a corrupt journal record followed by good ones refuses to start; a torn tail is recovered', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'awb-journal-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const p = launchBroker(t, dir, { AA_ADMIN_SECRET: ADMIN_SECRET });
  const url = await p.started();
  const admin = await adminToken(url);
  for (let i = 0; i < 5; i++) {
    await request(url, '/v1/admin/launch-tokens', {
      token: admin,
      body: { agent_name: `a${i}`, allowed_scope: ['a:b:c'] },
    });
  }
  p.child.kill('SIGKILL');
  await p.exited;
  const journal = join(dir, 'data.db.awj');
  const original = readFileSync(journal);
  assert.ok(original.length > 200, 'journal holds the writes');

  // A torn final record: the broker starts and says what it dropped.
  writeFileSync(journal, Buffer.concat([original, Buffer.from([0x20, 0, 0, 0, 9, 9])]));
  const torn = launchBroker(t, dir, { AA_ADMIN_SECRET: ADMIN_SECRET });
  await torn.started();
  torn.child.kill('SIGKILL');
  await torn.exited;

  // A flipped byte in the middle: refuse to start, name the file, exit 1.
  const damaged = Buffer.from(original);
  const mid = Math.floor(damaged.length / 2);
  damaged[mid] = (damaged[mid] as number) ^ 0xff;
  writeFileSync(journal, damaged);
  const bad = launchBroker(t, dir, { AA_ADMIN_SECRET: ADMIN_SECRET });
  assert.equal(await bad.exited, 1);
  assert.match(bad.err(), /^FATAL: init database: .*data\.db\.awj/m);
});

test('a full disk fails writes with 500 and health 503, and both recover when space returns', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'awb-full-'));
  const mnt = join(base, 'small');
  mkdirSync(mnt);
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mnt]).status !== 0) {
    rmSync(base, { recursive: true, force: true });
    return t.skip('cannot mount a small tmpfs here');
  }
  const b = await startTestBroker(null, { dir: mnt, keepDir: true });
  t.after(async () => {
    await b.stop();
    spawnSync('umount', [mnt]);
    rmdirSync(mnt);
    rmSync(base, { recursive: true, force: true });
  });
  const admin = await b.adminToken();
  const filler = join(mnt, 'filler');
  const fd = openSync(filler, 'w');
  try {
    const chunk = Buffer.alloc(64 * 1024, 1);
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
  } finally {
    closeSync(fd);
  }
  let failed;
  for (let i = 0; i < 200; i++) {
    failed = await b.req('/v1/admin/launch-tokens', {
      token: admin,
      body: { agent_name: `x${'y'.repeat(2000)}${i}`, allowed_scope: ['a:b:c'] },
    });
    if (failed.status !== 201) break;
  }
  assert.equal(failed?.status, 500, failed?.text);
  assert.equal(failed?.json.error_code, 'internal_error');
  const degraded = await b.req('/v1/health');
  assert.equal(degraded.status, 503);
  assert.equal(degraded.json.status, 'degraded');
  assert.equal(degraded.json.db_connected, false);

  rmSync(filler);
  assert.ok(statSync(mnt).isDirectory());
  let healthy = false;
  for (let i = 0; i < 80 && !healthy; i++) {
    await new Promise((r) => setTimeout(r, 100));
    healthy = (await b.req('/v1/health')).status === 200;
  }
  assert.ok(healthy, 'health recovers after space returns');
  const ok = await b.req('/v1/admin/launch-tokens', {
    token: admin,
    body: { agent_name: 'after', allowed_scope: ['a:b:c'] },
  });
  assert.equal(ok.status, 201);
});
