/**
 * The broker's services and in-memory state, wired once at startup from the store's snapshot. Route handlers
 * receive this bundle and call the operations in `operations/`; nothing else holds state.
 */
import type { Config } from '../config/config.js';
import { LIMITS } from '../config/limits.js';
import type { CryptoPool } from '../crypto/crypto-pool.js';
import type { Ed25519KeyPair } from '../crypto/ed25519.js';
import { RequestError } from '../errors.js';
import type { Logger } from '../observability/log.js';
import type { Metrics } from '../observability/metrics.js';
import type { AuditRow, ChangeBatch, Snapshot, Store } from '../store/store.js';
import { Agents } from './agents.js';
import { applyChange } from './apply-change.js';
import { Apps } from './apps.js';
import { AuditLog } from './audit.js';
import { AuditArchiver } from './audit-archiver.js';
import type { AuditLogFile } from './audit-log-file.js';
import { ChangeFollower } from './change-follower.js';
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
  /**
   * On a shared store: applies what other brokers committed, and tells how fresh memory is (revocations must not be
   * missed for longer than AA_REVOCATION_MAX_LAG). Inert on a private store.
   */
  readonly follower: ChangeFollower;
  /** Starts a unit of work: the changes of one operation, committed once. */
  begin(): UnitOfWork;
  /**
   * Brings memory up to date with a shared store before looking again for something that was not found: a record
   * created through another broker a moment ago. Immediate on a private store.
   */
  sync(): Promise<void>;
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
  /** How often a broker on a shared store reads the change feed without a notification (default 1 s). */
  feedPollMs?: number;
  /** Another broker's rotation demoted this broker's signing key: it must rotate (or adopt the shared key file). */
  onKeySuperseded?: () => void;
}

export function createServices(d: ServiceDeps): Services {
  const { config, metrics, snapshot } = d;
  const revocations = new Revocations();
  const apps = new Apps();
  const issued = new IssuedTokens();
  const launchTokens = new LaunchTokens();
  const agents = new Agents();
  const loadState = (snap: Snapshot): void => {
    revocations.load(snap.revocations);
    apps.load(snap.apps);
    issued.load(snap.issuedTokens);
    launchTokens.load(snap.launchTokens);
    agents.load(snap.agents);
  };
  loadState(snapshot);

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
  const shared = d.store.feed !== null;
  // On a shared store the JSONL log follows the change feed, which has every broker's events in chain order.
  const toLogFile = auditFile === null ? undefined : (rows: AuditRow[]): void => auditFile.append(rows);
  let follower: ChangeFollower | null = null;
  const persister = new Persister(
    d.store,
    audit,
    shared ? undefined : toLogFile,
    (batch, epoch) => follower?.noteOwn(batch, epoch),
    () => follower?.requireResync(),
  );
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
  const services: Services = {
    config,
    logger: d.logger,
    metrics,
    store: d.store,
    pool: d.pool,
    tokens,
    keys,
    revocations,
    issued,
    nonces: new Nonces(d.store.nonces),
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
    get follower(): ChangeFollower {
      return follower as ChangeFollower;
    },
    begin: () => new UnitOfWork(persister, follower?.epoch),
    sync: () =>
      (follower as ChangeFollower).catchUp().catch((err: unknown) => {
        throw new RequestError('service_unavailable', 'the shared store cannot be reached', {
          retryAfter: 1,
          cause: err,
        });
      }),
  };
  const take = (batch: ChangeBatch, toMemory: boolean): void => {
    const rows: AuditRow[] = [];
    for (const m of batch.mutations) {
      if (m.kind === 'audit.insert') {
        audit.adopt(m.row);
        rows.push(m.row);
      } else if (toMemory) applyChange(services, m);
    }
    if (rows.length > 0) toLogFile?.(rows);
    const own = keys.row(keys.kid);
    if (toMemory && own !== undefined && own.state !== 'active') d.onKeySuperseded?.();
  };
  follower = new ChangeFollower(d.store.feed, snapshot.changeSeq, {
    apply: take,
    resync: async () => {
      const snap = await d.store.load();
      for (const c of [revocations, apps, issued, launchTokens, agents]) c.clear();
      loadState(snap);
      for (const row of snap.signingKeys) keys.put(row);
      if (snap.audit.lastSeq > 0) audit.adopt({ seq: snap.audit.lastSeq, hash: snap.audit.lastHash } as AuditRow);
      return snap.changeSeq;
    },
    pollMs: d.feedPollMs ?? 1000,
    maxLagMs: config.revocationMaxLag * 1000,
    onLog: (level, message, ...ctx) => d.logger[level]('BROKER', 'replication', message, ...ctx),
  });
  return services;
}
