/**
 * A throwaway PostgreSQL cluster from the machine's own binaries: `initdb` into a fresh temp dir, a free loopback
 * port, the unix socket in that dir, everything removed on `stop()`. One cluster per test file, shared by its tests;
 * each test takes its own database with `createDatabase()`.
 *
 * As root the cluster runs as the `postgres` user, so its directory is a fresh mkdtemp under os.tmpdir() chowned to
 * that user (the checkout may sit in a directory it cannot enter), and the binaries run with that dir as cwd.
 *
 * Without binaries the PostgreSQL tests skip locally; under CI=true they fail instead (`pgSkip` is false there).
 */
import { execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';

const PASSWORD = 'pg-test-Pa55word-7f3a9c';

function pgBinDirs(): string[] {
  const dirs: string[] = [];
  const fromPath = (process.env.PATH ?? '').split(':').filter((d) => d !== '');
  dirs.push(...fromPath, '/usr/local/bin', '/usr/local/pgsql/bin');
  for (const base of ['/usr/lib/postgresql', '/usr/pgsql']) {
    if (!existsSync(base)) continue;
    // Newest major version first.
    const versions = readdirSync(base)
      .filter((v) => /^\d+(\.\d+)?$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    dirs.push(...versions.map((v) => join(base, v, 'bin')));
  }
  return dirs;
}

/** The directory holding both `initdb` and `pg_ctl`, or null. */
export function findPgBin(): string | null {
  for (const d of pgBinDirs()) {
    if (existsSync(join(d, 'initdb')) && existsSync(join(d, 'pg_ctl'))) return d;
  }
  return null;
}

const PG_BIN = findPgBin();

/** A `skip` value for node:test: a reason when PostgreSQL tests cannot run here, false otherwise (always false in CI). */
export const pgSkip: string | false =
  PG_BIN === null && process.env.CI !== 'true' ? 'PostgreSQL binaries (initdb, pg_ctl) not found' : false;

function postgresIds(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { uid, gid };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function run(bin: string, args: string[], cwd: string, ids: { uid: number; gid: number } | null): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, {
      cwd,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C', LC_ALL: 'C' },
      ...(ids ?? {}),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${bin} ${args.join(' ')} exited ${code}: ${out}`)),
    );
  });
}

export interface PgCluster {
  port: number;
  user: string;
  password: string;
  /** The cluster's temp dir (holds data/ and the unix socket). */
  dir: string;
  /** A URL for `database` over TCP with password authentication. */
  url(database: string, user?: string, password?: string): string;
  /** A fresh, empty database; returns its URL. */
  createDatabase(): Promise<string>;
  /** Stops the server, keeping the data (to test an outage). */
  pause(): Promise<void>;
  /** Starts it again on the same port. */
  resume(): Promise<void>;
  /** Stops the server and removes the directory. */
  stop(): Promise<void>;
}

let dbCounter = 0;

export async function startPostgres(): Promise<PgCluster> {
  if (PG_BIN === null)
    throw new Error('PostgreSQL binaries (initdb, pg_ctl) not found; install Debian package postgresql');
  const ids = postgresIds();
  const dir = mkdtempSync(join(tmpdir(), 'awpg-'));
  if (ids !== null) chownSync(dir, ids.uid, ids.gid);
  const data = join(dir, 'data');
  const pwfile = join(dir, 'pw');
  writeFileSync(pwfile, `${PASSWORD}\n`, { mode: 0o600 });
  if (ids !== null) chownSync(pwfile, ids.uid, ids.gid);
  const port = await freePort();
  await run(
    join(PG_BIN, 'initdb'),
    [
      '-D',
      data,
      '-U',
      'postgres',
      `--pwfile=${pwfile}`,
      '--auth-host=scram-sha-256',
      '--auth-local=trust',
      '-E',
      'UTF8',
      '--no-locale',
      '--no-sync',
    ],
    dir,
    ids,
  );
  rmSync(pwfile);
  // Tests never crash PostgreSQL itself, so its fsync buys them nothing but time.
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=60`;
  const start = (): Promise<string> =>
    run(join(PG_BIN, 'pg_ctl'), ['start', '-w', '-t', '60', '-D', data, '-l', join(dir, 'log'), '-o', opts], dir, ids);
  const stopServer = (): Promise<string> =>
    run(join(PG_BIN, 'pg_ctl'), ['stop', '-w', '-m', 'fast', '-D', data], dir, ids);
  await start();
  let running = true;
  // A test process that dies without running its hooks must not leave a server behind: immediate shutdown at exit.
  const killAtExit = (): void => {
    try {
      const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
      if (pid > 0) process.kill(pid, 'SIGQUIT');
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // already stopped
    }
  };
  process.on('exit', killAtExit);
  const url = (database: string, user = 'postgres', password = PASSWORD): string =>
    `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
  return {
    port,
    user: 'postgres',
    password: PASSWORD,
    dir,
    url,
    async createDatabase() {
      const name = `aw_${process.pid}_${++dbCounter}`;
      const sql = postgres(url('postgres'), { max: 1, onnotice: () => undefined });
      try {
        await sql.unsafe(`CREATE DATABASE ${name}`);
      } finally {
        await sql.end();
      }
      return url(name);
    },
    async pause() {
      if (!running) return;
      await stopServer();
      running = false;
    },
    async resume() {
      if (running) return;
      await start();
      running = true;
    },
    async stop() {
      try {
        if (running) await run(join(PG_BIN, 'pg_ctl'), ['stop', '-w', '-m', 'immediate', '-D', data], dir, ids);
      } finally {
        running = false;
        process.off('exit', killAtExit);
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/**
 * For a test file that reruns another file's tests on PostgreSQL: starts this file's cluster, points every broker the
 * tests start at a database of its own (one per broker dir), and stops the cluster when the file is done.
 */
export async function runBrokersOnPostgres(
  after: (fn: () => Promise<void>) => void,
  use: (fn: ((dir: string) => Promise<string>) | null) => void,
): Promise<PgCluster> {
  const pg = await startPostgres();
  after(() => pg.stop());
  const byDir = new Map<string, Promise<string>>();
  use((dir) => {
    let url = byDir.get(dir);
    if (url === undefined) {
      url = pg.createDatabase();
      byDir.set(dir, url);
    }
    return url;
  });
  return pg;
}
