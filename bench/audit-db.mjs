/**
 * A database with N audit events (and nothing else), built directly with sql.js: the same rows and the same cache
 * file (.tmp/bench-<N>[-v2].db) as bench/storage.ts, so either bench reuses what the other generated.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import initSqlJs from 'sql.js';
import * as queries from '../dist/store/queries.js';
import { ensureSchema } from '../dist/store/schema.js';

// bench/storage.ts versions its cache file by schema; a store that keeps derived audit state (establishAuditState)
// writes version 2. Following it keeps both benches on one file and keeps a one-time migration out of the startup.
const establish = typeof queries.establishAuditState === 'function' ? queries.establishAuditState : null;
const SUFFIX = establish === null ? '' : '-v2';

/** One synthetic audit row (the full AuditRow shape; the hash is cheap, not the chain rule: benches need volume). */
export function row(seq, prev) {
  const r = {
    seq,
    id: `evt-${String(seq).padStart(6, '0')}`,
    timestamp: new Date(1.7e12 + seq * 1000).toISOString().replace('Z', '456789Z'),
    event_type: seq % 3 === 0 ? 'token_issued' : 'token_validated',
    agent_id: `spiffe://local/agent/o/t${seq % 500}/i${seq % 5000}`,
    task_id: `t${seq % 500}`,
    orch_id: 'o',
    detail: `scope=[read:data:*] n=${seq}`,
    resource: '',
    outcome: 'success',
    deleg_depth: 0,
    deleg_chain_hash: '',
    bytes_transferred: 0,
    prev_hash: prev,
    hash: '',
  };
  r.hash = createHash('sha256').update(`${prev}|${r.id}|${r.timestamp}|${r.detail}`).digest('hex');
  return r;
}

/** Returns the path of the cached database, generating it first when it is missing. */
export async function ensureAuditDatabase(rows, log) {
  const path = new URL(`../.tmp/bench-${rows}${SUFFIX}.db`, import.meta.url).pathname;
  if (existsSync(path)) return path;
  const started = performance.now();
  const SQL = await initSqlJs();
  const db = new SQL.Database();
  db.exec('PRAGMA cache_size = -262144; PRAGMA journal_mode = MEMORY');
  ensureSchema(db);
  db.exec('BEGIN');
  const st = db.prepare(
    `INSERT INTO audit_events (id, timestamp, event_type, agent_id, task_id, orch_id, detail, outcome, hash, prev_hash, seq)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  let prev = '0'.repeat(64);
  for (let i = 1; i <= rows; i++) {
    const r = row(i, prev);
    st.run([
      r.id,
      r.timestamp,
      r.event_type,
      r.agent_id,
      r.task_id,
      r.orch_id,
      r.detail,
      r.outcome,
      r.hash,
      r.prev_hash,
      r.seq,
    ]);
    prev = r.hash;
  }
  st.free();
  db.exec('COMMIT');
  establish?.(db);
  const bytes = db.export();
  db.close();
  await mkdir(new URL('../.tmp/', import.meta.url), { recursive: true });
  await writeFile(path, bytes);
  log(
    `generated ${rows} audit events (${(bytes.length / 1e6).toFixed(0)} MB) in ${((performance.now() - started) / 1000).toFixed(1)} s into ${path}`,
  );
  return path;
}
