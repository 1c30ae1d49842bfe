/**
 * Applies a batch committed by another broker on a shared store to this broker's memory: the same rows the
 * operations would have put there, merged so that applying a batch twice changes nothing (docs/internals.md,
 * "Several brokers on one database").
 */
import { LIMITS } from '../config/limits.js';
import type { Mutation } from '../store/store.js';
import type { Agents } from './agents.js';
import type { Apps } from './apps.js';
import type { AuditLog } from './audit.js';
import type { IssuedTokens } from './issued-tokens.js';
import type { LaunchTokens } from './launch-tokens.js';
import type { Revocations } from './revocations.js';
import type { SigningKeys } from './signing-keys.js';

/** The in-memory state a change can touch. */
export interface MemoryState {
  audit: AuditLog;
  revocations: Revocations;
  apps: Apps;
  launchTokens: LaunchTokens;
  agents: Agents;
  issued: IssuedTokens;
  keys: SigningKeys;
}

export function applyChange(s: MemoryState, m: Mutation): void {
  switch (m.kind) {
    case 'audit.insert':
      s.audit.adopt(m.row);
      return;
    case 'audit.archive':
      s.audit.adoptAnchor(m.anchor);
      return;
    case 'revocation.put':
      s.revocations.merge(m.row);
      return;
    case 'app.put':
      s.apps.merge(m.row);
      return;
    case 'launchToken.put':
      s.launchTokens.put(m.row);
      return;
    case 'launchToken.consume':
      s.launchTokens.markConsumed(m.token_hash, m.consumed_at);
      return;
    case 'agent.put':
      s.agents.put({ ...m.row });
      return;
    case 'issuedToken.put':
      s.issued.add(m.row);
      return;
    case 'signingKey.put':
      s.keys.merge(m.row);
      return;
    case 'prune': {
      const nowS = Math.floor(m.now_ms / 1000);
      s.launchTokens.prune(m.now_ms);
      s.revocations.prune(nowS);
      s.issued.prune(nowS);
      s.agents.prune(nowS, m.agent_retention_s ?? LIMITS.agentRetentionSeconds);
      return;
    }
  }
}
