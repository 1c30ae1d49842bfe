/** Broker-wide operations: health and housekeeping. */
import { LIMITS } from '../../config/limits.js';
import type { Services } from '../services.js';
import { followRotation, maintainSigningKeys } from './keys.js';

export interface Health {
  /** False while the last write to the store failed. */
  ok: boolean;
  uptimeSeconds: number;
  /** Audit events in the database: the chain head's sequence number less the archived events. */
  auditEvents: number;
  /** The JSONL audit log: null when off; otherwise whether its last write succeeded. */
  auditLog: { ok: boolean; error: string | null } | null;
  /** On a shared store, whether memory is current within AA_REVOCATION_MAX_LAG; null on a private store. */
  replication: 'ok' | 'lagging' | null;
}

export function health(s: Services): Health {
  return {
    ok: s.store.healthy(),
    uptimeSeconds: Math.floor((Date.now() - s.startedAt) / 1000),
    auditEvents: s.audit.count,
    auditLog: s.auditFile === null ? null : { ok: s.auditFile.state.ok, error: s.auditFile.state.error },
    replication: s.store.feed === null ? null : s.follower.stale() ? 'lagging' : 'ok',
  };
}

/** While the last write failed, an empty commit probes the store, so health recovers as soon as the disk does. */
export function probeStore(s: Services): void {
  if (!s.store.healthy()) s.persister.commit([]).catch(() => undefined);
  // Another broker's rotation retired this broker's key and following it failed (say the key file was not
  // writable): try again on every beat rather than sign with a key nobody accepts.
  const own = s.keys.row(s.keys.kid);
  if (own !== undefined && own.state !== 'active') void followRotation(s);
  // A failing audit log is retried from the database on the same beat.
  void s.auditFile?.retry();
}

/**
 * Drops what can no longer matter, in memory and in the store, and moves the signing keys on (retirement, rotation by
 * age); returns what it did, by kind. The time is the services' clock unless a test passes one.
 */
export async function housekeeping(s: Services, nowMs = s.now()): Promise<Record<string, number>> {
  const now = Math.floor(nowMs / 1000);
  const retention = LIMITS.agentRetentionSeconds;
  const counts = {
    nonces: await s.nonces.prune(nowMs),
    launch_tokens: s.launchTokens.prune(nowMs),
    revocations: s.revocations.prune(now),
    issued_tokens: s.issued.prune(now),
    agents: s.agents.prune(now, retention),
    cached_tokens: s.tokens.pruneCache(now),
  };
  await s.persister.commit([{ kind: 'prune', now_ms: nowMs, agent_retention_s: retention }], s.denials.flush(nowMs));
  s.metrics.activeAgents.set(s.agents.activeCount(now, (id) => s.revocations.has('agent', id)));
  let auditArchived = 0;
  if (s.archiver !== null) {
    auditArchived = (await s.archiver.run()).archived;
    if (auditArchived > 0) s.metrics.auditEventsArchived.inc(auditArchived);
  }
  const keys = await maintainSigningKeys(s, nowMs);
  return {
    ...counts,
    audit_archived: auditArchived,
    signing_keys_retired: keys.retired,
    signing_keys_rotated: keys.rotated,
  };
}
