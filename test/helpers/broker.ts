/**
 * Starts a real broker in this process on an ephemeral loopback port, with its database and signing key in a
 * fresh temp dir, and stops it (and removes the dir) when the test ends.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import nacl from 'tweetnacl';
import { type BrokerHandle, startBroker } from '../../src/broker.js';
import { loadConfig } from '../../src/config/config.js';
import { CryptoPool } from '../../src/crypto/crypto-pool.js';
import type { Ed25519EngineName } from '../../src/crypto/ed25519-engine.js';
import { createLogger } from '../../src/observability/log.js';
import { type RequestOptions, request, type TestResponse } from './http.js';

export const ADMIN_SECRET = 'test-admin-secret-0123456789abcdef';

// One crypto pool per engine and test process: brokers started by the tests of one file share its warm workers.
const sharedPools = new Map<Ed25519EngineName, CryptoPool>();
function testPool(engine: Ed25519EngineName): CryptoPool {
  let pool = sharedPools.get(engine);
  if (pool === undefined) {
    pool = new CryptoPool({ size: 2, engine });
    sharedPools.set(engine, pool);
  }
  return pool;
}

export interface TestBroker {
  handle: BrokerHandle;
  url: string;
  dir: string;
  env: Record<string, string>;
  logs: string[];
  req(path: string, opts?: RequestOptions): Promise<TestResponse>;
  adminToken(): Promise<string>;
  launchToken(body?: Record<string, unknown>): Promise<string>;
  registerAgent(opts?: {
    scope?: string[];
    launchBody?: Record<string, unknown>;
    orch?: string;
    task?: string;
  }): Promise<Agent>;
  stop(): Promise<void>;
}

export interface Agent {
  agentId: string;
  token: string;
  expiresIn: number;
  keys: nacl.SignKeyPair;
}

export interface StartOptions {
  env?: Record<string, string>;
  dir?: string;
  keepDir?: boolean;
  tls?: RequestOptions['tls'];
  /** The clock audit retention measures age with. */
  clock?: () => number;
}

/**
 * The store brokers of this test process use: null = sql.js in the broker's dir; otherwise a function giving the
 * PostgreSQL URL for a broker dir (the same dir gets the same database, so restart tests find their state).
 */
let databaseFor: ((dir: string) => Promise<string>) | null = null;

/** Runs every broker started afterwards in this process on PostgreSQL (see test/helpers/postgres.ts). */
export function useDatabaseForTests(fn: ((dir: string) => Promise<string>) | null): void {
  databaseFor = fn;
}

export async function startTestBroker(t: TestContext | null, opts: StartOptions = {}): Promise<TestBroker> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'awb-'));
  const env: Record<string, string> = {
    AA_ADMIN_SECRET: ADMIN_SECRET,
    AA_PORT: '0',
    AA_DB_PATH: join(dir, 'data.db'),
    AA_SIGNING_KEY_PATH: join(dir, 'signing.key'),
    AA_LOG_LEVEL: 'standard',
    ...(databaseFor !== null ? { AA_DATABASE_URL: await databaseFor(dir) } : {}),
    ...opts.env,
  };
  const logs: string[] = [];
  const config = loadConfig(env, { homeDir: null, etcPath: join(dir, 'no-etc-config'), warn: (l) => logs.push(l) });
  const sink = (line: string): void => {
    logs.push(line);
  };
  const logger = createLogger({ level: config.logLevel, stdout: sink, stderr: sink });
  const handle = await startBroker(config, { logger, print: sink, pool: testPool(config.ed25519), clock: opts.clock });
  const url = handle.url.replace('[::1]', '[::1]');
  let stopped = false;
  const b: TestBroker = {
    handle,
    url,
    dir,
    env,
    logs,
    req: (path, o = {}) => request(url, path, { ...o, tls: o.tls ?? opts.tls }),
    async adminToken() {
      const r = await b.req('/v1/admin/auth', { body: { secret: ADMIN_SECRET } });
      if (r.status !== 200) throw new Error(`admin auth failed: ${r.status} ${r.text}`);
      return r.json.access_token as string;
    },
    async launchToken(body = {}) {
      const admin = await b.adminToken();
      const r = await b.req('/v1/admin/launch-tokens', {
        token: admin,
        body: { agent_name: 'test-agent', allowed_scope: ['read:data:*', 'write:data:*'], max_ttl: 300, ...body },
      });
      if (r.status !== 201) throw new Error(`launch token failed: ${r.status} ${r.text}`);
      return r.json.launch_token as string;
    },
    async registerAgent(o = {}) {
      const lt = await b.launchToken(o.launchBody);
      return registerWith(b, lt, { scope: o.scope ?? ['read:data:*'], orch: o.orch, task: o.task });
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await handle.close();
      if (!opts.keepDir) rmSync(dir, { recursive: true, force: true });
    },
  };
  t?.after(() => b.stop());
  return b;
}

export async function registerWith(
  b: Pick<TestBroker, 'req'>,
  launchToken: string,
  o: { scope?: string[]; orch?: string | undefined; task?: string | undefined; keys?: nacl.SignKeyPair } = {},
): Promise<Agent> {
  const keys = o.keys ?? nacl.sign.keyPair();
  const ch = await b.req('/v1/challenge');
  const nonce = ch.json.nonce as string;
  const sig = nacl.sign.detached(Buffer.from(nonce, 'hex'), keys.secretKey);
  const r = await b.req('/v1/register', {
    body: {
      launch_token: launchToken,
      nonce,
      public_key: Buffer.from(keys.publicKey).toString('base64'),
      signature: Buffer.from(sig).toString('base64'),
      orch_id: o.orch ?? 'orch-1',
      task_id: o.task ?? 'task-1',
      requested_scope: o.scope ?? ['read:data:*'],
    },
  });
  if (r.status !== 200) throw new Error(`register failed: ${r.status} ${r.text}`);
  return { agentId: r.json.agent_id, token: r.json.access_token, expiresIn: r.json.expires_in, keys };
}

/** Decodes a JWT's payload without verifying it (tests inspect what the broker issued). */
export function jwtPayload(token: string): Record<string, any> {
  // eslint-disable-line @typescript-eslint/no-explicit-any
  const part = token.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}

export function jwtHeader(token: string): Record<string, unknown> {
  const part = token.split('.')[0] ?? '';
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}
