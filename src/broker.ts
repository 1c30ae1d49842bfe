/**
 * Wiring: configuration → signing key → store → services → router → server, plus seed tokens, housekeeping and
 * graceful shutdown. `startBroker` is what both the broker entry point and the tests run.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './config/config.js';
import { startupWarnings } from './config/config.js';
import { CryptoPool } from './crypto/crypto-pool.js';
import { jwkThumbprint } from './crypto/ed25519.js';
import { loadOrCreateSigningKey, SigningKeyError } from './crypto/signing-key-file.js';
import { PAID_LANE } from './crypto/verify-lanes.js';
import { AgentWritError } from './errors.js';
import type { Logger } from './observability/log.js';
import { createMetrics, type Metrics } from './observability/metrics.js';
import { VERSION } from './routes/system.js';
import { buildRouter } from './routes/table.js';
import { AuditLogFile } from './services/audit-log-file.js';
import { adoptKeyFile, followRotation } from './services/operations/keys.js';
import { issueLaunchToken } from './services/operations/launch-tokens.js';
import { issueAdminToken } from './services/operations/logins.js';
import { housekeeping, probeStore } from './services/operations/system.js';
import { createServices, type Services } from './services/services.js';
import { normalizeTrustDomain } from './services/spiffe.js';
import { openStore, type StoreEvents } from './store/index.js';
import { parseDatabaseUrl } from './store/postgres/connection.js';
import { PostgresStore } from './store/postgres/postgres-store.js';
import type { Store } from './store/store.js';
import { createPipeline } from './transport/pipeline.js';
import { createTransport, TransportError } from './transport/server.js';

/** Startup cannot continue; `message` is printed after `FATAL: `. */
export class FatalError extends AgentWritError {
  override readonly name = 'FatalError';
  readonly code = 'AW_ERR_FATAL';
}

export interface BrokerOptions {
  logger: Logger;
  /** Plain lines (banner, seed tokens); default stdout. */
  print?: (line: string) => void;
  metrics?: Metrics;
  /** A crypto pool to use instead of starting one (it is then not closed with the broker); same engine required. */
  pool?: CryptoPool;
  /** Housekeeping period; tests shorten it. */
  housekeepingMs?: number;
  drainMs?: number;
  /** The clock housekeeping reads (audit retention, key age and retirement, pruning); tests drive it. */
  clock?: () => number;
}

export interface BrokerHandle {
  readonly services: Services;
  readonly port: number;
  readonly url: string;
  /** Runs one housekeeping pass now, or as at `nowMs` (the timer does the same every period). */
  housekeep(nowMs?: number): Promise<void>;
  /** Reopens the JSONL audit log (SIGHUP, after logrotate). */
  reopenAuditLog(): Promise<void>;
  /** Stop accepting, drain in-flight requests, flush and close storage. Idempotent. */
  close(): Promise<void>;
}

const HOUSEKEEPING_MS = 60_000;

const HEALTH_PROBE_MS = 5_000;
const DRAIN_MS = 10_000;

export async function startBroker(config: Config, opts: BrokerOptions): Promise<BrokerHandle> {
  const { logger } = opts;
  const print = opts.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const metrics = opts.metrics ?? createMetrics();

  for (const [module, component, message] of startupWarnings(config)) logger.warn(module, component, message);
  const trustDomain = normalizeTrustDomain(config.trustDomain);
  if (trustDomain === null) {
    throw new FatalError(`AA_TRUST_DOMAIN must be 1-255 characters of a-z 0-9 . _ - (got "${config.trustDomain}")`);
  }

  let keyPair;
  try {
    keyPair = (await loadOrCreateSigningKey(config.signingKeyPath)).keyPair;
  } catch (err) {
    if (err instanceof SigningKeyError) throw new FatalError(`signing key: ${err.message}`);
    throw err;
  }
  const ownPool = opts.pool === undefined;
  const pool = opts.pool ?? new CryptoPool({ engine: config.ed25519 });
  if (pool.engine !== config.ed25519)
    throw new FatalError(`crypto pool runs ed25519=${pool.engine}, AA_ED25519 asks for ${config.ed25519}`);
  logger.ok(
    'BROKER',
    'main',
    'signing key loaded',
    `path=${config.signingKeyPath}, kid=${jwkThumbprint(keyPair.publicKey)}, ed25519=${pool.engine}`,
  );

  let store: Store;
  try {
    const events: StoreEvents = {
      onError: (operation) => metrics.dbErrors.inc(operation),
      onAuditWrite: (seconds) => metrics.auditWriteDuration.observe(seconds),
      onLog: (level, component, message, ...ctx) =>
        logger[level === 'ok' ? 'ok' : level === 'warn' ? 'warn' : 'fail']('store', component, message, ...ctx),
    };
    store =
      config.databaseUrl !== ''
        ? await PostgresStore.open(config.databaseUrl, events)
        : await openStore({ path: config.dbPath, events });
  } catch (err) {
    logger.fail('BROKER', 'main', 'database init failed', `error=${errText(err)}`);
    throw new FatalError(`init database: ${errText(err)}`);
  }
  logger.ok(
    'BROKER',
    'main',
    'database initialized',
    config.databaseUrl !== '' ? `postgres=${parseDatabaseUrl(config.databaseUrl).redacted}` : `path=${config.dbPath}`,
  );

  // In the background: the broker is serving (and healthy) while the workers warm up. Inline Ed25519 needs no
  // workers until the first bcrypt; they start then.
  if (ownPool && !pool.inlineEd25519) {
    pool.start();
    warmUp(pool, keyPair.secretKey, keyPair.publicKey).catch(() => undefined);
  }
  const closePool = (): Promise<void> => (ownPool ? pool.close() : Promise.resolve());
  let services: Services;
  try {
    const snapshot = await store.load();
    metrics.auditEventsLoaded.set(snapshot.audit.count);
    logger.ok('BROKER', 'main', 'audit events loaded', `count=${snapshot.audit.count}`);
    if (snapshot.revocations.length > 0)
      logger.ok('BROKER', 'main', 'revocations loaded', `count=${snapshot.revocations.length}`);
    const auditFile =
      config.audit.logPath === ''
        ? null
        : await AuditLogFile.open(config.audit.logPath, store, {
            onError: (message, err) => {
              metrics.auditLogWriteErrors.inc();
              logger.fail('BROKER', 'audit', message, `path=${config.audit.logPath}`, `error=${err.message}`);
            },
            onLog: (level, message, ...ctx) => logger[level]('BROKER', 'audit', message, ...ctx),
          });
    services = createServices({
      config: { ...config, trustDomain },
      logger,
      metrics,
      store,
      pool,
      keyPair,
      snapshot,
      auditFile,
      now: opts.clock,
      onKeySuperseded: () => void followRotation(services),
    });
    const adopted = await adoptKeyFile(services);
    if (adopted !== null) {
      logger.warn(
        'BROKER',
        'main',
        'key file holds a new signing key; previous key retiring',
        `kid=${adopted.active.kid}`,
      );
    }
    // On a shared store: what other brokers committed since the snapshot, then notifications and polling.
    await services.follower.start();
  } catch (err) {
    await Promise.allSettled([store.close(), closePool()]);
    if (err instanceof SigningKeyError) throw new FatalError(`signing key: ${err.message}`);
    throw new FatalError(`load state: ${errText(err)}`);
  }
  const s = services;
  if (s.archiver !== null) {
    // A run cut short by a crash left a segment whose rows are still in the database: finish it first.
    await s.archiver.reconcile().catch((err: unknown) => {
      logger.fail(
        'BROKER',
        'audit',
        'audit archive check failed; archiving is stopped until it is resolved',
        `error=${errText(err)}`,
      );
    });
  }
  metrics.activeAgents.set(s.agents.activeCount(Math.floor(Date.now() / 1000), (id) => s.revocations.has('agent', id)));

  if (config.seedTokens) await seed(s, print);

  const router = buildRouter(s);
  const pipeline = createPipeline({
    router,
    logger,
    tls: config.tlsMode !== 'none',
    trustedProxies: config.trustedProxies,
    observe: (endpoint, seconds) => metrics.requestDuration.observe(endpoint, seconds),
  });
  let server: Server;
  try {
    server = createTransport(
      { mode: config.tlsMode, certPath: config.tlsCert, keyPath: config.tlsKey, clientCaPath: config.tlsClientCa },
      pipeline,
    );
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.bindAddress, () => {
        server.removeListener('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await Promise.allSettled([store.close(), closePool()]);
    throw new FatalError(
      err instanceof TransportError ? err.message : `listen ${config.bindAddress}:${config.port}: ${errText(err)}`,
    );
  }
  const port = (server.address() as AddressInfo).port;
  const host = config.bindAddress.includes(':') ? `[${config.bindAddress}]` : config.bindAddress;
  logger.ok('BROKER', 'main', 'starting broker', `addr=${host}:${port}, version=${VERSION}`);
  print(
    `AgentWrit broker v${VERSION} listening on ${host}:${port}${config.tlsMode === 'none' ? '' : ` (${config.tlsMode})`}`,
  );

  const housekeep = async (nowMs?: number): Promise<void> => {
    try {
      const pruned = Object.entries(await housekeeping(s, nowMs)).filter(([, n]) => n > 0);
      if (pruned.length > 0) logger.ok('BROKER', 'housekeeping', 'pruned', ...pruned.map(([k, n]) => `${k}=${n}`));
    } catch (err) {
      logger.fail('BROKER', 'housekeeping', 'housekeeping failed', `error=${errText(err)}`);
    }
  };
  const timer = setInterval(() => void housekeep(), opts.housekeepingMs ?? HOUSEKEEPING_MS);
  timer.unref();
  const probe = setInterval(() => probeStore(s), HEALTH_PROBE_MS);
  probe.unref();

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      clearInterval(timer);
      clearInterval(probe);
      const drained = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const idle = setInterval(() => server.closeIdleConnections(), 100);
      const deadline = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), opts.drainMs ?? DRAIN_MS).unref());
      if ((await Promise.race([drained, deadline])) === 'timeout') {
        logger.warn('BROKER', 'shutdown', 'graceful shutdown exceeded deadline', 'error=context deadline exceeded');
        server.closeAllConnections();
      }
      clearInterval(idle);
      s.follower.stop();
      await s.persister.drain();
      await s.auditFile?.close();
      try {
        await store.close();
        logger.ok('BROKER', 'shutdown', 'database closed');
      } catch (err) {
        logger.warn('BROKER', 'shutdown', 'database close error', `error=${errText(err)}`);
      }
      await closePool();
    })();
    return closing;
  };

  const reopenAuditLog = async (): Promise<void> => {
    if (s.auditFile === null) return;
    await s.auditFile.reopen();
    logger.ok('BROKER', 'audit', 'audit log reopened', `path=${s.auditFile.path}`);
  };

  return {
    services: s,
    port,
    url: `${config.tlsMode === 'none' ? 'http' : 'https'}://${host}:${port}`,
    housekeep,
    reopenAuditLog,
    close,
  };
}

/** AA_SEED_TOKENS=true: a launch token and an admin token printed for local development. */
async function seed(s: Services, print: (line: string) => void): Promise<void> {
  try {
    const launch = await issueLaunchToken(s, 'seed', {
      agentName: 'seed-agent',
      allowedScope: ['*:*:*'],
      maxTtl: 3600,
      ttl: 3600,
      singleUse: true,
    });
    print(`SEED_LAUNCH_TOKEN=${launch.token}`);
  } catch (err) {
    process.stderr.write(`WARN: seed launch token: ${errText(err)}\n`);
  }
  try {
    print(`SEED_ADMIN_TOKEN=${(await issueAdminToken(s, 3600, false)).token}`);
  } catch (err) {
    process.stderr.write(`WARN: seed admin token: ${errText(err)}\n`);
  }
}

/**
 * A fresh worker's first Ed25519 operations run unoptimized and cost tens to hundreds of milliseconds; paying that
 * at startup keeps it off the first requests.
 */
async function warmUp(pool: CryptoPool, secretKey: Uint8Array, publicKey: Uint8Array): Promise<void> {
  const message = Buffer.alloc(256, 0x61);
  const rounds = Array.from({ length: 8 }, async () => {
    const sig = await pool.sign(message, secretKey);
    await pool.verify(message, sig, publicKey, PAID_LANE);
  });
  await Promise.all(rounds);
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
