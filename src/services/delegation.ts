/**
 * Delegation records and the chain hash (docs/internals.md, "Delegation chains"): each hop appends a record signed
 * by the broker over `agent|scope,scope|delegated_at`, and `chain_hash` is the SHA-256 of the whole chain's compact
 * JSON with Go's escaping, so a chain built by either broker hashes the same.
 */
import { createHash } from 'node:crypto';
import { goJson } from '../platform/go-json.js';
import { type DelegRecord, recordForJson } from './claims.js';

export function recordSigningText(agent: string, scope: readonly string[], delegatedAt: string): string {
  return `${agent}|${scope.join(',')}|${delegatedAt}`;
}

export function chainHash(chain: readonly DelegRecord[]): string {
  return createHash('sha256')
    .update(goJson(chain.map(recordForJson)), 'utf8')
    .digest('hex');
}
