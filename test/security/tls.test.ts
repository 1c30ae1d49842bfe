/**
 * TLS under attack (beyond test/integration/tls.test.ts): mTLS refuses at the handshake a missing client
 * certificate, one from another CA and a self-signed one claiming the CA's name, in bulk and concurrently, without
 * any of them reaching HTTP; TLS 1.0/1.1 are refused; the broker keeps serving its real clients.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import tls from 'node:tls';
import { startTestBroker } from '../helpers/broker.js';
import { hasOpenssl, makePki } from '../helpers/certs.js';

const skip = hasOpenssl() ? false : 'openssl not available';

function handshake(port: number, opts: tls.ConnectionOptions): Promise<'ok' | string> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ...opts }, () => {
      // TLS 1.3 reports a refused client certificate after the handshake: wait for an answer or an alert.
      s.write('GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    });
    let data = '';
    s.on('data', (c: Buffer) => (data += c.toString()));
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    s.on('close', () => resolve(/^HTTP\/1\.1 200 /.test(data) ? 'ok' : `closed: ${data.slice(0, 20)}`));
    s.setTimeout(5_000, () => s.destroy(new Error('timeout')));
  });
}

test('mtls: foreign, spoofed and missing client certificates die at the handshake; TLS 1.0/1.1 refused', {
  skip,
  timeout: 40_000,
}, async (t) => {
  const pki = makePki('sec-mtls');
  const other = makePki('sec-other');
  t.after(() => {
    rmSync(pki.dir, { recursive: true, force: true });
    rmSync(other.dir, { recursive: true, force: true });
  });
  // A self-signed certificate whose subject and issuer copy the real CA's name.
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      'spoof-key.pem',
      '-out',
      'spoof.pem',
      '-days',
      '1',
      '-subj',
      '/CN=sec-mtls-ca',
    ],
    { cwd: other.dir, stdio: 'pipe' },
  );
  const spoof = {
    cert: readFileSync(join(other.dir, 'spoof.pem')),
    key: readFileSync(join(other.dir, 'spoof-key.pem')),
  };
  const b = await startTestBroker(t, {
    env: { AA_TLS_MODE: 'mtls', AA_TLS_CERT: pki.serverCert, AA_TLS_KEY: pki.serverKey, AA_TLS_CLIENT_CA: pki.caCert },
    tls: { ca: pki.ca, ...pki.client },
  });
  const port = b.handle.port;
  assert.equal(await handshake(port, { ca: pki.ca, ...pki.client }), 'ok');

  const hostile: tls.ConnectionOptions[] = [{ ca: pki.ca }, { ca: pki.ca, ...other.client }, { ca: pki.ca, ...spoof }];
  const results = await Promise.all(
    Array.from({ length: 60 }, (_, i) => handshake(port, hostile[i % hostile.length] as tls.ConnectionOptions)),
  );
  for (const r of results) assert.notEqual(r, 'ok');
  for (const version of ['TLSv1', 'TLSv1.1'] as const) {
    const r = await handshake(port, {
      ca: pki.ca,
      ...pki.client,
      minVersion: version,
      maxVersion: version,
      ciphers: 'DEFAULT@SECLEVEL=0',
    });
    assert.notEqual(r, 'ok', version);
  }
  assert.equal(b.logs.filter((l) => l.includes('request completed')).length, 1, 'only the real client reached HTTP');
  assert.equal(await handshake(port, { ca: pki.ca, ...pki.client }), 'ok');
});
