/**
 * The broker's operating limits: fixed bounds that keep every request's work and every table's size finite, and
 * the defaults the Go broker's clients rely on. They are not configurable on purpose (each is either a wire
 * contract or a safety bound); docs/internals.md ("Operating limits") explains each one.
 */
export const LIMITS = {
  /** Longest client-supplied text field, in characters. */
  maxFieldLength: 4096,
  /** Most entries in a scope list. */
  maxScopes: 256,
  /** Ten years: a requested lifetime beyond this is a mistake, and timestamps would leave the representable range. */
  maxTtlInput: 315_360_000,
  /** Registration challenges live this long and are single use. */
  nonceTtlSeconds: 30,
  /** Outstanding challenges; past this, `GET /v1/challenge` answers 429. */
  maxNonces: 100_000,
  /** Launch token defaults when the request leaves them out (seconds). */
  launchTokenDefaultTtl: 30,
  launchTokenDefaultMaxTtl: 300,
  /** A delegated token's default lifetime (seconds), and the deepest chain. */
  delegationDefaultTtl: 60,
  maxDelegationDepth: 5,
  /** How long an agent whose tokens have all expired stays known (audit context, late delegations). */
  agentRetentionSeconds: 86_400,
  /** Tokens remembered as verified, so a repeat presentation costs no Ed25519 verification. */
  verifiedCacheEntries: 100_000,
  /**
   * How long resource servers may cache the JWKS (`Cache-Control: max-age`). Short, so that an emergency rotation
   * (`revoke_previous`) reaches them within a minute even if they do not refetch on their own.
   */
  jwksMaxAgeSeconds: 60,
  /** Audit query paging. */
  auditPageDefault: 100,
  auditPageMax: 1000,
  /** Paths in denial events are cut here: the route pattern says where, the rest is client-chosen text. */
  maxAuditPath: 256,
  /** `POST /v1/admin/auth`, per client address: 5 per second, bursts of 10. */
  adminAuthRate: { rate: 5, burst: 10, retryAfterSeconds: 1 },
  /** `POST /v1/app/auth`, per client_id and address: 10 per minute, bursts of 3. */
  appAuthRate: { rate: 10 / 60, burst: 3, retryAfterSeconds: 60 },
} as const;
