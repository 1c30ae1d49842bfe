/** SPIFFE IDs of agents: `spiffe://<trust domain>/agent/<orch_id>/<task_id>/<instance>`. */
import { randomHex } from '../crypto/secrets.js';

const SEGMENT_RE = /^[A-Za-z0-9._-]{1,128}$/;
const TRUST_DOMAIN_RE = /^[a-z0-9._-]{1,255}$/;

/** One path segment: 1–128 of `[A-Za-z0-9._-]`, and not `.` or `..`. */
export function isValidSegment(s: string): boolean {
  return SEGMENT_RE.test(s) && s !== '.' && s !== '..';
}

/** Accepts `example.org` or `spiffe://example.org`; returns the bare domain, or null if invalid. */
export function normalizeTrustDomain(td: string): string | null {
  const bare = td.startsWith('spiffe://') ? td.slice('spiffe://'.length) : td;
  return TRUST_DOMAIN_RE.test(bare) ? bare : null;
}

export function newAgentId(trustDomain: string, orchId: string, taskId: string): string {
  return `spiffe://${trustDomain}/agent/${orchId}/${taskId}/${randomHex(8)}`;
}
