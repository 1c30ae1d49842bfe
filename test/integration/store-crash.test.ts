import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openStore } from '../../src/store/index.js';
import { auditHash, GENESIS, tempDir } from './store-fixtures.js';

const CHILD = fileURLToPath(new URL('./store-child.ts', import.meta.url));
const hasSqlite3 = spawnSync('sqlite3', ['-version']).status === 0;

interface Run {
  acked: number[];
  stderr: string;
}

/**
 * Runs the streaming child and SIGKILLs it the moment it has acknowledged `killAtAck` batches: a random point in
 * the write stream (8 writers keep commits, journal rotations and checkpoints in flight), however fast the machine.
 */
function streamAndKill(path: string, killAtAck: number, checkpointBytes: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, path, 'stream', String(checkpointBytes)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let stderr = '';
    let acks = 0;
    let stalled = false;
    // A guard against a child that hangs, not a speed requirement.
    const guard = setTimeout(() => {
      stalled = true;
      child.kill('SIGKILL');
    }, 60_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      acks = out.match(/^ack \d+\n/gm)?.length ?? 0;
      if (acks >= killAtAck) child.kill('SIGKILL');
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      clearTimeout(guard);
      if (stalled) return reject(new Error(`child made no progress for 60 s (${acks} acks): ${stderr}`));
      if (signal !== 'SIGKILL') return reject(new Error(`child ended without being killed: ${stderr}`));
      // Only complete lines count: a line cut by the kill was not necessarily acknowledged.
      const lines = out.split('\n').slice(0, -1);
      const acked = lines.filter((l) => l.startsWith('ack ')).map((l) => Number(l.slice(4)));
      resolve({ acked, stderr });
    });
  });
}

test('SIGKILL at random instants never loses an acknowledged write nor breaks the file', {
  timeout: 120_000,
}, async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const path = `${dir}/data.db`;
  let totalAcked = 0;
  let sawReplay = false;
  for (let round = 0; round < 3; round++) {
    // A small checkpoint threshold makes kills land inside checkpoints and journal rotations too.
    const run = await streamAndKill(path, 40 + Math.floor(Math.random() * 40), 64 * 1024);
    assert.ok(run.acked.length > 0, `round ${round}: nothing acknowledged (${run.stderr})`);
    totalAcked += run.acked.length;
    const maxAcked = Math.max(...run.acked);

    if (hasSqlite3) {
      const check = spawnSync('sqlite3', [path, 'PRAGMA integrity_check'], { encoding: 'utf8' });
      assert.equal(check.stdout.trim(), 'ok', `round ${round}: ${check.stdout}${check.stderr}`);
    }

    const logs: string[] = [];
    const store = await openStore({ path, events: { onLog: (_l, _c, m) => logs.push(m) } });
    try {
      const snap = await store.load();
      if (snap.replayed > 0) sawReplay = true;
      assert.ok(snap.audit.lastSeq >= maxAcked, `round ${round}: acked ${maxAcked}, recovered ${snap.audit.lastSeq}`);
      assert.equal(snap.audit.count, snap.audit.lastSeq, 'no gaps in the audit trail');
      const targets = new Set(snap.revocations.map((r) => r.target));
      const agents = new Set(snap.agents.map((a) => a.agent_id));
      for (const seq of run.acked) {
        assert.ok(targets.has(`jti-${seq}`), `revocation of acked batch ${seq} lost`);
        assert.ok(
          agents.has(`spiffe://agentwrit.local/agent/orch/task/inst${seq}`),
          `agent of acked batch ${seq} lost`,
        );
      }
      // Batches are all-or-nothing: every recovered audit row came with its revocation.
      assert.equal(snap.revocations.length, snap.audit.count);
      let prev = GENESIS;
      for (let offset = 0; offset < snap.audit.count; offset += 1000) {
        const page = await store.queryAudit({ limit: 1000, offset });
        for (const e of page.events) {
          assert.equal(e.prev_hash, prev, `chain broken at ${e.id}`);
          assert.equal(auditHash(e), e.hash, `hash mismatch at ${e.id}`);
          prev = e.hash;
        }
      }
      assert.equal(prev, snap.audit.lastHash);
    } finally {
      await store.close();
    }
  }
  assert.ok(totalAcked > 100, `only ${totalAcked} writes acknowledged`);
  t.diagnostic(`acknowledged ${totalAcked} batches over 3 kills; replay seen: ${sawReplay}`);
});
