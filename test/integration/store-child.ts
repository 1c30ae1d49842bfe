/**
 * Child process for crash tests: `store-child <db path> stream <checkpointBytes>` opens the store and commits batches
 * forever from 8 concurrent writers (audit row + revocation + agent per batch), printing `ack <auditSeq>` once each
 * commit resolved; the test SIGKILLs it.
 * On StoreOpenError it prints `fatal: <message>` to stderr and exits 1, as the broker does.
 */
import { openStore, type Store, StoreOpenError } from '../../src/store/index.js';
import { AuditChain, agentRow } from './store-fixtures.js';

const [path, mode, checkpointArg] = process.argv.slice(2);
if (path === undefined || mode !== 'stream') throw new Error('usage: store-child <db path> stream <checkpointBytes>');

let store: Store;
try {
  store = await openStore({
    path,
    checkpointBytes: checkpointArg !== undefined ? Number(checkpointArg) : undefined,
    events: { onLog: (level, _c, msg, ...ctx) => process.stderr.write(`log ${level} ${msg} ${ctx.join(' ')}\n`) },
  });
} catch (err) {
  process.stderr.write(`fatal: ${(err as Error).message}\n`);
  process.exit(err instanceof StoreOpenError ? 1 : 2);
}

const snap = await store.load();

const chain = new AuditChain(snap.audit.lastSeq, snap.audit.lastHash);
process.stdout.write(`ready ${snap.audit.lastSeq}\n`);
async function writer(): Promise<never> {
  for (;;) {
    const row = chain.next({ detail: 'x'.repeat(200 + (chain.lastSeq % 300)) });
    await store.commit([
      { kind: 'audit.insert', row },
      {
        kind: 'revocation.put',
        row: { level: 'token', target: `jti-${row.seq}`, revoked_at: '2025-01-01 00:00:00', expires_at: null },
      },
      { kind: 'agent.put', row: agentRow(row.seq) },
    ]);
    process.stdout.write(`ack ${row.seq}\n`);
  }
}
await Promise.all(Array.from({ length: 8 }, writer));
