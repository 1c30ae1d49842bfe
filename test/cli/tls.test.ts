/** awrit against tls and mtls brokers, and the ways a broker can be unreachable (exit 3). */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { ADMIN_SECRET, startTestBroker } from '../helpers/broker.js';
import { awrit, errorLine } from './awrit.js';
import { makePki } from './certs.js';

test('tls broker: --cacert or AACTL_CA_CERT, and a clear failure without them', async (t) => {
  const pki = makePki(t);
  const b = await startTestBroker(t, {
    env: { AA_TLS_MODE: 'tls', AA_TLS_CERT: pki.serverCert, AA_TLS_KEY: pki.serverKey },
    tls: { ca: readFileSync(pki.caCert) },
  });
  assert.match(b.url, /^https:/);
  const env = { AACTL_BROKER_URL: b.url, AACTL_ADMIN_SECRET: ADMIN_SECRET };
  const [withFlag, withEnv, untrusted] = await Promise.all([
    awrit(['app', 'register', '--name', 'tls-bot', '--scopes', 'read:x:*', '--json', '--cacert', pki.caCert], { env }),
    awrit(['app', 'list'], { env: { ...env, AACTL_CA_CERT: pki.caCert } }),
    awrit(['app', 'list'], { env }),
  ]);
  assert.equal(withFlag.code, 0, withFlag.stderr);
  assert.equal(JSON.parse(withFlag.stdout).name, 'tls-bot');
  assert.equal(withEnv.code, 0, withEnv.stderr);
  assert.equal(untrusted.code, 3);
  assert.match(
    errorLine(untrusted),
    new RegExp(
      `^awrit: cannot reach broker at ${b.url}: TLS: broker certificate not trusted \\(.+\\); pass its CA with --cacert$`,
    ),
  );
});

test('mtls broker: needs --cert and --key (or AACTL_CLIENT_CERT/AACTL_CLIENT_KEY)', async (t) => {
  const pki = makePki(t);
  const ca = readFileSync(pki.caCert);
  const b = await startTestBroker(t, {
    env: { AA_TLS_MODE: 'mtls', AA_TLS_CERT: pki.serverCert, AA_TLS_KEY: pki.serverKey, AA_TLS_CLIENT_CA: pki.caCert },
    tls: { ca, cert: readFileSync(pki.clientCert), key: readFileSync(pki.clientKey) },
  });
  const env = { AACTL_BROKER_URL: b.url, AACTL_ADMIN_SECRET: ADMIN_SECRET, AACTL_CA_CERT: pki.caCert };
  const agent = await b.registerAgent();
  const [flags, envs, noCert, halfCert] = await Promise.all([
    awrit(['audit', 'verify', '--cert', pki.clientCert, '--key', pki.clientKey], { env }),
    awrit(['token', 'release', '--token', agent.token], {
      env: {
        ...env,
        AACTL_ADMIN_SECRET: undefined,
        AACTL_CLIENT_CERT: pki.clientCert,
        AACTL_CLIENT_KEY: pki.clientKey,
      },
    }),
    awrit(['app', 'list'], { env }),
    awrit(['app', 'list', '--cert', pki.clientCert], { env }),
  ]);
  assert.equal(flags.code, 0, flags.stderr);
  assert.match(flags.stdout, /^verified \d+ events; chain intact/);
  assert.equal(envs.code, 0, envs.stderr);
  assert.equal((await b.req('/v1/token/validate', { body: { token: agent.token } })).json.valid, false);
  assert.equal(noCert.code, 3);
  assert.equal(
    errorLine(noCert),
    `awrit: cannot reach broker at ${b.url}: TLS: the broker rejected the handshake (tlsv13 alert certificate required); ` +
      'the broker may require a client certificate (--cert and --key)',
  );
  assert.equal(halfCert.code, 2);
  assert.match(errorLine(halfCert), /needs both --cert and --key/);
});

test('unreachable broker: refused connection and timeout exit 3; bad URL or TLS flags on http exit 2', async (t) => {
  const sockets: Socket[] = [];
  const silent = createServer((s) => sockets.push(s)); // accepts, never answers
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  t.after(() => {
    for (const s of sockets) s.destroy();
    silent.close();
  });
  const addr = silent.address();
  assert.ok(addr !== null && typeof addr === 'object');
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const closedPort = (closed.address() as { port: number }).port;
  await new Promise<void>((r) => closed.close(() => r()));

  const secret = { AACTL_ADMIN_SECRET: ADMIN_SECRET };
  const [refused, slow, notUrl, tlsOnHttp] = await Promise.all([
    awrit(['app', 'list'], { env: { ...secret, AACTL_BROKER_URL: `http://127.0.0.1:${closedPort}` } }),
    awrit(['app', 'list', '--timeout', '300ms'], {
      env: { ...secret, AACTL_BROKER_URL: `http://127.0.0.1:${addr.port}` },
    }),
    awrit(['app', 'list'], { env: { ...secret, AACTL_BROKER_URL: 'broker:8080' } }),
    awrit(['app', 'list', '--cacert', '/nonexistent'], { env: { ...secret, AACTL_BROKER_URL: 'http://127.0.0.1:1' } }),
  ]);
  assert.equal(refused.code, 3);
  assert.equal(
    errorLine(refused),
    `awrit: cannot reach broker at http://127.0.0.1:${closedPort}: connect ECONNREFUSED 127.0.0.1:${closedPort}`,
  );
  assert.equal(slow.code, 3);
  assert.equal(
    errorLine(slow),
    `awrit: cannot reach broker at http://127.0.0.1:${addr.port}: no response within 300ms (raise --timeout if the broker is slow)`,
  );
  assert.equal(notUrl.code, 2);
  assert.match(errorLine(notUrl), /AACTL_BROKER_URL must start with http:\/\/ or https:\/\//);
  assert.equal(tlsOnHttp.code, 2);
  assert.match(errorLine(tlsOnHttp), /TLS flags given but AACTL_BROKER_URL is plain http/);
});
