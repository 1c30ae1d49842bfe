/** Where the broker is and how to talk to it: AACTL_BROKER_URL, the TLS files and the request timeout. */
import { readFileSync } from 'node:fs';
import type { ParsedArgs } from './args.js';
import { UsageError } from './errors.js';
import type { Env, FlagSpec } from './spec.js';

export const DEFAULT_TIMEOUT_MS = 30_000;

export const CONNECTION_FLAGS: readonly FlagSpec[] = [
  {
    name: 'cacert',
    kind: 'string',
    metavar: 'FILE',
    help: 'CA bundle (PEM) to trust for the broker certificate (env AACTL_CA_CERT)',
  },
  {
    name: 'cert',
    kind: 'string',
    metavar: 'FILE',
    help: 'client certificate (PEM) for an mtls broker (env AACTL_CLIENT_CERT)',
  },
  { name: 'key', kind: 'string', metavar: 'FILE', help: 'client private key (PEM) for --cert (env AACTL_CLIENT_KEY)' },
  {
    name: 'timeout',
    kind: 'string',
    metavar: 'DURATION',
    help: 'give up on a request after this long: 30s, 500ms, 2m (default 30s)',
  },
];

export interface TlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

export interface Connection {
  /** Scheme, host and port. */
  base: URL;
  /** Path prefix before `/v1/…`, without a trailing slash ('' for none). */
  prefix: string;
  /** The URL as shown in messages. */
  display: string;
  tls: TlsMaterial;
  timeoutMs: number;
}

export function parseBrokerUrl(value: string | undefined): { base: URL; prefix: string; display: string } {
  const text = value?.trim() ?? '';
  if (text === '')
    throw new UsageError('AACTL_BROKER_URL is not set (e.g. export AACTL_BROKER_URL=https://broker.example:8080)');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`AACTL_BROKER_URL is not a URL: "${text}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`AACTL_BROKER_URL must start with http:// or https://, got "${url.protocol}"`);
  }
  // Credentials in the URL would end up in every error message.
  if (url.username !== '' || url.password !== '') throw new UsageError('AACTL_BROKER_URL must not contain credentials');
  if (url.search !== '' || url.hash !== '') throw new UsageError('AACTL_BROKER_URL must not have a query or fragment');
  const prefix = url.pathname.replace(/\/+$/, '');
  return { base: url, prefix, display: `${url.origin}${prefix}` };
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000 };

export function parseTimeout(value: string | undefined): number {
  if (value === undefined) return DEFAULT_TIMEOUT_MS;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value.trim());
  const ms = m === null ? Number.NaN : Number(m[1]) * (UNITS[m[2] ?? 's'] ?? Number.NaN);
  if (!Number.isFinite(ms) || ms < 1 || ms > 3_600_000) {
    throw new UsageError(`--timeout must be a duration between 1ms and 60m such as 10s or 500ms, got "${value}"`);
  }
  return Math.round(ms);
}

function readPemFile(path: string, source: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new UsageError(`cannot read ${source} file ${path}: ${code}`);
  }
}

function tlsFile(args: ParsedArgs, env: Env, flag: string, envName: string): Buffer | undefined {
  const fromFlag = args.string(flag);
  if (fromFlag !== undefined) return readPemFile(fromFlag, `--${flag}`);
  const fromEnv = env[envName];
  if (fromEnv !== undefined && fromEnv !== '') return readPemFile(fromEnv, envName);
  return undefined;
}

export function connectionFrom(args: ParsedArgs, env: Env): Connection {
  const { base, prefix, display } = parseBrokerUrl(env.AACTL_BROKER_URL);
  const timeoutMs = parseTimeout(args.string('timeout'));
  if (base.protocol === 'http:') {
    // TLS flags with a plain-HTTP URL almost always mean a mistyped URL, and sending the secret in clear is worse
    // than stopping. AACTL_* TLS variables may be set for other brokers, so they are simply not used here.
    if (['cacert', 'cert', 'key'].some((f) => args.has(f))) {
      throw new UsageError(`TLS flags given but AACTL_BROKER_URL is plain http (${display}); use https://`);
    }
    return { base, prefix, display, tls: {}, timeoutMs };
  }
  const tls: TlsMaterial = {};
  const ca = tlsFile(args, env, 'cacert', 'AACTL_CA_CERT');
  const cert = tlsFile(args, env, 'cert', 'AACTL_CLIENT_CERT');
  const key = tlsFile(args, env, 'key', 'AACTL_CLIENT_KEY');
  if ((cert === undefined) !== (key === undefined)) {
    throw new UsageError(
      'a client certificate needs both --cert and --key (or AACTL_CLIENT_CERT and AACTL_CLIENT_KEY)',
    );
  }
  if (ca !== undefined) tls.ca = ca;
  if (cert !== undefined) tls.cert = cert;
  if (key !== undefined) tls.key = key;
  return { base, prefix, display, tls, timeoutMs };
}
