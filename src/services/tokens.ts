/**
 * The token rules: how every JWT is issued (TTL computation, claims, EdDSA signature) and verified (exactly
 * EdDSA with a known kid, then the reference broker's claim checks in its order). Callers outside see only the
 * generic failure texts; `reason` is for audit detail and logs.
 */
import { type CryptoPool, CryptoPoolBusyError } from '../crypto/crypto-pool.js';
import { checkHeader, encodeCompactJws, encodeSigningInput, MAX_TOKEN_LENGTH, splitCompactJws } from '../crypto/jwt.js';
import { randomHex } from '../crypto/secrets.js';
import type { VerifyLane } from '../crypto/verify-lanes.js';
import { RequestError } from '../errors.js';
import { type Claims, type DelegRecord, parseClaims, serializeClaims } from './claims.js';
import type { Jwk, SigningKeys } from './signing-keys.js';
import { VerifiedTokenCache } from './verified-cache.js';

export interface TokenSettings {
  issuer: string;
  audience: string;
  defaultTtl: number;
  maxTtl: number;
}

export interface TokenEvents {
  issued(firstScope: string): void;
  clockSkew(): void;
}

export interface IssueSpec {
  sub: string;
  scope: string[] | null;
  ttl: number; // requested; goes through computeTtl
  /** Absolute ceiling on exp (a delegated token never outlives its delegator). */
  notAfter?: number | undefined;
  /** Explicit audience (delegation/renewal copy the source token's); default: the configured audience. */
  aud?: string[] | undefined;
  noAudience?: boolean;
  sid?: string | undefined;
  task_id?: string | undefined;
  orch_id?: string | undefined;
  delegation_chain?: DelegRecord[] | undefined;
  chain_hash?: string | undefined;
}

export interface Issued {
  token: string;
  claims: Claims;
  ttl: number;
  cacheKey: string;
}

/** On failure `claims` is present when the signature was good (so a revoked token can be attributed). */
/** `unknownKey`: the token names a key this process has never seen (on a shared store, maybe one made elsewhere). */
export type Verified =
  | { ok: true; claims: Claims; cacheKey: string }
  | { ok: false; reason: string; claims?: Claims; unknownKey?: true };

export type RevocationCheck = (claims: Claims) => boolean;

export class TokenService {
  private readonly cache: VerifiedTokenCache;

  constructor(
    private readonly keys: SigningKeys,
    private readonly pool: CryptoPool,
    private readonly settings: TokenSettings,
    private readonly isRevoked: RevocationCheck,
    private readonly events: TokenEvents,
    cacheSize = 100_000,
  ) {
    this.cache = new VerifiedTokenCache(cacheSize);
  }

  /** The kid of the key new tokens are signed with. */
  get kid(): string {
    return this.keys.kid;
  }

  /** `requested ≤ 0 → AA_DEFAULT_TTL`, then the AA_MAX_TTL clamp when it is positive. */
  computeTtl(requested: number): number {
    let ttl = requested > 0 ? requested : this.settings.defaultTtl;
    if (this.settings.maxTtl > 0 && ttl > this.settings.maxTtl) ttl = this.settings.maxTtl;
    return ttl;
  }

  jwks(nowSeconds = Math.floor(Date.now() / 1000)): { keys: Jwk[] } {
    return this.keys.jwks(nowSeconds);
  }

  /**
   * The claims of a new token, synchronously: the jti exists before any await, so bookkeeping (and a revocation
   * racing the signature) can see it. Keys in the reference's claim order.
   */
  claimsFor(spec: IssueSpec): Claims {
    const iat = Math.floor(Date.now() / 1000);
    let ttl = this.computeTtl(spec.ttl);
    if (spec.notAfter !== undefined && iat + ttl > spec.notAfter) ttl = Math.max(0, spec.notAfter - iat);
    const aud = spec.noAudience
      ? undefined
      : (spec.aud ?? (this.settings.audience ? [this.settings.audience] : undefined));
    const claims = { iss: this.settings.issuer, sub: spec.sub } as Claims;
    if (aud !== undefined && aud.length > 0) claims.aud = aud;
    claims.exp = iat + ttl;
    claims.nbf = iat;
    claims.iat = iat;
    claims.jti = randomHex(16);
    if (spec.sid) claims.sid = spec.sid;
    claims.scope = spec.scope;
    if (spec.task_id) claims.task_id = spec.task_id;
    if (spec.orch_id) claims.orch_id = spec.orch_id;
    if (spec.delegation_chain !== undefined && spec.delegation_chain.length > 0)
      claims.delegation_chain = spec.delegation_chain;
    if (spec.chain_hash) claims.chain_hash = spec.chain_hash;
    return claims;
  }

  /** Signs prepared claims; the token is cached as verified, so this process never verifies it with Ed25519. */
  async signClaims(claims: Claims): Promise<Issued> {
    const key = this.keys.signer();
    const signingInput = encodeSigningInput(key.header, serializeClaims(claims));
    const signature = await this.pool.sign(Buffer.from(signingInput), key.secretKey);
    const token = encodeCompactJws(signingInput, signature);
    const cacheKey = VerifiedTokenCache.keyOf(token);
    this.cache.set(cacheKey, claims, key.kid);
    this.events.issued(claims.scope?.[0] ?? 'none');
    return { token, claims, ttl: claims.exp - claims.iat, cacheKey };
  }

  issue(spec: IssueSpec): Promise<Issued> {
    return this.signClaims(this.claimsFor(spec));
  }

  /** Forgets a token that was signed but never handed out (its request failed). */
  forget(cacheKey: string): void {
    this.cache.delete(cacheKey);
  }

  /** Signs arbitrary bytes with the broker key (delegation records). */
  sign(message: Uint8Array): Promise<Uint8Array> {
    return this.pool.sign(message, this.keys.signer().secretKey);
  }

  /** `lane` says who asked, for when the signature has to be checked (the token is not in the verified cache). */
  async verify(token: string, lane: VerifyLane): Promise<Verified> {
    const now = Math.floor(Date.now() / 1000);
    if (token.length > MAX_TOKEN_LENGTH || token === '') return { ok: false, reason: 'invalid token format' };
    const cacheKey = VerifiedTokenCache.keyOf(token);
    const cached = this.cache.get(cacheKey, now);
    let claims: Claims;
    if (cached !== undefined && this.keys.publicKeyFor(cached.kid, now) !== null) {
      claims = cached.claims;
    } else {
      // A cached token whose key was retired meanwhile is checked again from scratch, and fails on its kid.
      if (cached !== undefined) this.cache.delete(cacheKey);
      const jws = splitCompactJws(token);
      if (jws === null) return { ok: false, reason: 'invalid token format' };
      if (!checkHeader(jws.header, this.keys.verifyingKids)) {
        const named = jws.header.kid;
        const unknown = typeof named === 'string' && named !== this.keys.kid && this.keys.row(named) === undefined;
        return unknown
          ? { ok: false, reason: 'invalid token format', unknownKey: true }
          : { ok: false, reason: 'invalid token format' };
      }
      const kid = jws.header.kid as string; // checkHeader made sure it is a known kid
      const publicKey = this.keys.publicKeyFor(kid, now);
      if (publicKey === null) return { ok: false, reason: 'invalid token format' };
      const good = await shedWhenBusy(this.pool.verify(Buffer.from(jws.signingInput), jws.signature, publicKey, lane));
      if (!good) return { ok: false, reason: 'signature verification failed' };
      // The key may have been retired while the signature was checked.
      if (this.keys.publicKeyFor(kid, now) === null) return { ok: false, reason: 'invalid token format' };
      const parsed = parseClaims(jws.payloadJson);
      if (parsed === null) return { ok: false, reason: 'invalid token format' };
      claims = parsed;
      if (claims.exp >= now) this.cache.set(cacheKey, claims, kid);
    }
    const reason = this.checkClaims(claims, now);
    return reason === null ? { ok: true, claims, cacheKey } : { ok: false, reason, claims };
  }

  private checkClaims(c: Claims, now: number): string | null {
    if (c.sub === '') return 'missing subject';
    if (c.jti === '') return 'missing jti';
    if (c.exp <= 0) return 'token has no expiry';
    if (now > c.exp) return 'token expired';
    if (c.iat > now || c.nbf > now) this.events.clockSkew();
    if (c.nbf !== 0 && now < c.nbf) return 'token not yet valid';
    if (this.settings.issuer !== '' && c.iss !== this.settings.issuer) return 'invalid issuer';
    if (this.isRevoked(c)) return 'token has been revoked';
    return null;
  }

  /** Whether the token's audience satisfies AA_AUDIENCE (always true when it is unset). */
  audienceOk(c: Claims): boolean {
    return this.settings.audience === '' || (c.aud ?? []).includes(this.settings.audience);
  }

  get audience(): string {
    return this.settings.audience;
  }

  pruneCache(nowSeconds: number): number {
    return this.cache.prune(nowSeconds);
  }
}

/** A refused verification (the caller's lane is over its share) becomes 503 with Retry-After, never a 401 or a 500. */
export async function shedWhenBusy<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (err instanceof CryptoPoolBusyError) {
      throw new RequestError('service_unavailable', 'too many signature checks in progress, try again later', {
        cause: err,
        retryAfter: 1,
      });
    }
    throw err;
  }
}
