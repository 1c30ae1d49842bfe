/**
 * JWT claims: the shape, the payload serialization (reference key order, Go escaping) and the strict parser
 * used after a signature has verified. Unknown claims are ignored; a known claim of the wrong type rejects the
 * token.
 */
import { parseJsonObject } from '../crypto/jwt.js';
import { goJson } from '../platform/go-json.js';

export interface DelegRecord {
  agent: string;
  scope: string[];
  delegated_at: string; // RFC3339Nano, kept as text: re-serializing must reproduce chain_hash exactly
  signature?: string;
}

export interface Claims {
  iss: string;
  sub: string;
  aud?: string[];
  exp: number;
  nbf: number;
  iat: number;
  jti: string;
  sid?: string;
  scope: string[] | null;
  task_id?: string;
  orch_id?: string;
  delegation_chain?: DelegRecord[];
  chain_hash?: string;
}

/** Payload JSON in the reference's claim order, empty optional claims omitted. */
export function serializeClaims(c: Claims): string {
  const o: Record<string, unknown> = { iss: c.iss, sub: c.sub };
  if (c.aud !== undefined && c.aud.length > 0) o.aud = c.aud;
  o.exp = c.exp;
  o.nbf = c.nbf;
  o.iat = c.iat;
  o.jti = c.jti;
  if (c.sid) o.sid = c.sid;
  o.scope = c.scope;
  if (c.task_id) o.task_id = c.task_id;
  if (c.orch_id) o.orch_id = c.orch_id;
  if (c.delegation_chain !== undefined && c.delegation_chain.length > 0) {
    o.delegation_chain = c.delegation_chain.map(recordForJson);
  }
  if (c.chain_hash) o.chain_hash = c.chain_hash;
  return goJson(o);
}

export function recordForJson(r: DelegRecord): Record<string, unknown> {
  const o: Record<string, unknown> = { agent: r.agent, scope: r.scope, delegated_at: r.delegated_at };
  if (r.signature) o.signature = r.signature;
  return o;
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every(isString);

function optString(o: Record<string, unknown>, key: string): string | undefined | false {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  return isString(v) ? v : false;
}

function parseRecord(v: unknown): DelegRecord | null {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
  const o = v as Record<string, unknown>;
  if (!isString(o.agent) || !isString(o.delegated_at)) return null;
  if (!(o.scope === null || o.scope === undefined || isStrings(o.scope))) return null;
  const sig = o.signature;
  if (!(sig === undefined || sig === null || isString(sig))) return null;
  const r: DelegRecord = {
    agent: o.agent,
    scope: (o.scope as string[] | null | undefined) ?? [],
    delegated_at: o.delegated_at,
  };
  if (isString(sig) && sig !== '') r.signature = sig;
  return r;
}

/** Parses a verified payload; null when any known claim has the wrong type. */
export function parseClaims(payloadJson: string): Claims | null {
  // Duplicate claims are rejected: two readers of one token must never disagree on its meaning.
  const o = parseJsonObject(payloadJson);
  if (o === null) return null;

  const iss = optString(o, 'iss');
  const sub = optString(o, 'sub');
  const jti = optString(o, 'jti');
  const sid = optString(o, 'sid');
  const taskId = optString(o, 'task_id');
  const orchId = optString(o, 'orch_id');
  const chainHash = optString(o, 'chain_hash');
  if ([iss, sub, jti, sid, taskId, orchId, chainHash].includes(false)) return null;

  // RFC 7519 allows `aud` as one string or an array of strings.
  let aud: string[] | undefined;
  if (isString(o.aud)) aud = [o.aud];
  else if (isStrings(o.aud)) aud = o.aud;
  else if (o.aud !== undefined && o.aud !== null) return null;

  const nums: Record<'exp' | 'nbf' | 'iat', number> = { exp: 0, nbf: 0, iat: 0 };
  for (const k of ['exp', 'nbf', 'iat'] as const) {
    const v = o[k];
    if (v === undefined || v === null) continue;
    if (!isInt(v)) return null;
    nums[k] = v;
  }

  let scope: string[] | null = null;
  if (isStrings(o.scope)) scope = o.scope;
  else if (o.scope !== undefined && o.scope !== null) return null;

  let chain: DelegRecord[] | undefined;
  if (Array.isArray(o.delegation_chain)) {
    chain = [];
    for (const item of o.delegation_chain) {
      const r = parseRecord(item);
      if (r === null) return null;
      chain.push(r);
    }
  } else if (o.delegation_chain !== undefined && o.delegation_chain !== null) {
    return null;
  }

  // Keys in the reference's claim order, so /v1/token/validate echoes them as the Go broker does.
  const claims = { iss: (iss as string | undefined) ?? '', sub: (sub as string | undefined) ?? '' } as Claims;
  if (aud !== undefined) claims.aud = aud;
  claims.exp = nums.exp;
  claims.nbf = nums.nbf;
  claims.iat = nums.iat;
  claims.jti = (jti as string | undefined) ?? '';
  if (sid) claims.sid = sid;
  claims.scope = scope;
  if (taskId) claims.task_id = taskId;
  if (orchId) claims.orch_id = orchId;
  if (chain !== undefined && chain.length > 0) claims.delegation_chain = chain;
  if (chainHash) claims.chain_hash = chainHash;
  return claims;
}

export const isAgentSubject = (sub: string): boolean => sub.startsWith('spiffe://');
export const isAppSubject = (sub: string): boolean => sub.startsWith('app:');
