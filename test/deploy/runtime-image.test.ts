/**
 * SLOW (two `npm ci` runs, ~20-40 s): replays the Dockerfile's stages on the host, since no Docker engine runs
 * here. Each stage's COPY, WORKDIR, `RUN npm ci …` and ENV steps are executed in a temp directory standing in for
 * the image filesystem; then the runtime stage's ENTRYPOINT is started with plain `node` (no tsx, no dev
 * dependencies) and its HEALTHCHECK command must report healthy.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { waitForBanner } from '../../scripts/broker-process.mjs';
import { request } from '../helpers/http.js';
import { envPairs, readDockerfile } from './dockerfile.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

test('runtime stage: production-only install starts with plain node and passes its HEALTHCHECK', {
  timeout: 240_000,
}, async (t) => {
  const npm = spawnSync('npm', ['--version'], { stdio: 'ignore' });
  if (npm.status !== 0) {
    t.skip('npm not installed');
    return;
  }
  const { stages } = readDockerfile(join(root, 'Dockerfile'));
  const base = mkdtempSync(join(tmpdir(), 'awimage-'));
  t.after(() => rmSync(base, { recursive: true, force: true }));

  // Each stage gets its own root; image paths (/src, /app) map below it.
  const fsRoot = new Map<string, string>();
  const env: Record<string, string> = {};
  let workdir = '/';
  let entrypoint: string[] = [];
  let healthcheck: string[] = [];
  for (const stage of stages) {
    const sroot = join(base, stage.name);
    mkdirSync(sroot, { recursive: true });
    fsRoot.set(stage.name, sroot);
    workdir = '/';
    for (const k of Object.keys(env)) delete env[k];
    const host = (p: string): string => join(sroot, p.startsWith('/') ? p : join(workdir, p));
    for (const { op, args } of stage.steps) {
      if (op === 'WORKDIR') {
        workdir = args;
        mkdirSync(host(args), { recursive: true });
      } else if (op === 'ENV') {
        for (const [k, v] of envPairs(args)) env[k] = v;
      } else if (op === 'COPY') {
        const parts = args.split(' ');
        let from: string | null = null;
        if (parts[0]?.startsWith('--from=')) from = (parts.shift() as string).slice('--from='.length);
        const dest = parts.pop() as string;
        for (const src of parts) {
          const source = from === null ? join(root, src) : join(fsRoot.get(from) as string, src);
          const target = dest.endsWith('/') ? join(host(dest), src.split('/').at(-1) as string) : host(dest);
          mkdirSync(dirname(target), { recursive: true });
          cpSync(source, target, { recursive: true });
        }
      } else if (op === 'RUN' && args.startsWith('npm ci')) {
        // Only the npm step: `npm cache clean` would wipe the host's shared cache.
        const cmd = args.split('&&')[0]!.trim().split(' ');
        const r = await new Promise<{ code: number; out: string }>((resolve) => {
          execFile(
            'npm',
            [...cmd.slice(1), '--prefer-offline'],
            { cwd: host(workdir), env: { ...process.env, ...envNoPath(env) }, maxBuffer: 1 << 24 },
            (err, stdout, stderr) => resolve({ code: err === null ? 0 : 1, out: stdout + stderr }),
          );
        });
        assert.equal(r.code, 0, `stage ${stage.name}: ${args}\n${r.out}`);
      } else if (op === 'ENTRYPOINT') {
        entrypoint = JSON.parse(args) as string[];
      } else if (op === 'HEALTHCHECK') {
        healthcheck = JSON.parse(args.slice(args.indexOf('CMD ') + 4)) as string[];
      }
    }
  }
  const app = fsRoot.get(stages.at(-1)!.name) as string;
  const mapPath = (p: string): string => (p.startsWith('/') ? join(app, p) : p);

  // Production dependencies only: neither the compiler nor tsx is in the runtime image.
  assert.ok(existsSync(join(app, 'app/node_modules/sql.js')));
  assert.ok(!existsSync(join(app, 'app/node_modules/typescript')));
  assert.ok(!existsSync(join(app, 'app/node_modules/tsx')));

  // The image's ENV, with the state dir and listen address moved to what a test may use.
  const data = join(base, 'data');
  mkdirSync(data);
  const runEnv = {
    ...envNoPath(env),
    PATH: process.env.PATH ?? '',
    AA_ADMIN_SECRET: 'runtime-stage-test-secret',
    AA_BIND_ADDRESS: '127.0.0.1',
    AA_PORT: '0',
    AA_DB_PATH: join(data, 'data.db'),
    AA_SIGNING_KEY_PATH: join(data, 'signing.key'),
  };
  assert.equal(entrypoint[0], 'node');
  const child = spawn(process.execPath, entrypoint.slice(1).map(mapPath), {
    cwd: data,
    env: runEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const { port } = await waitForBanner(child);
  assert.match(output, /AgentWrit broker v2\.0\.0 listening on 127\.0\.0\.1:\d+/);

  const health = await request(`http://127.0.0.1:${port}`, '/v1/health');
  assert.equal(health.status, 200);
  assert.equal(health.json.status, 'ok');

  assert.equal(healthcheck[0], 'node');
  const probe = spawnSync(process.execPath, healthcheck.slice(1).map(mapPath), {
    env: { ...runEnv, AA_PORT: String(port) },
    encoding: 'utf8',
  });
  assert.equal(probe.status, 0, probe.stderr);

  // SIGTERM (docker stop) ends in a clean exit.
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
  assert.match(output, /clean exit/);
});

/** The image's PATH names image directories; the host's PATH is kept instead. */
function envNoPath(env: Record<string, string>): Record<string, string> {
  const { PATH: _path, ...rest } = env;
  return rest;
}
