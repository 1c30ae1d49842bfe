/**
 * Child process for crash tests. Opens the store at argv[2] and then:
 *   stream <checkpointBytes>  commits batches forever from 8 concurrent writers (audit row + revocation + agent per
 *                             batch) and prints `ack <auditSeq>` once each commit resolved; the test SIGKILLs it.
 *   open                      opens, prints `opened <lastSeq>`, closes, exits 0.
 * On StoreOpenError it prints `fatal: <message>` to stderr and exits 1, as the broker does.
 */
import { openStore, StoreOpenError, type Store } from '../../src/store/index.js';
import { AuditChain, agentRow } from './store-fixtures.js';

const [path, mode = 'open', checkpointArg] = process.argv.slice(2);
if (path === undefined) throw new Error('usage: store-child <db path> <mode>');

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
if (mode === 'open') {
  process.stdout.write(`opened ${snap.audit.lastSeq}\n`);
  await store.close();
  process.exit(0);
}

const chain = new AuditChain(snap.audit.lastSeq, snap.audit.lastHash);
process.stdout.write(`ready ${snap.audit.lastSeq}\n`);
async function writer(): Promise<never> {
  for (;;) {
    const row = chain.next({ detail: 'x'.repeat(200 + (chain.lastSeq % 300)) });
    await store.commit([
      { kind: 'audit.insert', row },
      { kind: 'revocation.put', row: { level: 'token', target: `jti-${row.seq}`, revoked_at: '2025-01-01 00:00:00', expires_at: null } },
      { kind: 'agent.put', row: agentRow(row.seq) },
    ]);
    process.stdout.write(`ack ${row.seq}\n`);
  }
}
await Promise.all(Array.from({ length: 8 }, writer));
