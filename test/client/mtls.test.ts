/** The agent life cycle through the SDK against a broker that requires client certificates. */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import {
  AgentWritApp,
  closeSharedConnections,
  createVerifier,
  TransportError,
  validate,
} from '../../src/client/index.js';
import { startTestBroker } from '../helpers/broker.js';
import { hasOpenssl, makePki } from '../helpers/certs.js';
import { createApp } from './support.js';

const skip = hasOpenssl() ? false : 'openssl not available';

test('mtls: create, validate, verify, delegate, renew and release over client-certificate TLS', { skip }, async (t) => {
  const pki = makePki('sdk-mtls');
  t.after(() => rmSync(pki.dir, { recursive: true, force: true }));
  const b = await startTestBroker(t, {
    env: {
      AA_TLS_MODE: 'mtls',
      AA_TLS_CERT: pki.serverCert,
      AA_TLS_KEY: pki.serverKey,
      AA_TLS_CLIENT_CA: pki.caCert,
      AA_BIND_ADDRESS: '127.0.0.1',
    },
    tls: { ca: pki.ca, ...pki.client },
  });
  assert.ok(b.url.startsWith('https://'));
  const creds = await createApp(b, 'mtls-app');
  // PEM strings and Buffers are both accepted.
  const tls = { ca: pki.ca.toString(), cert: pki.client.cert, key: pki.client.key.toString() };
  const app = new AgentWritApp({ brokerUrl: b.url, ...creds, tls });
  t.after(() => app.close());

  assert.equal((await app.health()).status, 'ok');
  const a = await app.createAgent({ orchId: 'secure', taskId: 'reader', requestedScope: ['read:data:*'] });
  const target = await app.createAgent({ orchId: 'secure', taskId: 'worker', requestedScope: ['read:data:x'] });
  const r = await validate(b.url, a.accessToken, { tls });
  assert.equal(r.valid, true);
  const verifier = createVerifier({ brokerUrl: b.url, tls });
  t.after(() => verifier.close());
  assert.equal((await verifier.verify(a.accessToken, { requiredScope: ['read:data:report'] })).sub, a.agentId);
  const d = await a.delegate({ delegateTo: target.agentId, scope: ['read:data:x'] });
  assert.equal((await app.validate(d.accessToken)).valid, true);
  const old = a.accessToken;
  await a.renew();
  assert.equal((await app.validate(old)).valid, false);
  await a.release();
  await target.release();
  assert.equal((await app.validate(a.accessToken)).valid, false);
  closeSharedConnections();

  // Without a client certificate the handshake is refused, and the error says what is missing.
  const noCert = new AgentWritApp({ brokerUrl: b.url, ...creds, tls: { ca: pki.ca } });
  t.after(() => noCert.close());
  await assert.rejects(noCert.health(), (e: unknown) => {
    assert.ok(e instanceof TransportError, String(e));
    assert.equal(e.reason, 'tls');
    assert.match(e.message, /client certificate/);
    return true;
  });
  // Without the private CA the broker's certificate is not trusted.
  const noCa = new AgentWritApp({ brokerUrl: b.url, ...creds, tls: { cert: pki.client.cert, key: pki.client.key } });
  t.after(() => noCa.close());
  await assert.rejects(noCa.health(), (e: unknown) => e instanceof TransportError && e.reason === 'tls');
});
