import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AgentRow, AppRow, AuditRow, LaunchTokenRow, Mutation } from '../../src/store/store.js';

export const GENESIS = '0'.repeat(64);

/** The audit hash rule of http-api.md §13.2. */
export function auditHash(r: Omit<AuditRow, 'hash' | 'seq'>): string {
  const fields = [
    r.prev_hash,
    r.id,
    r.timestamp,
    r.event_type,
    r.agent_id,
    r.task_id,
    r.orch_id,
    r.detail,
    r.resource,
    r.outcome,
    String(r.deleg_depth),
    r.deleg_chain_hash,
    String(r.bytes_transferred),
  ];
  return createHash('sha256').update(fields.join('|'), 'utf8').digest('hex');
}

export function auditRow(seq: number, prevHash: string, over: Partial<AuditRow> = {}): AuditRow {
  const base = {
    id: `evt-${String(seq).padStart(6, '0')}`,
    timestamp: new Date(Date.UTC(2025, 0, 1) + seq * 1000)
      .toISOString()
      .replace('.000Z', `.${String(seq % 1000).padStart(3, '0')}123Z`),
    event_type: 'token_issued',
    agent_id: `spiffe://agentwrit.local/agent/orch/task-${seq % 7}/i${seq}`,
    task_id: `task-${seq % 7}`,
    orch_id: 'orch',
    detail: `scope=[read:data:*] n=${seq}`,
    resource: '',
    outcome: 'success',
    deleg_depth: 0,
    deleg_chain_hash: '',
    bytes_transferred: 0,
    prev_hash: prevHash,
    ...over,
  };
  return { ...base, seq, hash: auditHash(base) };
}

/** Hands out consecutive audit rows chained by hash, as the broker's recorder does. */
export class AuditChain {
  constructor(
    public lastSeq = 0,
    public lastHash = GENESIS,
  ) {}
  next(over: Partial<AuditRow> = {}): AuditRow {
    const row = auditRow(this.lastSeq + 1, this.lastHash, over);
    this.lastSeq = row.seq;
    this.lastHash = row.hash;
    return row;
  }
  insert(over: Partial<AuditRow> = {}): Mutation {
    return { kind: 'audit.insert', row: this.next(over) };
  }
}

export function appRow(n: number, over: Partial<AppRow> = {}): AppRow {
  return {
    app_id: `app-demo${n}-a1b2c3`,
    name: `demo${n}`,
    client_id: `de-00000000000${n}`,
    client_secret_hash: 'sha256$00$11',
    scope_ceiling: ['read:data:*'],
    token_ttl: 1800,
    status: 'active',
    created_at: '2025-01-01T00:00:00Z',
    updated_at: '2025-01-01T00:00:00Z',
    created_by: 'admin',
    deregistered_at: null,
    ...over,
  };
}

export function launchTokenRow(n: number, over: Partial<LaunchTokenRow> = {}): LaunchTokenRow {
  return {
    token_hash: createHash('sha256').update(`lt${n}`).digest('hex'),
    agent_name: `agent-${n}`,
    allowed_scope: ['read:data:*'],
    max_ttl: 300,
    single_use: true,
    created_at: Date.now(),
    expires_at: Date.now() + 3_600_000,
    consumed_at: null,
    created_by: 'admin',
    app_id: '',
    ...over,
  };
}

export function agentRow(n: number, over: Partial<AgentRow> = {}): AgentRow {
  return {
    agent_id: `spiffe://agentwrit.local/agent/orch/task/inst${n}`,
    public_key: Buffer.alloc(32, n).toString('base64'),
    orch_id: 'orch',
    task_id: 'task',
    scope: ['read:data:*'],
    registered_at: Date.now(),
    app_id: '',
    expires_at: Math.floor(Date.now() / 1000) + 3600,
    status: 'active',
    ...over,
  };
}

export async function tempDir(): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'awstore-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
