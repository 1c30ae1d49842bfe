import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, open, rm, rmdir } from 'node:fs/promises';
import { test } from 'node:test';
import { openStore, type Store, StoreWriteError } from '../../src/store/index.js';
import { AuditChain, tempDir } from './store-fixtures.js';

/** Fills the filesystem with one file until the kernel says ENOSPC. */
async function fill(path: string): Promise<void> {
  const fh = await open(path, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (let off = 0; ; off += chunk.length) await fh.write(chunk, 0, chunk.length, off);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    await fh.close();
  }
}

test('a full disk fails the write and the batches behind it, health degrades, and recovers with the disk', async (t) => {
  const { dir, cleanup } = await tempDir();
  const mnt = `${dir}/small`;
  await mkdir(mnt);
  // A real ENOSPC needs a small filesystem; mounting one needs root.
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt]);
  if (mounted.status !== 0) {
    await cleanup();
    return t.skip('cannot mount a small tmpfs here');
  }
  let store: Store | undefined;
  // One hook, in this order: an open store keeps the mount busy (and the test process alive).
  t.after(async () => {
    await store?.close().catch(() => undefined);
    spawnSync('umount', [mnt]);
    await rmdir(mnt).catch(() => undefined);
    await cleanup();
  });
  const path = `${mnt}/data.db`;
  const errors: string[] = [];
  const chain = new AuditChain();
  store = await openStore({ path, events: { onError: (op) => errors.push(op) } });
  for (let i = 0; i < 3; i++) await store.commit([chain.insert()]);
  const durableHead = { seq: chain.lastSeq, hash: chain.lastHash };

  await fill(`${mnt}/filler`);
  const big = chain.insert({ detail: 'q'.repeat(64 * 1024) });
  const behind = chain.insert();
  const results = await Promise.allSettled([store.commit([big]), store.commit([behind])]);
  assert.ok(
    results.every((r) => r.status === 'rejected' && r.reason instanceof StoreWriteError),
    JSON.stringify(results),
  );
  assert.equal(store.healthy(), false);
  assert.ok(errors.includes('journal_write') && errors.includes('save_audit_event'), errors.join());
  assert.equal((await store.queryAudit({ limit: 10, offset: 0 })).total, 3, 'nothing of the failed batches applied');
  await assert.rejects(store.commit([chain.insert({ detail: 'r'.repeat(64 * 1024) })]), StoreWriteError, 'still full');

  await rm(`${mnt}/filler`);
  await store.commit([]); // the health probe: a real write + fsync
  assert.equal(store.healthy(), true);
  // The failed events' seqs are reused, so the trail has no gap.
  const retry = new AuditChain(durableHead.seq, durableHead.hash);
  await store.commit([retry.insert()]);
  await store.close();

  store = await openStore({ path });
  const snap = await store.load();
  assert.deepEqual(snap.audit, { count: 4, lastSeq: 4, lastHash: retry.lastHash });
  await store.close();
  if (spawnSync('sqlite3', ['-version']).status === 0) {
    assert.equal(spawnSync('sqlite3', [path, 'PRAGMA integrity_check'], { encoding: 'utf8' }).stdout.trim(), 'ok');
  }
});
