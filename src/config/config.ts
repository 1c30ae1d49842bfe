import { isIP } from 'node:net';
import {
  DEFAULT_ED25519_ENGINE,
  ED25519_ENGINES,
  type Ed25519EngineName,
  isEd25519EngineName,
} from '../crypto/ed25519-engine-names.js';
import { AgentWritError } from '../errors.js';
import { formatLogLine, type LogLevel, writeStdout } from '../observability/log.js';
import type { AdminSecret } from './admin-secret.js';
import { adminSecretFrom, WEAK_ADMIN_SECRET_MESSAGE } from './admin-secret.js';
import type { Cidr } from './cidr.js';
import { parseCidr } from './cidr.js';
import { configFileCandidates, findConfigFile } from './config-file.js';
import { parseDuration } from './duration.js';
import { parseGoInt } from './env-values.js';
import { LIMITS } from './limits.js';

export type { LogLevel } from '../observability/log.js';
export type { AdminSecret } from './admin-secret.js';
export type { Cidr } from './cidr.js';

export type TlsMode = 'none' | 'tls' | 'mtls';

export interface Config {
  port: number;
  /** Listen host; an IPv6 literal is stored without brackets. */
  bindAddress: string;
  logLevel: LogLevel;
  trustDomain: string;
  issuer: string;
  audience: string;
  defaultTtl: number;
  maxTtl: number;
  appTokenTtl: number;
  adminTokenTtl: number;
  adminSecret: AdminSecret;
  /** Config-file `MODE`, `development` when absent. */
  mode: string;
  /** Path of the config file that was used, null when none was acceptable. */
  configFile: string | null;
  seedTokens: boolean;
  dbPath: string;
  /** AA_DATABASE_URL: a postgres:// URL selects the PostgreSQL store (dbPath is then unused); '' keeps sql.js. */
  databaseUrl: string;
  signingKeyPath: string;
  /** AA_SIGNING_KEY_MAX_AGE in seconds: the broker rotates its signing key once the active one is older. Null = never. */
  signingKeyMaxAge: number | null;
  /**
   * AA_REVOCATION_MAX_LAG in seconds: on a shared store (PostgreSQL with several brokers), how long this broker may go
   * without confirming it has seen every revocation before it stops accepting tokens (503) until it catches up.
   */
  revocationMaxLag: number;
  tlsMode: TlsMode;
  tlsCert: string;
  tlsKey: string;
  tlsClientCa: string;
  trustedProxies: Cidr[];
  /** AA_ED25519: which implementation signs and verifies (docs/operator-guide.md). */
  ed25519: Ed25519EngineName;
  /** The audit trail outside the database: AA_AUDIT_LOG_PATH, AA_AUDIT_RETENTION, AA_AUDIT_ARCHIVE_DIR. */
  audit: AuditTrailConfig;
}

export interface AuditTrailConfig {
  /** JSONL audit log for log shippers; '' = off. */
  logPath: string;
  /** Seconds an event stays in the database before it moves to the archive; null = keep everything. */
  retentionSeconds: number | null;
  /** Where archive segments are written; '' unless retention is set. */
  archiveDir: string;
}

/** Fatal configuration problem; the message is what follows `FATAL: ` on stderr. */
export class ConfigError extends AgentWritError {
  override readonly name = 'ConfigError';
  readonly code = 'AW_ERR_CONFIG';
}

export interface LoadConfigOptions {
  /** Directory for `$HOME/.broker/config`; null = unknown (skipped); undefined = `env.HOME`. */
  homeDir?: string | null;
  /** Replaces `/etc/broker/config` in the search. */
  etcPath?: string;
  /** Receives each configuration warning line (no trailing newline); defaults to stdout. */
  warn?: (line: string) => void;
}

export const DEFAULTS = {
  port: 8080,
  bindAddress: '127.0.0.1',
  logLevel: 'verbose',
  trustDomain: 'agentwrit.local',
  defaultTtl: 300,
  maxTtl: 86400,
  appTokenTtl: 1800,
  adminTokenTtl: 300,
  mode: 'development',
  dbPath: './data.db',
  signingKeyPath: './signing.key',
  revocationMaxLag: 5,
  tlsMode: 'none',
} as const;

const LOG_LEVELS: ReadonlySet<string> = new Set<LogLevel>(['quiet', 'standard', 'verbose', 'trace']);
const TLS_MODES: ReadonlySet<string> = new Set<TlsMode>(['none', 'tls', 'mtls']);

type Warn = (component: string, message: string, ctx: string) => void;

/** Unset and empty are the same thing for every variable. */
/** Only the scheme is checked here; the rest is parsed where the store opens. The value itself is never echoed. */
function databaseUrl(raw: string | undefined): string {
  if (raw === undefined || raw === '') return '';
  if (!/^postgres(ql)?:\/\//i.test(raw))
    throw new ConfigError('AA_DATABASE_URL must start with postgres:// or postgresql://');
  return raw;
}

function envValue(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
}

function readInt(env: NodeJS.ProcessEnv, name: string, fallback: number, warn: Warn): number {
  const raw = envValue(env, name);
  if (raw === undefined) return fallback;
  const n = parseGoInt(raw);
  if (n !== null) return n;
  warn(
    'load',
    'ignoring invalid integer, using default',
    `var=${name} value=${JSON.stringify(raw)} default=${fallback}`,
  );
  return fallback;
}

function readLogLevel(env: NodeJS.ProcessEnv, warn: Warn): LogLevel {
  const raw = envValue(env, 'AA_LOG_LEVEL');
  if (raw === undefined) return DEFAULTS.logLevel;
  const lower = raw.toLowerCase();
  if (LOG_LEVELS.has(lower)) return lower as LogLevel;
  warn(
    'load',
    'ignoring unknown log level, using default',
    `var=AA_LOG_LEVEL value=${JSON.stringify(raw)} default=verbose`,
  );
  return DEFAULTS.logLevel;
}

function readSeedTokens(env: NodeJS.ProcessEnv, warn: Warn): boolean {
  const raw = envValue(env, 'AA_SEED_TOKENS');
  if (raw === undefined || raw === 'false') return false;
  if (raw === 'true') return true;
  warn(
    'load',
    'only the exact value "true" enables seed tokens, treating as false',
    `var=AA_SEED_TOKENS value=${JSON.stringify(raw)}`,
  );
  return false;
}

function readPort(env: NodeJS.ProcessEnv): number {
  const raw = envValue(env, 'AA_PORT');
  if (raw === undefined) return DEFAULTS.port;
  const n = /^[0-9]{1,5}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(n <= 65535)) throw new ConfigError(`AA_PORT must be a port number from 0 to 65535, got ${JSON.stringify(raw)}`);
  return n;
}

function readBindAddress(env: NodeJS.ProcessEnv): string {
  const raw = envValue(env, 'AA_BIND_ADDRESS');
  if (raw === undefined) return DEFAULTS.bindAddress;
  if (raw.startsWith('[') || raw.endsWith(']')) {
    const inner = raw.slice(1, -1);
    if (raw.startsWith('[') && raw.endsWith(']') && isIP(inner) === 6) return inner;
    throw new ConfigError(`AA_BIND_ADDRESS has a malformed bracketed IPv6 address, got ${JSON.stringify(raw)}`);
  }
  // A colon is only valid inside an IPv6 literal; `host:port` here would be a misplaced port.
  if (raw.includes(':') && isIP(raw) !== 6) {
    throw new ConfigError(
      `AA_BIND_ADDRESS must be a host name or an IP address without a port, got ${JSON.stringify(raw)}`,
    );
  }
  return raw;
}

function readTls(env: NodeJS.ProcessEnv): Pick<Config, 'tlsMode' | 'tlsCert' | 'tlsKey' | 'tlsClientCa'> {
  const raw = envValue(env, 'AA_TLS_MODE') ?? DEFAULTS.tlsMode;
  if (!TLS_MODES.has(raw)) throw new ConfigError(`AA_TLS_MODE must be none, tls or mtls, got ${JSON.stringify(raw)}`);
  const tlsMode = raw as TlsMode;
  const tls = {
    tlsMode,
    tlsCert: envValue(env, 'AA_TLS_CERT') ?? '',
    tlsKey: envValue(env, 'AA_TLS_KEY') ?? '',
    tlsClientCa: envValue(env, 'AA_TLS_CLIENT_CA') ?? '',
  };
  if (tlsMode === 'none') return tls;
  if (tls.tlsCert === '') throw new ConfigError(`AA_TLS_CERT must be set when AA_TLS_MODE=${tlsMode}`);
  if (tls.tlsKey === '') throw new ConfigError(`AA_TLS_KEY must be set when AA_TLS_MODE=${tlsMode}`);
  if (tlsMode === 'mtls' && tls.tlsClientCa === '') {
    throw new ConfigError('AA_TLS_CLIENT_CA must be set when AA_TLS_MODE=mtls');
  }
  return tls;
}

/** Unlike most settings, a typo here is fatal: silently falling back would run an engine the operator ruled out. */
function readEd25519(env: NodeJS.ProcessEnv): Ed25519EngineName {
  const raw = envValue(env, 'AA_ED25519');
  if (raw === undefined) return DEFAULT_ED25519_ENGINE;
  if (isEd25519EngineName(raw)) return raw;
  throw new ConfigError(`AA_ED25519 must be ${ED25519_ENGINES.join(' or ')}, got ${JSON.stringify(raw)}`);
}

function readSigningKeyMaxAge(env: NodeJS.ProcessEnv): number | null {
  const raw = envValue(env, 'AA_SIGNING_KEY_MAX_AGE');
  if (raw === undefined) return null;
  const seconds = parseDuration(raw);
  // At least a minute (a shorter key life only makes every verifier refetch the JWKS) and at most ten years.
  if (seconds === null || seconds < 60 || seconds > LIMITS.maxTtlInput) {
    throw new ConfigError(
      `AA_SIGNING_KEY_MAX_AGE must be a duration from 60s to 3650d such as 90d, 12h or 45m (a number and one of s, m, h, d), got ${JSON.stringify(raw)}`,
    );
  }
  return seconds;
}

function readRevocationMaxLag(env: NodeJS.ProcessEnv): number {
  const raw = envValue(env, 'AA_REVOCATION_MAX_LAG');
  if (raw === undefined) return DEFAULTS.revocationMaxLag;
  const seconds = parseDuration(raw);
  // Below a second the bound is shorter than the catch-up interval; above an hour revocation stops meaning anything.
  if (seconds === null || seconds > 3600) {
    throw new ConfigError(
      `AA_REVOCATION_MAX_LAG must be a duration from 1s to 1h such as 5s or 30s (a number and one of s, m, h), got ${JSON.stringify(raw)}`,
    );
  }
  return seconds;
}

function readAuditTrail(env: NodeJS.ProcessEnv): AuditTrailConfig {
  const logPath = envValue(env, 'AA_AUDIT_LOG_PATH') ?? '';
  const rawRetention = envValue(env, 'AA_AUDIT_RETENTION');
  const archiveDir = envValue(env, 'AA_AUDIT_ARCHIVE_DIR') ?? '';
  if (rawRetention === undefined) {
    if (archiveDir !== '')
      throw new ConfigError('AA_AUDIT_ARCHIVE_DIR is set but AA_AUDIT_RETENTION is not; set both or neither');
    return { logPath, retentionSeconds: null, archiveDir: '' };
  }
  const retentionSeconds = parseDuration(rawRetention);
  if (retentionSeconds === null) {
    throw new ConfigError(
      `AA_AUDIT_RETENTION must be a duration such as 90s, 12h or 30d, got ${JSON.stringify(rawRetention)}`,
    );
  }
  if (archiveDir === '') throw new ConfigError('AA_AUDIT_ARCHIVE_DIR must be set when AA_AUDIT_RETENTION is set');
  return { logPath, retentionSeconds, archiveDir };
}

/** Comma-separated CIDRs or bare addresses; blank entries (e.g. a trailing comma) are ignored. */
export function parseTrustedProxies(raw: string | undefined): Cidr[] {
  if (raw === undefined) return [];
  const out: Cidr[] = [];
  for (const part of raw.split(',')) {
    const entry = part.trim();
    if (entry === '') continue;
    const cidr = parseCidr(entry);
    if (cidr === null) {
      throw new ConfigError(
        `AA_TRUSTED_PROXIES has an invalid entry ${JSON.stringify(entry)}; expected a CIDR such as 10.0.0.0/8 or an IP address`,
      );
    }
    out.push(cidr);
  }
  return out;
}

/**
 * Reads the configuration once, at startup. Warnings go out immediately (before any log level applies, as in the
 * Go broker); fatal problems throw ConfigError.
 */
export function loadConfig(env: NodeJS.ProcessEnv, opts: LoadConfigOptions = {}): Config {
  const sink = opts.warn ?? writeStdout;
  const warn: Warn = (component, message, ctx) => sink(formatLogLine('CFG', 'WARN', component, message, [ctx]));

  const file = findConfigFile(configFileCandidates(env, opts), warn);

  const port = readPort(env);
  const bindAddress = readBindAddress(env);
  const logLevel = readLogLevel(env, warn);
  const defaultTtl = readInt(env, 'AA_DEFAULT_TTL', DEFAULTS.defaultTtl, warn);
  const maxTtl = readInt(env, 'AA_MAX_TTL', DEFAULTS.maxTtl, warn);
  const appTokenTtl = readInt(env, 'AA_APP_TOKEN_TTL', DEFAULTS.appTokenTtl, warn);
  const adminTokenTtl = readInt(env, 'AA_ADMIN_TOKEN_TTL', DEFAULTS.adminTokenTtl, warn);
  const seedTokens = readSeedTokens(env, warn);
  if (maxTtl > 0 && defaultTtl > maxTtl) {
    warn(
      'load',
      'AA_DEFAULT_TTL exceeds AA_MAX_TTL \u2014 tokens will be clamped to MaxTTL',
      `default_ttl=${defaultTtl} max_ttl=${maxTtl}`,
    );
  }
  const tls = readTls(env);
  const signingKeyMaxAge = readSigningKeyMaxAge(env);
  const revocationMaxLag = readRevocationMaxLag(env);
  const trustedProxies = parseTrustedProxies(envValue(env, 'AA_TRUSTED_PROXIES'));
  const ed25519 = readEd25519(env);
  const audit = readAuditTrail(env);

  const adminSecret = adminSecretFrom(envValue(env, 'AA_ADMIN_SECRET') ?? file?.values.adminSecret ?? '');
  if (adminSecret === null) throw new ConfigError(WEAK_ADMIN_SECRET_MESSAGE);

  const fileMode = file?.values.mode;
  return {
    port,
    bindAddress,
    logLevel,
    trustDomain: envValue(env, 'AA_TRUST_DOMAIN') ?? DEFAULTS.trustDomain,
    issuer: envValue(env, 'AA_ISSUER') ?? '',
    audience: envValue(env, 'AA_AUDIENCE') ?? '',
    defaultTtl,
    maxTtl,
    appTokenTtl,
    adminTokenTtl,
    adminSecret,
    mode: fileMode === undefined || fileMode === '' ? DEFAULTS.mode : fileMode,
    configFile: file?.path ?? null,
    seedTokens,
    dbPath: envValue(env, 'AA_DB_PATH') ?? DEFAULTS.dbPath,
    databaseUrl: databaseUrl(envValue(env, 'AA_DATABASE_URL')),
    signingKeyPath: envValue(env, 'AA_SIGNING_KEY_PATH') ?? DEFAULTS.signingKeyPath,
    signingKeyMaxAge,
    revocationMaxLag,
    ...tls,
    trustedProxies,
    ed25519,
    audit,
  };
}

/** (module, component, message) of a warning main logs through its Logger. */
export type StartupWarning = readonly [module: string, component: string, message: string];

/** Startup step 4 of the Go broker: shown whenever MODE is exactly `development` (also with no config file). */
export function devModeWarning(cfg: Pick<Config, 'mode'>): StartupWarning | null {
  return cfg.mode === 'development'
    ? ['BROKER', 'main', 'Running in development mode -- admin secret stored in plaintext']
    : null;
}

/**
 * Startup step 10: listening on every interface without TLS. The Go broker only checks `0.0.0.0`; the IPv6
 * wildcard `::` exposes the same dual-stack socket, so it is covered too.
 */
export function exposedBindWarning(cfg: Pick<Config, 'bindAddress' | 'tlsMode'>): StartupWarning | null {
  if (cfg.tlsMode !== 'none') return null;
  if (cfg.bindAddress !== '0.0.0.0' && cfg.bindAddress !== '::') return null;
  return ['BROKER', 'main', `binding to ${cfg.bindAddress} without TLS \u2014 use AA_TLS_MODE=tls in production`];
}

/** Both startup warnings in the order the Go broker emits them (dev mode first). */
export function startupWarnings(cfg: Pick<Config, 'mode' | 'bindAddress' | 'tlsMode'>): StartupWarning[] {
  const out: StartupWarning[] = [];
  const dev = devModeWarning(cfg);
  if (dev !== null) out.push(dev);
  const bind = exposedBindWarning(cfg);
  if (bind !== null) out.push(bind);
  return out;
}
