/**
 * The broker's services and in-memory state, wired once at startup from the store's snapshot. Route handlers
 * receive this bundle and call the operations in `operations/`; nothing else holds state.
 */
import type { Config } from '../config/config.js';
import { LIMITS } from '../config/limits.js';
import type { CryptoPool } from '../crypto/crypto-pool.js';
import type { Ed25519KeyPair } from '../crypto/ed25519.js';
import type { Logger } from '../observability/log.js';
import type { Metrics } from '../observability/metrics.js';
import type { Snapshot, Store } from '../store/store.js';
import { Agents } from './agents.js';
import { Apps } from './apps.js';
import { AuditLog } from './audit.js';
import { AuditArchiver } from './audit-archiver.js';
import type { AuditLogFile } from './audit-log-file.js';
import { type Claims, isAppSubject } from './claims.js';
import { IssuedTokens } from './issued-tokens.js';
import { LaunchTokens } from './launch-tokens.js';
import { Nonces } from './nonces.js';
import { Persister } from './persister.js';
import { RepeatAggregator } from './repeat-aggregator.js';
import { Revocations } from './revocations.js';
import { SigningKeys } from './signing-keys.js';
import { TokenService } from './tokens.js';
import { UnitOfWork } from './unit-of-work.js';

export interface Services {
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly store: Store;
  readonly pool: CryptoPool;
  readonly tokens: TokenService;
  /** The signing keys: the active one, and every earlier one with its state. */
  readonly keys: SigningKeys;
  readonly revocations: Revocations;
  readonly issued: IssuedTokens;
  readonly nonces: Nonces;
  readonly launchTokens: LaunchTokens;
  readonly agents: Agents;
  readonly apps: Apps;
  readonly audit: AuditLog;
  readonly persister: Persister;
  /** The JSONL audit log (AA_AUDIT_LOG_PATH), null when off. */
  readonly auditFile: AuditLogFile | null;
  /** Audit retention (AA_AUDIT_RETENTION), null when everything stays in the database. */
  readonly archiver: AuditArchiver | null;
  /** Repeated denial events (auth failures) are folded so floods cannot grow the trail. */
  readonly denials: RepeatAggregator;
  readonly startedAt: number;
  /** The clock that time-driven housekeeping (audit retention, key age and retirement) reads; tests drive it. */
  readonly now: () => number;
  /** Starts a unit of work: the changes of one operation, committed once. */
  begin(): UnitOfWork;
}

export interface ServiceDeps {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  store: Store;
  pool: CryptoPool;
  /** The key pair from the key file: the active signing key. */
  keyPair: Ed25519KeyPair;
  snapshot: Snapshot;
  auditFile?: AuditLogFile | null;
  /** The clock housekeeping reads (default `Date.now`); tests drive it. */
  now?: () => number;
}

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

  const keys = new SigningKeys(snapshot.signingKeys, d.keyPair);
  const tokens = new TokenService(
    keys,
    d.pool,
    { issuer: config.issuer, audience: config.audience, defaultTtl: config.defaultTtl, maxTtl: config.maxTtl },
    isDead,
    { issued: (scope) => metrics.tokensIssued.inc(scope), clockSkew: () => metrics.clockSkew.inc() },
    LIMITS.verifiedCacheEntries,
  );
  const audit = new AuditLog(snapshot.audit, (t) => metrics.auditEvents.inc(t), snapshot.auditAnchor);
  const auditFile = d.auditFile ?? null;
  const persister = new Persister(d.store, audit, auditFile === null ? undefined : (rows) => auditFile.append(rows));
  // Read through the global at each call, so a test that mocks Date drives it too.
  const now = d.now ?? ((): number => Date.now());
  const retention = config.audit.retentionSeconds;
  const archiver =
    retention === null
      ? null
      : new AuditArchiver({
          dir: config.audit.archiveDir,
          retentionSeconds: retention,
          store: d.store,
          audit,
          commit: (mutations) => persister.commit(mutations),
          archivableThrough: () => auditFile?.state.writtenSeq ?? Number.POSITIVE_INFINITY,
          now,
          onLog: (level, message, ...ctx) => d.logger[level]('BROKER', 'audit', message, ...ctx),
        });
  return {
    config,
    logger: d.logger,
    metrics,
    store: d.store,
    pool: d.pool,
    tokens,
    keys,
    revocations,
    issued,
    nonces: new Nonces(),
    launchTokens,
    agents,
    apps,
    audit,
    persister,
    auditFile,
    archiver,
    denials: new RepeatAggregator(),
    startedAt: Date.now(),
    now,
    begin: () => new UnitOfWork(persister),
  };
}
