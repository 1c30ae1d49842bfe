/**
 * The JSONL audit log and the archives under `kill -9` at random instants, through the compiled broker: traffic and
 * archive runs (retention 1 s) are cut off mid-flight, the log is rotated by rename + SIGHUP while the broker runs
 * and by copy + truncate while it is down (after a clean stop: docs/operator-guide.md, "Audit trail"), and in the end every event is in the log files exactly once and in
 * the archives + database exactly once, with the chain intact.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { listSegments, readSegment } from '../../src/services/audit-segments.js';
import { awrit } from '../cli/awrit.js';
import { ADMIN_SECRET } from '../helpers/broker.js';
import { request } from '../helpers/http.js';

const MAIN = new URL('../../dist/main.js', import.meta.url).pathname;

interface Proc {
  child: ChildProcess;
  out: () => string;
  exited: Promise<number | null>;
}

function launch(env: Record<string, string>): Proc {
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  return { child, out: () => out, exited: new Promise((r) => child.on('exit', (code) => r(code))) };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 800; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function urlOf(p: Proc): Promise<string> {
  await until(() => /listening on \S+/.test(p.out()) || p.child.exitCode !== null, 'the broker to listen');
  const m = /listening on (\S+)/.exec(p.out());
  if (m === null) throw new Error(`broker exited: ${p.out()}`);
  return `http://${m[1]}`;
}

const lines = (path: string): string[] =>
  existsSync(path)
    ? readFileSync(path, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
    : [];

test('kill -9 at random instants: log files and archives hold every event exactly once', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'awb-trailkill-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const log = join(dir, 'audit.jsonl');
  const archive = join(dir, 'archive');
  const env = {
    AA_ADMIN_SECRET: ADMIN_SECRET,
    AA_PORT: '0',
    AA_DB_PATH: join(dir, 'data.db'),
    AA_SIGNING_KEY_PATH: join(dir, 'signing.key'),
    AA_AUDIT_LOG_PATH: log,
    AA_AUDIT_RETENTION: '1s',
    AA_AUDIT_ARCHIVE_DIR: archive,
  };
  const rotated: string[] = [];
  for (let round = 0; round < 3; round++) {
    const p = launch(env);
    const url = await urlOf(p);
    const admin = (await request(url, '/v1/admin/auth', { body: { secret: ADMIN_SECRET } })).json
      .access_token as string;
    let stop = false;
    const loop = async (call: (i: number) => Promise<unknown>): Promise<void> => {
      for (let i = 0; !stop; i++) {
        try {
          await call(i);
        } catch {
          return; // the process is gone
        }
      }
    };
    const traffic = [
      ...Array.from({ length: 4 }, (_, w) =>
        loop((i) =>
          request(url, '/v1/admin/launch-tokens', {
            token: admin,
            body: { agent_name: `r${round}w${w}i${i}`, allowed_scope: ['a:b:c'] },
          }),
        ),
      ),
      loop(() => request(url, '/v1/admin/audit/archive', { method: 'POST', token: admin })),
    ];
    if (round === 0) {
      // logrotate create: rename, SIGHUP, the broker reopens the path (a new file appears).
      await new Promise((r) => setTimeout(r, 150));
      renameSync(log, `${log}.r0`);
      rotated.push(`${log}.r0`);
      p.child.kill('SIGHUP');
      await until(() => existsSync(log), 'the reopened log');
    }
    await new Promise((r) => setTimeout(r, 300 + Math.random() * 700));
    // The last round stops gracefully, so the copy below is of a file whose position file is current.
    p.child.kill(round === 2 ? 'SIGTERM' : 'SIGKILL');
    stop = true;
    await Promise.all(traffic);
    await p.exited;
  }
  // logrotate copytruncate while the broker is down: the empty file resumes from the position file.
  copyFileSync(log, `${log}.r2`);
  truncateSync(log, 0);
  rotated.push(`${log}.r2`);

  const p = launch(env);
  t.after(() => p.child.kill('SIGKILL'));
  const url = await urlOf(p);
  const verify = await awrit(['audit', 'verify', '--archive', archive, '--json'], {
    env: { AACTL_BROKER_URL: url, AACTL_ADMIN_SECRET: ADMIN_SECRET },
  });
  assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  const report = JSON.parse(verify.stdout);
  assert.ok(report.archived > 0 && report.database > 0, verify.stdout);
  const admin = (await request(url, '/v1/admin/auth', { body: { secret: ADMIN_SECRET } })).json.access_token as string;
  const inDb: string[] = [];
  for (let offset = 0; ; offset += 1000) {
    const page = await request(url, `/v1/audit/events?limit=1000&offset=${offset}`, { token: admin });
    inDb.push(...(page.json.events as Array<{ id: string }>).map((e) => e.id));
    if (offset + 1000 >= (page.json.total as number)) break;
  }
  p.child.kill('SIGTERM');
  assert.equal(await p.exited, 0);

  const archived: string[] = [];
  for (const s of await listSegments(archive))
    for (const l of await readSegment(s.path)) archived.push((l as { id: string }).id);
  const head = Number(inDb.at(-1)!.slice(4));
  const expected = Array.from({ length: head }, (_, i) => `evt-${String(i + 1).padStart(6, '0')}`);
  assert.deepEqual([...archived, ...inDb], expected, 'archives + database: each event exactly once');
  const files = [...rotated, log].map((f) => ({ f, ids: lines(f).map((l) => (JSON.parse(l) as { id: string }).id) }));
  const logged = files.flatMap((x) => x.ids);
  const where = files.map((x) => `${x.f}: ${x.ids[0]}..${x.ids.at(-1)} (${x.ids.length})`).join('; ');
  assert.equal(new Set(logged).size, logged.length, `no event twice in the log: ${where}`);
  assert.deepEqual(logged, expected, 'every event in the log, in chain order');
});
