import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { parseDatabaseUrl, scrub } from '../../src/store/postgres/connection.js';

const PASSWORD = 'p@ss:w/rd?#1';
const URL_ = `postgresql://broker:${encodeURIComponent(PASSWORD)}@db.internal:6432/agentwrit`;

test('AA_DATABASE_URL is taken apart once; the password travels alone and is in no message', () => {
  const t = parseDatabaseUrl(URL_);
  assert.deepEqual(
    {
      host: t.host,
      port: t.port,
      database: t.database,
      user: t.user,
      password: t.password,
      sslmode: t.sslmode,
      ssl: t.ssl,
    },
    {
      host: 'db.internal',
      port: 6432,
      database: 'agentwrit',
      user: 'broker',
      password: PASSWORD,
      sslmode: 'prefer',
      ssl: 'prefer',
    },
  );
  assert.equal(t.redacted, 'broker@db.internal:6432/agentwrit');
  assert.equal(scrub(`auth failed for ${PASSWORD}!`, PASSWORD), 'auth failed for ***!');
  assert.equal(parseDatabaseUrl('postgres://u@[::1]/d?sslmode=disable').ssl, false);
  assert.equal(parseDatabaseUrl('postgres://u@[::1]/d').redacted, 'u@[::1]:5432/d');
  const full = parseDatabaseUrl('postgres://u:x@h/d?sslmode=verify-full').ssl;
  assert.ok(typeof full === 'object' && full.rejectUnauthorized === true && full.servername === 'h');
  const req = parseDatabaseUrl('postgres://u:x@h/d?sslmode=require').ssl;
  assert.ok(typeof req === 'object' && req.rejectUnauthorized === false);
  for (const bad of [
    `${URL_}?sslmode=sometimes`,
    `${URL_}?password=x`,
    `${URL_}?sslrootcert=/nonexistent/ca.pem&sslmode=verify-ca`,
    `postgres://${encodeURIComponent(PASSWORD)}@/agentwrit`,
    `postgres://broker:${encodeURIComponent(PASSWORD)}@h/`,
  ]) {
    assert.throws(
      () => parseDatabaseUrl(bad),
      (err: Error) => !err.message.includes(PASSWORD) && !err.message.includes(encodeURIComponent(PASSWORD)),
      bad,
    );
  }
});

test('AA_DATABASE_URL: only postgres:// and postgresql://; unset or empty keeps sql.js', () => {
  const load = (v?: string) =>
    loadConfig(
      { AA_ADMIN_SECRET: 'x'.repeat(32), ...(v === undefined ? {} : { AA_DATABASE_URL: v }) },
      { homeDir: null, etcPath: '/nonexistent', warn: () => undefined },
    );
  assert.equal(load().databaseUrl, '');
  assert.equal(load('').databaseUrl, '');
  assert.equal(load(URL_).databaseUrl, URL_);
  assert.throws(
    () => load(`mysql://broker:${PASSWORD}@h/d`),
    (err: Error) => err instanceof ConfigError && !err.message.includes(PASSWORD),
  );
});
