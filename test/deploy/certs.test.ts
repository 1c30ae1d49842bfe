/**
 * scripts/gen_test_certs.sh produces certificates that give a working TLS and mTLS broker, under the file names
 * the compose overlays mount; scripts/healthcheck.mjs (the image's HEALTHCHECK) works in all three modes.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startTestBroker } from '../helpers/broker.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const probe = join(root, 'scripts/healthcheck.mjs');

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Runs the health probe with only the given environment; resolves to its exit code and stderr. */
function runProbe(env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [probe],
      { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 10_000 },
      (err, _out, stderr) => {
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stderr });
      },
    );
  });
}

test('health probe: plain HTTP broker healthy, nothing listening unhealthy', async (t) => {
  const b = await startTestBroker(t);
  const port = String(b.handle.port);
  assert.deepEqual(await runProbe({ AA_PORT: port, AA_BIND_ADDRESS: '0.0.0.0' }), { code: 0, stderr: '' });
  await b.stop();
  const down = await runProbe({ AA_PORT: port });
  assert.equal(down.code, 1);
  assert.match(down.stderr, /^unhealthy: /);
});

test('gen_test_certs.sh output serves TLS and mTLS', {
  skip: hasOpenssl() ? false : 'openssl not installed',
}, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'awcerts-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = execFileSync('bash', [join(root, 'scripts/gen_test_certs.sh'), dir], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  assert.match(out, /Certs generated/);
  const f = (name: string): string => join(dir, name);
  for (const name of ['ca.pem', 'ca-key.pem', 'broker.pem', 'broker-key.pem', 'client.pem', 'client-key.pem']) {
    assert.ok(statSync(f(name)).size > 0, name);
  }
  // EC P-256 keys; SANs for localhost and 127.0.0.1.
  for (const key of ['ca-key.pem', 'broker-key.pem', 'client-key.pem']) {
    assert.match(
      execFileSync('openssl', ['pkey', '-in', f(key), '-noout', '-text'], { encoding: 'utf8' }),
      /prime256v1|P-256/,
    );
  }
  const brokerText = execFileSync('openssl', ['x509', '-in', f('broker.pem'), '-noout', '-text'], { encoding: 'utf8' });
  assert.match(brokerText, /DNS:localhost/);
  assert.match(brokerText, /IP Address:127\.0\.0\.1/);
  const ca = readFileSync(f('ca.pem'));
  const clientTls = { ca, cert: readFileSync(f('client.pem')), key: readFileSync(f('client-key.pem')) };

  // One-way TLS.
  const tls = await startTestBroker(t, {
    env: { AA_TLS_MODE: 'tls', AA_TLS_CERT: f('broker.pem'), AA_TLS_KEY: f('broker-key.pem') },
    tls: { ca },
  });
  assert.match(tls.url, /^https:/);
  const h = await tls.req('/v1/health');
  assert.equal(h.status, 200);
  assert.equal(h.json.status, 'ok');
  assert.match(String(h.headers['strict-transport-security']), /max-age=/);
  // ...also verified for the name localhost, as the compose overlay's probe does.
  const port = String(tls.handle.port);
  assert.equal((await runProbe({ AA_PORT: port, AA_TLS_MODE: 'tls', AA_HEALTHCHECK_CA: f('ca.pem') })).code, 0);
  assert.equal((await runProbe({ AA_PORT: port, AA_TLS_MODE: 'tls' })).code, 0);
  await tls.stop();

  // Mutual TLS.
  const mtls = await startTestBroker(t, {
    env: {
      AA_TLS_MODE: 'mtls',
      AA_TLS_CERT: f('broker.pem'),
      AA_TLS_KEY: f('broker-key.pem'),
      AA_TLS_CLIENT_CA: f('ca.pem'),
    },
    tls: clientTls,
  });
  assert.equal((await mtls.req('/v1/health')).status, 200);
  // Without a client certificate the handshake fails: no HTTP response at all.
  await assert.rejects(mtls.req('/v1/health', { tls: { ca } }));
  const mport = String(mtls.handle.port);
  const mtlsEnv = { AA_PORT: mport, AA_TLS_MODE: 'mtls', AA_HEALTHCHECK_CA: f('ca.pem') };
  assert.equal(
    (await runProbe({ ...mtlsEnv, AA_HEALTHCHECK_CERT: f('client.pem'), AA_HEALTHCHECK_KEY: f('client-key.pem') }))
      .code,
    0,
  );
  const noCert = await runProbe(mtlsEnv);
  assert.equal(noCert.code, 1);
  assert.match(noCert.stderr, /AA_HEALTHCHECK_CERT/);
});
