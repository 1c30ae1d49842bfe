/** Test PKI made with the openssl CLI: a CA, a server cert for localhost/127.0.0.1, and a client cert. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Pki {
  dir: string;
  caCert: string; // paths
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  ca: Buffer; // contents, for clients
  client: { cert: Buffer; key: Buffer };
}

export function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function ssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

export function makePki(name = 'test'): Pki {
  const dir = mkdtempSync(join(tmpdir(), `awb-pki-${name}-`));
  const ec = (file: string): void => ssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', file], dir);
  ec('ca-key.pem');
  ssl(
    [
      'req',
      '-x509',
      '-new',
      '-key',
      'ca-key.pem',
      '-sha256',
      '-days',
      '1',
      '-subj',
      `/CN=${name}-ca`,
      '-out',
      'ca.pem',
    ],
    dir,
  );
  ec('server-key.pem');
  ssl(['req', '-new', '-key', 'server-key.pem', '-subj', '/CN=broker', '-out', 'server.csr'], dir);
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  ssl(
    [
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca-key.pem',
      '-CAcreateserial',
      '-days',
      '1',
      '-sha256',
      '-extfile',
      'server.ext',
      '-out',
      'server.pem',
    ],
    dir,
  );
  ec('client-key.pem');
  ssl(['req', '-new', '-key', 'client-key.pem', '-subj', '/CN=client', '-out', 'client.csr'], dir);
  writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  ssl(
    [
      'x509',
      '-req',
      '-in',
      'client.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca-key.pem',
      '-CAcreateserial',
      '-days',
      '1',
      '-sha256',
      '-extfile',
      'client.ext',
      '-out',
      'client.pem',
    ],
    dir,
  );
  return {
    dir,
    caCert: join(dir, 'ca.pem'),
    serverCert: join(dir, 'server.pem'),
    serverKey: join(dir, 'server-key.pem'),
    clientCert: join(dir, 'client.pem'),
    clientKey: join(dir, 'client-key.pem'),
    ca: readFileSync(join(dir, 'ca.pem')),
    client: { cert: readFileSync(join(dir, 'client.pem')), key: readFileSync(join(dir, 'client-key.pem')) },
  };
}
