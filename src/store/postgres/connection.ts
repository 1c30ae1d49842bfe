/**
 * AA_DATABASE_URL → driver options. The URL is taken apart here once, so the password only ever travels as a
 * separate option to the driver: logs, errors and metrics see `redacted` (user@host:port/db), never the URL.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { StoreOpenError } from '../store.js';

export type SslMode = 'disable' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';
const SSL_MODES: ReadonlySet<string> = new Set<SslMode>(['disable', 'prefer', 'require', 'verify-ca', 'verify-full']);

export interface PgTarget {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
  sslmode: SslMode;
  /** TLS options for the driver; 'prefer' tries TLS without verifying and falls back to plain; false: plain. */
  ssl: ConnectionOptions | 'prefer' | false;
  /** For logs and errors: no password. */
  redacted: string;
}

export function isDatabaseUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}

function readPem(param: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new StoreOpenError(
      `AA_DATABASE_URL ${param}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
}

/**
 * Parses `postgres://user:pass@host:port/db?sslmode=…&sslrootcert=…&sslcert=…&sslkey=…` (libpq's names). The default
 * sslmode is `prefer`, like libpq; `verify-full` checks the server name, `verify-ca` only the chain.
 */
export function parseDatabaseUrl(raw: string): PgTarget {
  if (!isDatabaseUrl(raw)) throw new StoreOpenError('AA_DATABASE_URL must start with postgres:// or postgresql://');
  let u: URL;
  try {
    u = new URL(raw.replace(/^postgres(ql)?:/i, 'http:'));
  } catch {
    // Not echoed: in a malformed URL there is no telling which part is the password.
    throw new StoreOpenError('AA_DATABASE_URL is not a valid URL');
  }
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  const user = decodeURIComponent(u.username);
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = u.port === '' ? 5432 : Number(u.port);
  if (host === '' || database === '' || user === '') {
    throw new StoreOpenError(
      'AA_DATABASE_URL needs a user, a host and a database name (postgres://user:password@host:port/db)',
    );
  }
  const known = new Set(['sslmode', 'sslrootcert', 'sslcert', 'sslkey']);
  for (const key of u.searchParams.keys()) {
    if (!known.has(key))
      throw new StoreOpenError(`AA_DATABASE_URL: unknown parameter ${key} (known: ${[...known].join(', ')})`);
  }
  const mode = u.searchParams.get('sslmode') ?? 'prefer';
  if (!SSL_MODES.has(mode))
    throw new StoreOpenError(`AA_DATABASE_URL: sslmode must be one of ${[...SSL_MODES].join(', ')}`);
  const sslmode = mode as SslMode;
  let ssl: ConnectionOptions | 'prefer' | false = sslmode === 'prefer' ? 'prefer' : false;
  if (sslmode !== 'disable' && sslmode !== 'prefer') {
    ssl = { rejectUnauthorized: sslmode === 'verify-ca' || sslmode === 'verify-full' };
    const rootcert = u.searchParams.get('sslrootcert');
    if (rootcert !== null) ssl.ca = readPem('sslrootcert', rootcert);
    const cert = u.searchParams.get('sslcert');
    const key = u.searchParams.get('sslkey');
    if ((cert === null) !== (key === null)) throw new StoreOpenError('AA_DATABASE_URL: sslcert and sslkey go together');
    if (cert !== null && key !== null) {
      ssl.cert = readPem('sslcert', cert);
      ssl.key = readPem('sslkey', key);
    }
    // verify-ca trusts any name the CA vouched for.
    if (sslmode === 'verify-ca') ssl.checkServerIdentity = () => undefined;
    else if (sslmode === 'verify-full') ssl.servername = host;
  }
  return {
    host,
    port,
    database,
    user,
    password: decodeURIComponent(u.password),
    sslmode,
    ssl,
    redacted: `${user}@${host.includes(':') ? `[${host}]` : host}:${port}/${database}`,
  };
}

/** Removes every occurrence of the password from a text that may have come from the driver or the server. */
export function scrub(text: string, password: string): string {
  return password === '' ? text : text.split(password).join('***');
}
