/** Real TLS and mTLS handshakes against the broker's one server factory. */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { startTestBroker } from '../helpers/broker.js';
import { hasOpenssl, makePki } from '../helpers/certs.js';
import { request } from '../helpers/http.js';

const skip = hasOpenssl() ? false : 'openssl not available';

test('tls mode: HTTPS with HSTS, TLS 1.2 minimum', { skip }, async (t) => {
  const pki = makePki('tls');
  t.after(() => rmSync(pki.dir, { recursive: true, force: true }));
  const b = await startTestBroker(t, {
    env: { AA_TLS_MODE: 'tls', AA_TLS_CERT: pki.serverCert, AA_TLS_KEY: pki.serverKey, AA_BIND_ADDRESS: '127.0.0.1' },
    tls: { ca: pki.ca },
  });
  assert.ok(b.url.startsWith('https://'));
  const r = await b.req('/v1/health');
  assert.equal(r.status, 200);
  assert.equal(r.headers['strict-transport-security'], 'max-age=63072000; includeSubDomains');
  // The lifecycle basics work over TLS.
  const admin = await b.adminToken();
  assert.ok(admin.length > 100);
  // TLS 1.1 is refused.
  await assert.rejects(
    request(b.url, '/v1/health', { tls: { ca: pki.ca, maxVersion: 'TLSv1.1', minVersion: 'TLSv1' } }),
  );
  // TLS 1.2 with a non-AEAD suite is refused.
  await assert.rejects(
    request(b.url, '/v1/health', { tls: { ca: pki.ca, maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA256' } }),
  );
  const tls12 = await request(b.url, '/v1/health', { tls: { ca: pki.ca, maxVersion: 'TLSv1.2' } });
  assert.equal(tls12.status, 200);
  // A plain HTTP request to the TLS port gets no HTTP answer.
  await assert.rejects(
    request(b.url.replace('https:', 'http:'), '/v1/health').then((res) => {
      if (res.status === 200) throw new Error('plain HTTP must not be served');
      throw new Error('rejected');
    }),
  );
});

test('mtls mode: client certificate required and checked at the handshake', { skip }, async (t) => {
  const pki = makePki('mtls');
  const other = makePki('other');
  t.after(() => {
    rmSync(pki.dir, { recursive: true, force: true });
    rmSync(other.dir, { recursive: true, force: true });
  });
  const b = await startTestBroker(t, {
    env: { AA_TLS_MODE: 'mtls', AA_TLS_CERT: pki.serverCert, AA_TLS_KEY: pki.serverKey, AA_TLS_CLIENT_CA: pki.caCert },
    tls: { ca: pki.ca, ...pki.client },
  });
  const ok = await b.req('/v1/health');
  assert.equal(ok.status, 200);
  assert.equal(ok.headers['strict-transport-security'], 'max-age=63072000; includeSubDomains');
  await assert.rejects(request(b.url, '/v1/health', { tls: { ca: pki.ca } }), 'no client certificate');
  await assert.rejects(
    request(b.url, '/v1/health', { tls: { ca: pki.ca, ...other.client } }),
    'client cert from another CA',
  );
  // Rejected handshakes never reach HTTP: no request log line for them.
  const before = b.logs.filter((l) => l.includes('request completed')).length;
  await assert.rejects(request(b.url, '/v1/health', { tls: { ca: pki.ca } }));
  assert.equal(b.logs.filter((l) => l.includes('request completed')).length, before);
});
