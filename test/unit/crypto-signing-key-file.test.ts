import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { keyPairFromSeed } from '../../src/crypto/ed25519.js';
import { loadOrCreateSigningKey, SigningKeyError } from '../../src/crypto/signing-key-file.js';

const OPENSSL = 'openssl'; // from PATH
const haveOpenssl = spawnSync(OPENSSL, ['version']).status === 0;
const ED25519_PKCS8_PREFIX = '302e020100300506032b657004220420';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'crypto-keyfile-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function openssl(...args: string[]): Buffer {
  return execFileSync(OPENSSL, args, { stdio: ['ignore', 'pipe', 'pipe'] });
}

function pem(type: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN ${type}-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END ${type}-----\n`;
}

async function expectKeyError(path: string, message: string | RegExp): Promise<void> {
  await assert.rejects(loadOrCreateSigningKey(path), (err: unknown) => {
    assert.ok(err instanceof SigningKeyError, `expected SigningKeyError, got ${String(err)}`);
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

async function writeKey(name: string, contents: string | Uint8Array): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, contents);
  return path;
}

describe('loadOrCreateSigningKey: openssl interoperability', { skip: !haveOpenssl && 'openssl not installed' }, () => {
  it('loads a key made by `openssl genpkey -algorithm ed25519` and derives the same public key', async () => {
    const path = join(dir, 'openssl.pem');
    openssl('genpkey', '-algorithm', 'ed25519', '-out', path);
    const { keyPair, created } = await loadOrCreateSigningKey(path);
    assert.equal(created, false);
    const spki = openssl('pkey', '-in', path, '-pubout', '-outform', 'DER');
    assert.equal(spki.length, 44);
    assert.deepEqual(keyPair.publicKey, new Uint8Array(spki.subarray(12)));
    assert.deepEqual(keyPairFromSeed(keyPair.seed).publicKey, keyPair.publicKey);
  });

  it('writes a file that openssl reads as the same key', async () => {
    const path = join(dir, 'ours-for-openssl.pem');
    const { keyPair } = await loadOrCreateSigningKey(path);
    const spki = openssl('pkey', '-in', path, '-pubout', '-outform', 'DER');
    assert.deepEqual(new Uint8Array(spki.subarray(12)), keyPair.publicKey);
  });

  it('names RSA, ECDSA and X25519 keys instead of calling them parse errors', async () => {
    const cases: [string, string[]][] = [
      ['RSA', ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024']],
      ['ECDSA', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']],
      ['X25519', ['-algorithm', 'X25519']],
    ];
    for (const [name, args] of cases) {
      const path = join(dir, `foreign-${name}.pem`);
      openssl('genpkey', ...args, '-out', path);
      await expectKeyError(path, `keystore: key is ${name}, want Ed25519`);
    }
  });
});

describe('loadOrCreateSigningKey: creating a key', () => {
  it('creates parent directories 0700 and the file 0600, then reloads the same key', async () => {
    const parent = join(dir, 'new', 'nested');
    const path = join(parent, 'signing.pem');
    const first = await loadOrCreateSigningKey(path);
    assert.equal(first.created, true);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.equal((await stat(parent)).mode & 0o777, 0o700);
    assert.equal((await stat(join(dir, 'new'))).mode & 0o777, 0o700);

    const text = await readFile(path, 'utf8');
    const m = /^-----BEGIN PRIVATE KEY-----\n([A-Za-z0-9+/=]+)\n-----END PRIVATE KEY-----\n$/.exec(text);
    assert.ok(m, text);
    const der = Buffer.from(m[1] as string, 'base64');
    assert.equal(der.length, 48);
    assert.equal(der.subarray(0, 16).toString('hex'), ED25519_PKCS8_PREFIX);
    assert.deepEqual(new Uint8Array(der.subarray(16)), first.keyPair.seed);

    const second = await loadOrCreateSigningKey(path);
    assert.equal(second.created, false);
    assert.deepEqual(second.keyPair, first.keyPair);
    assert.deepEqual(await readdir(parent), ['signing.pem']); // no temporary file left behind
  });

  it('lets exactly one of two concurrent creators win', async () => {
    const path = join(dir, 'race', 'key.pem');
    const results = await Promise.allSettled([loadOrCreateSigningKey(path), loadOrCreateSigningKey(path)]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    assert.equal(won.length, 1);
    assert.equal(lost.length, 1);
    assert.match(String((lost[0] as PromiseRejectedResult).reason), /keystore: create file: .*file already exists/);
    const reloaded = await loadOrCreateSigningKey(path);
    assert.deepEqual(reloaded.keyPair, (won[0] as PromiseFulfilledResult<typeof reloaded>).value.keyPair);
    assert.deepEqual(await readdir(join(dir, 'race')), ['key.pem']);
  });

  it('reports a directory it cannot create', async () => {
    // procfs refuses new entries even for root.
    await expectKeyError(
      '/proc/self/no-such-dir/key.pem',
      /^keystore: create directory: mkdir \/proc\/self\/no-such-dir: /,
    );
  });

  it('reports a file it cannot create', async () => {
    await expectKeyError('/proc/self/key.pem', /^keystore: create file: open \/proc\/self\/key\.pem\.[0-9a-f]+\.tmp: /);
  });
});

describe('loadOrCreateSigningKey: reading an existing file', () => {
  const seed = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
  const der = Buffer.concat([Buffer.from(ED25519_PKCS8_PREFIX, 'hex'), seed]);

  it('ignores text around the block and any later block', async () => {
    const other = pem('PRIVATE KEY', Buffer.concat([Buffer.from(ED25519_PKCS8_PREFIX, 'hex'), Buffer.alloc(32, 9)]));
    const path = await writeKey(
      'surrounded.pem',
      `comment line\n\xff garbage\n${pem('PRIVATE KEY', der)}trailing\n${other}`,
    );
    const { keyPair } = await loadOrCreateSigningKey(path);
    assert.deepEqual(keyPair.seed, seed);
  });

  it('accepts CRLF line endings', async () => {
    const path = await writeKey('crlf.pem', pem('PRIVATE KEY', der).replace(/\n/g, '\r\n'));
    assert.deepEqual((await loadOrCreateSigningKey(path)).keyPair.seed, seed);
  });

  it('accepts the RFC 5958 v2 form carrying the public key, and rejects a mismatched one', async () => {
    const pub = keyPairFromSeed(seed).publicKey;
    const body = (p: Uint8Array): Buffer =>
      Buffer.concat([Buffer.from('3051020101300506032b657004220420', 'hex'), seed, Buffer.from('812100', 'hex'), p]);
    const good = await writeKey('v2.pem', pem('PRIVATE KEY', body(pub)));
    assert.deepEqual((await loadOrCreateSigningKey(good)).keyPair.publicKey, pub);

    const wrongPub = Uint8Array.from(pub);
    wrongPub[0] = (wrongPub[0] as number) ^ 1;
    const bad = await writeKey('v2-mismatch.pem', pem('PRIVATE KEY', body(wrongPub)));
    await expectKeyError(bad, 'keystore: parse PKCS8: public key does not match private key');
  });

  it('reports a path it cannot read', async () => {
    const sub = join(dir, 'is-a-dir');
    await mkdir(sub);
    await expectKeyError(sub, `keystore: read ${sub}: read ${sub}: illegal operation on a directory`);
  });

  it('reports files without a PEM block', async () => {
    for (const [name, contents] of [
      ['empty.pem', ''],
      ['raw-seed.bin', seed],
      ['der.bin', der],
      ['half.pem', '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI\n'],
      ['bad-base64.pem', '-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n'],
    ] as const) {
      await expectKeyError(await writeKey(name, contents), 'keystore: no PEM block found');
    }
  });

  it('reports the wrong PEM block type', async () => {
    const path = await writeKey('ec.pem', pem('EC PRIVATE KEY', der));
    await expectKeyError(path, 'keystore: unexpected PEM block type "EC PRIVATE KEY", want "PRIVATE KEY"');
  });

  it('reports PKCS#8 structures it cannot parse', async () => {
    const cases: [string, Uint8Array][] = [
      ['garbage', Buffer.from('not der at all')],
      ['truncated', der.subarray(0, 40)],
      ['short seed', Buffer.from(`302d020100300506032b65700421041f${'00'.repeat(31)}`, 'hex')],
      ['trailing', Buffer.concat([der, Buffer.from([0])])],
      ['params', Buffer.from(`3030020100300706032b6570050004220420${'00'.repeat(32)}`, 'hex')],
      ['version 2', Buffer.from(`302e020102300506032b657004220420${'00'.repeat(32)}`, 'hex')],
    ];
    for (const [name, body] of cases) {
      const path = await writeKey(`bad-${name.replace(/ /g, '-')}.pem`, pem('PRIVATE KEY', body));
      await expectKeyError(path, /^keystore: parse PKCS8: \S/);
    }
  });

  it('names an unknown algorithm by OID', async () => {
    // The Ed25519 layout with the unassigned OID 1.3.101.99.
    const body = Buffer.from(`302e020100300506032b656304220420${'00'.repeat(32)}`, 'hex');
    const path = await writeKey('unknown-alg.pem', pem('PRIVATE KEY', body));
    await expectKeyError(path, 'keystore: key is algorithm 1.3.101.99, want Ed25519');
  });
});
