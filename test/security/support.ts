/**
 * Shared tools of the adversarial suite: a seeded PRNG, a keep-alive client for floods, raw sockets, a broker
 * child process (for RSS and crash checks), token forgery with the broker's own key, and the secrets scan.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createPrivateKey, type KeyObject, sign as nodeSign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { ADMIN_SECRET } from '../helpers/broker.js';
import { launchBroker } from '../helpers/broker-process.js';

/** mulberry32: tiny, seedable, good enough to make every fuzz run reproducible from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/** A pooled keep-alive client: thousands of requests without a connection each. */
export class Flood {
  readonly agent: http.Agent;
  constructor(
    private readonly port: number,
    sockets = 16,
  ) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: sockets });
  }

  send(
    path: string,
    opts: { method?: string; body?: Buffer | string; headers?: Record<string, string> } = {},
  ): Promise<Answer> {
    const body = opts.body === undefined ? undefined : Buffer.isBuffer(opts.body) ? opts.body : Buffer.from(opts.body);
    const headers: Record<string, string> = { ...opts.headers };
    if (body !== undefined) {
      headers['Content-Type'] ??= 'application/json';
      headers['Content-Length'] = String(body.length);
    }
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: this.port,
          path,
          method: opts.method ?? (body ? 'POST' : 'GET'),
          headers,
          agent: this.agent,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              text: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.setTimeout(20_000, () => req.destroy(new Error('request timed out')));
      req.end(body);
    });
  }

  /** Runs `count` jobs with at most `concurrency` in flight, stopping early at `deadline` (ms epoch). */
  async run<T>(
    count: number,
    concurrency: number,
    job: (i: number) => Promise<T>,
    deadline = Number.POSITIVE_INFINITY,
  ): Promise<T[]> {
    const out: T[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < count && Date.now() < deadline) {
        const i = next++;
        out[i] = await job(i);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return out;
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Writes raw bytes (optionally in timed pieces) and resolves with what came back and when the socket closed. */
export function rawExchange(
  port: number,
  pieces: Array<string | Buffer>,
  opts: { gapMs?: number; giveUpMs?: number } = {},
): Promise<{ text: string; closedAfterMs: number; closedByServer: boolean }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    const finish = (byServer: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(giveUp);
      s.destroy();
      resolve({
        text: Buffer.concat(chunks).toString('latin1'),
        closedAfterMs: Date.now() - started,
        closedByServer: byServer,
      });
    };
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('close', () => finish(true));
    s.on('error', () => finish(true));
    const giveUp = setTimeout(() => finish(false), opts.giveUpMs ?? 5_000);
    let i = 0;
    const writeNext = (): void => {
      if (done || i >= pieces.length) return;
      s.write(pieces[i++] as string | Buffer, () => undefined);
      if (i < pieces.length) timer = setTimeout(writeNext, opts.gapMs ?? 0);
    };
    s.once('connect', writeNext);
  });
}

/** Status line of a raw HTTP answer, e.g. 301. */
export function rawStatus(text: string): number {
  const m = /^HTTP\/1\.1 (\d{3}) /.exec(text);
  return m ? Number(m[1]) : 0;
}

// ---------------------------------------------------------------------------------------------------------------
// A broker child process: the compiled entry point, as operators run it.

export interface BrokerProcess {
  child: ChildProcess;
  port: number;
  url: string;
  dir: string;
  /** Everything the process wrote, stdout and stderr. */
  output(): string;
  rssMb(): number;
  alive(): boolean;
  stop(): Promise<void>;
}

export async function spawnBroker(t: TestContext, env: Record<string, string> = {}): Promise<BrokerProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'awb-sec-'));
  const p = launchBroker(t, dir, { AA_ADMIN_SECRET: ADMIN_SECRET, AA_LOG_LEVEL: 'standard', ...env });
  const stop = async (): Promise<void> => {
    if (p.alive()) {
      p.child.kill('SIGTERM');
      const timer = setTimeout(() => p.child.kill('SIGKILL'), 8_000);
      await p.exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  t.after(stop);
  const url = await p.started();
  return {
    child: p.child,
    port: Number(new URL(url).port),
    url,
    dir,
    output: p.output,
    rssMb: () => rssOf(p.child.pid as number),
    alive: p.alive,
    stop,
  };
}

/** Resident set size of a process in MB, from /proc (Linux). */
export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
  return m ? Number(m[1]) / 1024 : 0;
}

// ---------------------------------------------------------------------------------------------------------------
// Tokens forged with the broker's own signing key (read from its key file): the only way to test claim rules,
// since anything else fails at the signature.

export function brokerKey(signingKeyPath: string): KeyObject {
  return createPrivateKey(readFileSync(signingKeyPath));
}

export const b64u = (v: string | Buffer): string => Buffer.from(v).toString('base64url');

/** A compact JWS over exactly the given header and payload texts (strings are used verbatim). */
export function forge(key: KeyObject, header: object | string, payload: object | string): string {
  const h = typeof header === 'string' ? header : JSON.stringify(header);
  const p = typeof payload === 'string' ? payload : JSON.stringify(payload);
  const input = `${b64u(h)}.${b64u(p)}`;
  return `${input}.${b64u(nodeSign(null, Buffer.from(input), key))}`;
}

// ---------------------------------------------------------------------------------------------------------------
// The secrets scan.

/** Three base64url parts, the first one a JSON object: a complete JWT. */
const FULL_JWT = /eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{20,}/;
const PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

/** Asserts that none of `texts` contains a known secret, a full JWT or private key material. */
export function assertNoSecrets(where: string, texts: readonly string[], secrets: readonly string[]): void {
  const known = secrets.filter((s) => s.length >= 16);
  for (const text of texts) {
    for (const [i, s] of known.entries())
      assert.ok(
        !text.includes(s),
        `${where}: secret #${i} leaked: …${text.slice(Math.max(0, text.indexOf(s) - 60), text.indexOf(s))}`,
      );
    assert.doesNotMatch(text, FULL_JWT, `${where}: a full JWT leaked`);
    assert.doesNotMatch(text, PRIVATE_KEY, `${where}: private key material leaked`);
  }
}

/** The PEM body of the broker's signing key, to look for in everything it produced. */
export function keyMaterial(signingKeyPath: string): string[] {
  const pem = readFileSync(signingKeyPath, 'utf8');
  const body = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  const der = Buffer.from(body, 'base64');
  // The 32-byte seed, in the encodings a careless log line would use.
  const seed = der.subarray(der.length - 32);
  return [body, seed.toString('hex'), seed.toString('base64'), seed.toString('base64url')];
}

export { ADMIN_SECRET };
