/**
 * The compiled broker as a child process, shared by the tests and the benches: rebuild dist/ when a source is newer
 * (so a test or bench run by hand never runs stale code), start dist/main.js, and wait for its banner.
 * Plain JavaScript so that `node bench/*.mjs` can import it without a TypeScript loader; types in the .d.mts beside.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const MAIN_JS = join(ROOT, 'dist', 'main.js');
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

let built = false;

/** Compiles src/ into dist/ when dist/main.js is missing or older than any source file; once per process. */
export function ensureBuilt() {
  if (built) return;
  // tsc rewrites every output file, so dist/main.js carries the time of the last build.
  if (!existsSync(MAIN_JS) || statSync(MAIN_JS).mtimeMs < newest(join(ROOT, 'src'))) {
    const r = spawnSync(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: ROOT, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`building dist/ failed:\n${r.stdout}${r.stderr}`);
  }
  built = true;
}

/** Starts dist/main.js (built first when stale) with exactly `env`; stdin is closed, stdout and stderr are piped. */
export function startBroker(env, { nodeArgs = [], cwd } = {}) {
  ensureBuilt();
  return spawn(process.execPath, [...nodeArgs, MAIN_JS], { cwd: cwd ?? ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
}

const BANNER = /listening on (\S+):(\d+)/;

/**
 * Resolves with the address in the first `listening on HOST:PORT` line the child prints; rejects with everything it
 * printed when it exits first, or when `timeoutMs` passes without one (a guard against a hung start, not a bound).
 */
export function waitForBanner(child, timeoutMs = 60_000) {
  return new Promise((resolve, reject) => {
    let text = '';
    const done = (settle) => {
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.stderr.off('data', onData);
      child.off('exit', onExit);
      settle();
    };
    const onData = (chunk) => {
      text += chunk.toString('utf8');
      const m = BANNER.exec(text);
      if (m) done(() => resolve({ host: m[1], port: Number(m[2]), address: `${m[1]}:${m[2]}` }));
    };
    const onExit = (code, signal) =>
      done(() => reject(new Error(`process exited (${signal ?? code}) before its banner:\n${text}`)));
    const timer = setTimeout(
      () => done(() => reject(new Error(`no banner after ${timeoutMs} ms:\n${text}`))),
      timeoutMs,
    );
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', onExit);
    if (child.exitCode !== null || child.signalCode !== null) onExit(child.exitCode, child.signalCode);
  });
}
