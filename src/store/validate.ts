import { auditId } from './audit-chain.js';
import type { Mutation } from './store.js';

/**
 * Checks a batch on the request thread before it is journaled. The journal is applied to SQLite asynchronously (the
 * storage worker may be busy exporting a checkpoint for seconds), so everything that could make the apply fail —
 * a wrong type for a NOT NULL column, a duplicate audit id, an app name or client_id taken by another app — is refused
 * here, and a batch that reaches the journal always applies.
 */

const isStr = (v: unknown): v is string => typeof v === 'string';
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isStrArray = (v: unknown): v is string[] => Array.isArray(v) && v.every(isStr);

type Check = [field: string, ok: (v: unknown) => boolean];

function checkFields(kind: string, row: unknown, checks: Check[]): string | null {
  if (typeof row !== 'object' || row === null) return `${kind}: row missing`;
  const rec = row as Record<string, unknown>;
  for (const [field, ok] of checks) {
    if (!ok(rec[field])) return `${kind}: invalid ${field}`;
  }
  return null;
}

const AUDIT: Check[] = [
  ['seq', (v) => isInt(v) && v > 0],
  ['id', isStr],
  ['timestamp', isStr],
  ['event_type', isStr],
  ['agent_id', isStr],
  ['task_id', isStr],
  ['orch_id', isStr],
  ['detail', isStr],
  ['resource', isStr],
  ['outcome', isStr],
  ['deleg_depth', isInt],
  ['deleg_chain_hash', isStr],
  ['bytes_transferred', isInt],
  ['hash', isStr],
  ['prev_hash', isStr],
];
const REVOCATION: Check[] = [
  ['level', (v) => v === 'token' || v === 'agent' || v === 'task' || v === 'chain'],
  ['target', isStr],
  ['revoked_at', isStr],
  ['expires_at', (v) => v === null || isNum(v)],
];
const APP: Check[] = [
  ['app_id', isStr],
  ['name', isStr],
  ['client_id', isStr],
  ['client_secret_hash', isStr],
  ['scope_ceiling', isStrArray],
  ['token_ttl', isInt],
  ['status', (v) => v === 'active' || v === 'inactive'],
  ['created_at', isStr],
  ['updated_at', isStr],
  ['created_by', isStr],
  ['deregistered_at', (v) => v === null || isStr(v)],
];
const LAUNCH_TOKEN: Check[] = [
  ['token_hash', isStr],
  ['agent_name', isStr],
  ['allowed_scope', isStrArray],
  ['max_ttl', isNum],
  ['single_use', (v) => typeof v === 'boolean'],
  ['created_at', isNum],
  ['expires_at', isNum],
  ['consumed_at', (v) => v === null || isNum(v)],
  ['created_by', isStr],
  ['app_id', isStr],
];
const AGENT: Check[] = [
  ['agent_id', isStr],
  ['public_key', isStr],
  ['orch_id', isStr],
  ['task_id', isStr],
  ['scope', isStrArray],
  ['registered_at', isNum],
  ['app_id', isStr],
  ['expires_at', isNum],
  ['status', (v) => v === 'active' || v === 'revoked'],
];
const ANCHOR: Check[] = [
  ['seq', (v) => isInt(v) && v > 0],
  ['id', isStr],
  ['hash', isStr],
  ['archived_at', isStr],
];
const ISSUED: Check[] = [
  ['jti', isStr],
  ['sub', isStr],
  ['exp', isNum],
];
const intOrNull = (v: unknown): boolean => v === null || isInt(v);
const SIGNING_KEY: Check[] = [
  ['kid', (v) => isStr(v) && v !== ''],
  ['public_key', (v) => isStr(v) && v !== ''],
  ['state', (v) => v === 'active' || v === 'retiring' || v === 'retired'],
  ['created_at', isInt],
  ['rotated_at', intOrNull],
  ['retire_at', intOrNull],
  ['retired_at', intOrNull],
];

export function shapeError(m: Mutation): string | null {
  switch (m.kind) {
    case 'audit.insert':
      return checkFields(m.kind, m.row, AUDIT);
    case 'revocation.put':
      return checkFields(m.kind, m.row, REVOCATION);
    case 'app.put':
      return checkFields(m.kind, m.row, APP);
    case 'launchToken.put':
      return checkFields(m.kind, m.row, LAUNCH_TOKEN);
    case 'launchToken.consume':
      return isStr(m.token_hash) && isNum(m.consumed_at) ? null : `${m.kind}: invalid fields`;
    case 'agent.put':
      return checkFields(m.kind, m.row, AGENT);
    case 'issuedToken.put':
      return checkFields(m.kind, m.row, ISSUED);
    case 'signingKey.put':
      return checkFields(m.kind, m.row, SIGNING_KEY);
    case 'prune':
      return isNum(m.now_ms) && isNum(m.agent_retention_s) ? null : `${m.kind}: invalid fields`;
    case 'audit.archive':
      return checkFields(m.kind, m.anchor, ANCHOR);
    default:
      return `unknown mutation kind ${(m as { kind?: unknown }).kind as string}`;
  }
}

interface AppKeys {
  name: string;
  client_id: string;
}

/**
 * The uniqueness state a batch is checked against: durable state plus every batch queued ahead of it. When a write
 * fails, everything queued is rejected with it, so the reservation falls back to the durable state.
 */
export class UniquenessGuard {
  private durableAuditSeq: number;
  private reservedAuditSeq: number;
  private durableApps: Map<string, AppKeys>;
  private reservedApps: Map<string, AppKeys>;

  constructor(lastAuditSeq: number, apps: Iterable<{ app_id: string } & AppKeys>) {
    this.durableAuditSeq = this.reservedAuditSeq = lastAuditSeq;
    this.durableApps = new Map();
    for (const a of apps) this.durableApps.set(a.app_id, { name: a.name, client_id: a.client_id });
    this.reservedApps = new Map(this.durableApps);
  }

  /** Checks the batch and, if it passes, reserves its audit seqs and app keys. Returns an error text or null. */
  reserve(batch: readonly Mutation[]): string | null {
    let auditSeq = this.reservedAuditSeq;
    const apps = new Map<string, AppKeys>();
    for (const m of batch) {
      const shape = shapeError(m);
      if (shape !== null) return shape;
      if (m.kind === 'audit.insert') {
        // The next event must continue the chain exactly: a gap would mean an earlier event was lost.
        if (m.row.seq !== auditSeq + 1) return `audit.insert: seq ${m.row.seq} does not follow ${auditSeq}`;
        if (m.row.id !== auditId(m.row.seq)) return `audit.insert: id ${m.row.id} does not match seq ${m.row.seq}`;
        auditSeq = m.row.seq;
      } else if (m.kind === 'audit.archive') {
        // Only rows already durable may be archived: their deletion must never overtake their insertion.
        if (m.anchor.seq > this.durableAuditSeq) return `audit.archive: seq ${m.anchor.seq} is not durable yet`;
      } else if (m.kind === 'app.put') {
        const view = new Map([...this.reservedApps, ...apps]);
        for (const [appId, keys] of view) {
          if (appId === m.row.app_id) continue;
          if (keys.name === m.row.name) return `app.put: name ${m.row.name} belongs to ${appId}`;
          if (keys.client_id === m.row.client_id) return `app.put: client_id ${m.row.client_id} belongs to ${appId}`;
        }
        apps.set(m.row.app_id, { name: m.row.name, client_id: m.row.client_id });
      }
    }
    this.reservedAuditSeq = auditSeq;
    for (const [id, keys] of apps) this.reservedApps.set(id, keys);
    return null;
  }

  markDurable(batch: readonly Mutation[]): void {
    for (const m of batch) {
      if (m.kind === 'audit.insert') this.durableAuditSeq = m.row.seq;
      else if (m.kind === 'app.put')
        this.durableApps.set(m.row.app_id, { name: m.row.name, client_id: m.row.client_id });
    }
  }

  rollback(): void {
    this.reservedAuditSeq = this.durableAuditSeq;
    this.reservedApps = new Map(this.durableApps);
  }
}
