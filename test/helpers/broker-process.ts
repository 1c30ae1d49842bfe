/**
 * The compiled broker as operators run it: a child process of dist/main.js (rebuilt first when a source is newer),
 * its output kept for assertions, killed when the test ends.
 */
import { chmodSync, cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { type BrokerChild, ensureBuilt, ROOT, startBroker, waitForBanner } from '../../scripts/broker-process.mjs';

export interface BrokerProcess {
  child: BrokerChild;
  out(): string;
  err(): string;
  /** stdout and stderr interleaved as they arrived. */
  output(): string;
  /** The exit code; null when a signal ended the process. */
  exited: Promise<number | null>;
  /** Waits for the banner and returns the broker's base URL. */
  started(): Promise<string>;
  alive(): boolean;
}

/**
 * Starts the broker with its database and signing key in `dir` (also its HOME, so no config file of the machine's
 * user is read) on an ephemeral loopback port; `env` adds to or overrides that. PATH is the only variable inherited.
 */
export function launchBroker(
  t: Pick<TestContext, 'after'>,
  dir: string,
  env: Record<string, string> = {},
): BrokerProcess {
  const child = startBroker({
    PATH: process.env.PATH ?? '',
    HOME: dir,
    AA_PORT: '0',
    AA_DB_PATH: join(dir, 'data.db'),
    AA_SIGNING_KEY_PATH: join(dir, 'signing.key'),
    ...env,
  });
  // Listening from the start, so a banner printed before started() is called is not missed; a test that expects the
  // process to fail never calls started(), hence the rejection is observed here too.
  const banner = waitForBanner(child).then((b) => `http://${b.address}`);
  banner.catch(() => undefined);
  let out = '';
  let err = '';
  let all = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => {
    out += c;
    all += c;
  });
  child.stderr.setEncoding('utf8').on('data', (c: string) => {
    err += c;
    all += c;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const alive = (): boolean => child.exitCode === null && child.signalCode === null;
  t.after(() => {
    if (alive()) child.kill('SIGKILL');
  });
  return {
    child,
    out: () => out,
    err: () => err,
    output: () => all,
    exited,
    started: () => banner,
    alive,
  };
}

/**
 * A copy of the compiled broker and its production dependencies in a fresh world-readable temp dir, removed when the
 * test ends; `<dir>/dist/main.js` runs there. A child running as another user needs it: the checkout may sit in a
 * directory only its owner can enter (a clone inside `mktemp -d`, mode 0700).
 */
export function brokerCopy(t: Pick<TestContext, 'after'>): string {
  ensureBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'awb-copy-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  chmodSync(dir, 0o755);
  cpSync(join(ROOT, 'dist'), join(dir, 'dist'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean }>;
  };
  // sql.js ships 30 MB of builds for other platforms; the broker loads only the Node wasm build.
  const wanted = (src: string): boolean => !/\/sql\.js\/dist\/./.test(src) || /\/sql-wasm\.(js|wasm)$/.test(src);
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path === '' || entry.dev === true) continue;
    cpSync(join(ROOT, path), join(dir, path), { recursive: true, filter: wanted });
  }
  return dir;
}
