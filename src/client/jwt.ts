/** Compact JWS decoding for the verifier and for reading what the broker issued. No verification here. */
import type { DelegationRecord, TokenClaims } from './types.js';

export interface DecodedJws {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
  signingInput: Buffer;
  signature: Buffer;
}

const SEGMENT = /^[A-Za-z0-9_-]+$/;

function json(segment: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

export function decodeJws(token: string): DecodedJws | null {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  const [h, p, s] = parts as [string, string, string];
  if (!SEGMENT.test(h) || !SEGMENT.test(p) || !SEGMENT.test(s)) return null;
  const header = json(h);
  const claims = json(p);
  if (header === null || claims === null) return null;
  return { header, claims, signingInput: Buffer.from(`${h}.${p}`, 'ascii'), signature: Buffer.from(s, 'base64url') };
}

const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

function isRecord(v: unknown): v is DelegationRecord {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return typeof r.agent === 'string' && isStrings(r.scope) && typeof r.delegated_at === 'string';
}

/** The claims if they have the broker's shape, else null. */
export function asClaims(c: Record<string, unknown>): TokenClaims | null {
  if (typeof c.iss !== 'string' || typeof c.sub !== 'string' || typeof c.jti !== 'string') return null;
  if (!isInt(c.exp) || !isInt(c.iat) || !isInt(c.nbf ?? 0)) return null;
  if (c.aud !== undefined && !isStrings(c.aud)) return null;
  if (c.scope !== undefined && !isStrings(c.scope)) return null;
  for (const k of ['sid', 'task_id', 'orch_id', 'chain_hash'])
    if (c[k] !== undefined && typeof c[k] !== 'string') return null;
  const chain = c.delegation_chain;
  if (chain !== undefined && !(Array.isArray(chain) && chain.every(isRecord))) return null;
  return {
    ...c,
    nbf: (c.nbf as number | undefined) ?? 0,
    scope: (c.scope as string[] | undefined) ?? [],
  } as TokenClaims;
}
