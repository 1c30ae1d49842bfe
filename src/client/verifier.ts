/**
 * Token verification for resource servers: the signature against the broker's JWKS, then time, issuer,
 * audience and scope locally, and (by default) a validate round trip that catches revoked tokens. The JWKS is
 * cached and fetched again when a token names a key the cache does not hold, so a rotated broker key just works.
 */
import { createPublicKey, type KeyObject, verify as verifySignature } from 'node:crypto';
import { TransportError, VerificationError } from './errors.js';
import { asClaims, decodeJws } from './jwt.js';
import { scopeIsSubset } from './scope.js';
import { type TlsOptions, Transport } from './transport.js';
import type { TokenClaims } from './types.js';
import { validateWith } from './validate.js';
import { asObject } from './wire.js';

export interface VerifierOptions {
  brokerUrl: string;
  /** Required `aud` entry; unchecked when absent. */
  audience?: string;
  /** Required `iss`; unchecked when absent. */
  issuer?: string;
  /** `validate` (default) asks the broker about every token that passes the local checks; `none` trusts them. */
  revocation?: 'validate' | 'none';
  /** How long a fetched JWKS is used before it is fetched again. Default 300 000 ms. */
  jwksCacheMs?: number;
  timeoutMs?: number;
  tls?: TlsOptions;
  /** Milliseconds since the epoch; replaceable so expiry and caching can be tested without waiting. */
  clock?: () => number;
}

export interface VerifyOptions {
  /** Every one of these must be covered by the token's scope. */
  requiredScope?: readonly string[];
}

export interface Verifier {
  /** The token's claims, or a VerificationError naming the failed check (TransportError if the broker is unreachable). */
  verify(token: string, opts?: VerifyOptions): Promise<TokenClaims>;
  /** Closes pooled connections. */
  close(): void;
}

/** The broker serves its JWKS with `max-age=60`: a key retired in an emergency drops out within a minute. */
const DEFAULT_JWKS_CACHE_MS = 60_000;
/** Unknown `kid`s trigger at most one JWKS fetch per second, so junk tokens cannot turn into a fetch flood. */
const UNKNOWN_KID_REFETCH_MS = 1_000;
const MAX_TOKEN_LENGTH = 16 * 1024;

interface KeySet {
  keys: Map<string, KeyObject>;
  fetchedAtMs: number;
}

export function createVerifier(opts: VerifierOptions): Verifier {
  const transport = new Transport(opts.brokerUrl, { timeoutMs: opts.timeoutMs, tls: opts.tls });
  const clock = opts.clock ?? Date.now;
  const cacheMs = opts.jwksCacheMs ?? DEFAULT_JWKS_CACHE_MS;
  const revocation = opts.revocation ?? 'validate';
  let keySet: KeySet | null = null;
  let fetching: Promise<KeySet> | null = null;

  const fetchKeys = (): Promise<KeySet> => {
    fetching ??= (async () => {
      try {
        const res = await transport.request({ method: 'GET', path: '/v1/jwks' });
        const list = asObject(res.json, 'JWKS').keys;
        if (!Array.isArray(list)) throw new TransportError('response', 'unexpected broker answer: JWKS has no keys');
        const keys = new Map<string, KeyObject>();
        for (const jwk of list) {
          const k = asObject(jwk, 'JWK');
          if (k.kty !== 'OKP' || k.crv !== 'Ed25519' || typeof k.x !== 'string' || typeof k.kid !== 'string') continue;
          if (k.use !== undefined && k.use !== 'sig') continue;
          try {
            keys.set(k.kid, createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: k.x }, format: 'jwk' }));
          } catch {
            // A key this runtime cannot load is skipped; tokens naming it fail as unknown_key.
          }
        }
        keySet = { keys, fetchedAtMs: clock() };
        return keySet;
      } finally {
        fetching = null;
      }
    })();
    return fetching;
  };

  const keyFor = async (kid: string): Promise<KeyObject | undefined> => {
    let set = keySet;
    if (set === null || clock() - set.fetchedAtMs >= cacheMs) set = await fetchKeys();
    let key = set.keys.get(kid);
    if (key === undefined && clock() - set.fetchedAtMs >= UNKNOWN_KID_REFETCH_MS)
      key = (await fetchKeys()).keys.get(kid);
    return key;
  };

  return {
    async verify(token, vopts = {}) {
      if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
        throw new VerificationError('malformed', 'not a compact JWS');
      }
      const jws = decodeJws(token);
      if (jws === null) throw new VerificationError('malformed', 'not a compact JWS');
      if (jws.header.alg !== 'EdDSA') throw new VerificationError('algorithm', 'only EdDSA tokens are accepted');
      const kid = jws.header.kid;
      if (typeof kid !== 'string' || kid === '') throw new VerificationError('unknown_key', 'token names no key');
      const key = await keyFor(kid);
      if (key === undefined)
        throw new VerificationError('unknown_key', 'the broker does not publish the key that signed this token');
      if (!verifySignature(null, jws.signingInput, key, jws.signature))
        throw new VerificationError('signature', 'signature does not verify');
      const claims = asClaims(jws.claims);
      if (claims === null) throw new VerificationError('malformed', 'claims do not have the broker token shape');
      // Same comparisons as the broker: whole seconds, no leeway.
      const now = Math.floor(clock() / 1000);
      if (claims.exp <= 0 || now > claims.exp) throw new VerificationError('expired', 'token has expired');
      if (claims.nbf !== 0 && now < claims.nbf) throw new VerificationError('not_yet_valid', 'token is not valid yet');
      if (opts.issuer !== undefined && claims.iss !== opts.issuer)
        throw new VerificationError('issuer', 'token is from another issuer');
      if (opts.audience !== undefined && !(claims.aud ?? []).includes(opts.audience)) {
        throw new VerificationError('audience', 'token is not meant for this audience');
      }
      if (vopts.requiredScope !== undefined && !scopeIsSubset(vopts.requiredScope, claims.scope)) {
        throw new VerificationError('scope', 'token scope does not cover the required scope');
      }
      if (revocation === 'validate') {
        const r = await validateWith(transport, token);
        if (!r.valid) throw new VerificationError('revoked', 'the broker no longer accepts this token');
      }
      return claims;
    },
    close() {
      transport.close();
    },
  };
}
