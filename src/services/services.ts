/**
 * The broker's services and in-memory state, wired once at startup from the store's snapshot. Route handlers
 * receive this bundle; nothing else holds state.
 */
import type { Config } from '../config/config.js';
import type { CryptoPool } from '../crypto/crypto-pool.js';
import type { Ed25519KeyPair } from '../crypto/ed25519.js';
import type { Logger } from '../observability/log.js';
import type { Metrics } from '../observability/metrics.js';
import type { Mutation, Snapshot, Store } from '../store/store.js';
import { HttpError } from '../transport/problem.js';
import { RateLimiter } from '../transport/rate-limit.js';
import { Agents } from './agents.js';
import { Apps } from './apps.js';
import { AuditLog, type AuditInput } from './audit.js';
import { isAgentSubject, isAppSubject, type Claims } from './claims.js';
import { IssuedTokens } from './issued-tokens.js';
import { LaunchTokens } from './launch-tokens.js';
import { Nonces } from './nonces.js';
import { Persister } from './persister.js';
import { RepeatAggregator } from './repeat-aggregator.js';
import { Revocations } from './revocations.js';
import { TokenService, type IssueSpec, type Issued } from './tokens.js';

export interface Services {
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly store: Store;
  readonly pool: CryptoPool;
  readonly tokens: TokenService;
  readonly revocations: Revocations;
  readonly issued: IssuedTokens;
  readonly nonces: Nonces;
  readonly launchTokens: LaunchTokens;
  readonly agents: Agents;
  readonly apps: Apps;
  readonly audit: AuditLog;
  readonly persister: Persister;
  readonly adminAuthLimiter: RateLimiter;
  readonly appAuthLimiter: RateLimiter;
  /** Repeated denial events (auth failures) are folded so floods cannot grow the trail. */
  readonly denials: RepeatAggregator;
  readonly startedAt: number;
}

export interface ServiceDeps {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  store: Store;
  pool: CryptoPool;
  keyPair: Ed25519KeyPair;
  snapshot: Snapshot;
}

/** How long an agent whose tokens have all expired stays known (for audit context and late delegations). */
export const AGENT_RETENTION_SECONDS = 86_400;

export function createServices(d: ServiceDeps): Services {
  const { config, metrics, snapshot } = d;
  const revocations = new Revocations();
  revocations.load(snapshot.revocations);
  const apps = new Apps();
  apps.load(snapshot.apps);
  const issued = new IssuedTokens();
  issued.load(snapshot.issuedTokens);
  const launchTokens = new LaunchTokens();
  launchTokens.load(snapshot.launchTokens);
  const agents = new Agents();
  agents.load(snapshot.agents);

  // A deregistered app's tokens die with it: one rule, applied wherever revocation is checked.
  const isDead = (c: Claims): boolean =>
    revocations.isRevoked(c) || (isAppSubject(c.sub) && !apps.isActiveAppSubject(c.sub));

  const tokens = new TokenService(
    d.keyPair,
    d.pool,
    { issuer: config.issuer, audience: config.audience, defaultTtl: config.defaultTtl, maxTtl: config.maxTtl },
    isDead,
    { issued: (scope) => metrics.tokensIssued.inc(scope), clockSkew: () => metrics.clockSkew.inc() },
  );
  const audit = new AuditLog(snapshot.audit, (t) => metrics.auditEvents.inc(t));
  return {
    config,
    logger: d.logger,
    metrics,
    store: d.store,
    pool: d.pool,
    tokens,
    revocations,
    issued,
    nonces: new Nonces(),
    launchTokens,
    agents,
    apps,
    audit,
    persister: new Persister(d.store, audit),
    adminAuthLimiter: new RateLimiter({ rate: 5, burst: 10, retryAfterSeconds: 1 }),
    appAuthLimiter: new RateLimiter({ rate: 10 / 60, burst: 3, retryAfterSeconds: 60 }),
    denials: new RepeatAggregator(),
    startedAt: Date.now(),
  };
}

/**
 * Issues a token and prepares its bookkeeping: tokens of non-agent subjects are remembered (and persisted) so an
 * agent-level revocation of `admin` or `app:…` can find them.
 */
export async function issueToken(
  s: Services,
  spec: IssueSpec,
): Promise<{ issued: Issued; mutations: Mutation[]; undo: () => void }> {
  const claims = s.tokens.claimsFor(spec);
  if (isAgentSubject(spec.sub)) {
    const issued = await s.tokens.signClaims(claims);
    return { issued, mutations: [], undo: () => s.tokens.forget(issued.cacheKey) };
  }
  // Tracked before the signature is awaited: a revocation of this subject arriving meanwhile must see the jti.
  const row = { jti: claims.jti, sub: spec.sub, exp: claims.exp };
  const untrack = s.issued.add(row);
  let issued: Issued;
  try {
    issued = await s.tokens.signClaims(claims);
  } catch (err) {
    untrack();
    throw err;
  }
  return {
    issued,
    mutations: [{ kind: 'issuedToken.put', row }],
    undo: () => {
      untrack();
      s.tokens.forget(issued.cacheKey);
    },
  };
}

/**
 * Commits mutations and audit events durably. On failure the persister runs `undo` (restoring in-memory state, in
 * order with every other failed request) and the request answers 500 with the route's generic detail.
 */
export async function persist(
  s: Services,
  mutations: readonly Mutation[],
  events: readonly AuditInput[],
  failure: { detail: string; undo?: () => void },
): Promise<void> {
  try {
    await s.persister.commit(mutations, events, failure.undo);
  } catch (err) {
    throw new HttpError('internal_error', failure.detail, { cause: err });
  }
}

/** Records a denial event, unless it repeats one already recorded in the current window (then it is counted). */
export async function persistDenial(s: Services, event: AuditInput, sameAs?: string): Promise<void> {
  if (!s.denials.admit(event, Date.now(), sameAs)) return;
  await persist(s, [], [event], { detail: 'internal error' });
}
