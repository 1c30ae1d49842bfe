import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { compareSync, getRounds, hashSync } from 'bcryptjs';
import { CryptoPool, CryptoPoolClosedError } from '../../src/crypto/crypto-pool.js';
import { generateKeyPair, signDetached, verifyDetached } from '../../src/crypto/ed25519.js';
import { ED25519_ENGINES } from '../../src/crypto/ed25519-engine.js';
import { PAID_LANE } from '../../src/crypto/verify-lanes.js';

const kp = generateKeyPair();
const other = generateKeyPair();
const msg = new TextEncoder().encode('registration nonce');
const sig = signDetached(msg, kp.secretKey);
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

function withS(signature: Uint8Array, s: bigint): Uint8Array {
  const out = Uint8Array.from(signature);
  for (let i = 0; i < 32; i++) {
    out[32 + i] = Number(s & 0xffn);
    s >>= 8n;
  }
  return out;
}
function sOf(signature: Uint8Array): bigint {
  let s = 0n;
  for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(signature[i] as number);
  return s;
}

const MODES = [
  ...ED25519_ENGINES.map((engine) => ({ engine, inlineEd25519: false })),
  { engine: 'native' as const, inlineEd25519: true },
];
for (const mode of MODES)
  describe(`CryptoPool (ed25519=${mode.engine}, ${mode.inlineEd25519 ? 'on the event loop' : 'in workers'})`, () => {
    const pool = new CryptoPool({ size: 2, ...mode });
    it('runs Ed25519 where it was asked to', () => assert.equal(pool.inlineEd25519, mode.inlineEd25519));
    after(() => pool.close());

    it('verify agrees with verifyDetached on valid, invalid, malleable and mis-sized input', async () => {
      const tampered = Uint8Array.from(sig);
      tampered[0] = (tampered[0] as number) ^ 1;
      const cases: [Uint8Array, Uint8Array, Uint8Array][] = [
        [msg, sig, kp.publicKey],
        [msg, sig, other.publicKey],
        [msg, tampered, kp.publicKey],
        [new Uint8Array(0), sig, kp.publicKey],
        [msg, withS(sig, sOf(sig) + L), kp.publicKey],
        [msg, sig.subarray(0, 63), kp.publicKey],
        [msg, sig, kp.publicKey.subarray(1)],
      ];
      const expected = [true, false, false, false, false, false, false];
      for (const [i, [m, s, p]] of cases.entries()) {
        assert.equal(verifyDetached(m, s, p), expected[i], `sync case ${i}`);
        assert.equal(await pool.verify(m, s, p, PAID_LANE), expected[i], `pool case ${i}`);
      }
    });

    it('sign produces the same (deterministic) signature as signDetached', async () => {
      const fromPool = await pool.sign(msg, kp.secretKey);
      assert.ok(fromPool instanceof Uint8Array);
      assert.deepEqual(fromPool, signDetached(msg, kp.secretKey));
      await assert.rejects(pool.sign(msg, kp.secretKey.subarray(0, 32)), RangeError);
    });

    it('bcryptCompare agrees with bcryptjs and is false for malformed hashes', async () => {
      const hash = hashSync('s3cret', 4);
      assert.equal(await pool.bcryptCompare('s3cret', hash), true);
      assert.equal(await pool.bcryptCompare('s3cret!', hash), false);
      assert.equal(compareSync('s3cret!', hash), false);
      for (const bad of ['', 'plain', hash.slice(0, 59), `$2x$04$${hash.slice(7)}`, `$2a$99$${hash.slice(7)}`]) {
        assert.equal(await pool.bcryptCompare('s3cret', bad), false, bad);
      }
    });

    it('bcryptHash makes hashes bcryptjs accepts, and refuses what Go refuses', async () => {
      const hash = await pool.bcryptHash('pässword', 5);
      assert.equal(hash.length, 60);
      assert.equal(getRounds(hash), 5);
      assert.equal(compareSync('pässword', hash), true);
      await assert.rejects(pool.bcryptHash('x', 3), RangeError);
      await assert.rejects(pool.bcryptHash('x', 32), RangeError);
      await assert.rejects(pool.bcryptHash('x', 4.5), RangeError);
      await assert.rejects(pool.bcryptHash('a'.repeat(73), 4), /password length exceeds 72 bytes/);
      await assert.rejects(pool.bcryptHash('é'.repeat(37), 4), /password length exceeds 72 bytes/);
    });

    it('answers many concurrent mixed calls each with its own result', async () => {
      const jobs: Promise<void>[] = [];
      for (let i = 0; i < 120; i++) {
        const m = new TextEncoder().encode(`message ${i}`);
        if (i % 3 === 0) {
          const s = signDetached(m, kp.secretKey);
          const pub = i % 2 === 0 ? kp.publicKey : other.publicKey;
          jobs.push(pool.verify(m, s, pub, PAID_LANE).then((ok) => assert.equal(ok, i % 2 === 0, `verify ${i}`)));
        } else if (i % 3 === 1) {
          jobs.push(pool.sign(m, kp.secretKey).then((s) => assert.ok(verifyDetached(m, s, kp.publicKey), `sign ${i}`)));
        } else {
          jobs.push(pool.bcryptCompare(`p${i}`, 'malformed').then((ok) => assert.equal(ok, false)));
        }
      }
      await Promise.all(jobs);
    });
  });

describe('CryptoPool lifecycle', () => {
  it('rejects in-flight and later calls after close()', async () => {
    const pool = new CryptoPool({ size: 1, inlineEd25519: false });
    const inFlight = assert.rejects(pool.bcryptHash('x', 12), CryptoPoolClosedError);
    await pool.close();
    await inFlight;
    await assert.rejects(pool.verify(msg, sig, kp.publicKey, PAID_LANE), CryptoPoolClosedError);
    await assert.rejects(pool.verify(msg, sig.subarray(1), kp.publicKey, PAID_LANE), CryptoPoolClosedError);
    await assert.rejects(pool.sign(msg, kp.secretKey), CryptoPoolClosedError);
    await assert.rejects(pool.bcryptCompare('a', 'b'), CryptoPoolClosedError);
    await assert.rejects(pool.bcryptHash('a', 4), CryptoPoolClosedError);
    await pool.close(); // idempotent
  });

  it('rejects the jobs of a worker that dies and replaces it', async () => {
    const pool = new CryptoPool({ size: 1, inlineEd25519: false });
    try {
      assert.equal(await pool.verify(msg, sig, kp.publicKey, PAID_LANE), true);
      const slow = assert.rejects(pool.bcryptHash('x', 12), /crypto worker exited/);
      // Kill the worker from outside, as a crash would.
      const slots = (pool as unknown as { slots: { worker: Worker | null }[] }).slots;
      await slots[0]?.worker?.terminate();
      await slow;
      assert.equal(await pool.verify(msg, sig, kp.publicKey, PAID_LANE), true);
      assert.deepEqual(await pool.sign(msg, kp.secretKey), sig);
    } finally {
      await pool.close();
    }
  });

  it('neither keeps an idle process alive nor lets it exit with a job pending', async () => {
    const poolUrl = new URL('../../src/crypto/crypto-pool.ts', import.meta.url).href;
    const script = `
      import { CryptoPool } from ${JSON.stringify(poolUrl)};
      const pool = new CryptoPool({ size: 2 });
      pool.start();
      const hash = await pool.bcryptHash('x', 8);
      console.log(hash.length, await pool.bcryptCompare('x', hash));
      // no close(): the process must still exit on its own
    `;
    const started = Date.now();
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '-e', script],
        { cwd: fileURLToPath(new URL('../..', import.meta.url)), timeout: 30_000 },
        (err, out, errOut) => (err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve(out)),
      );
    });
    assert.equal(stdout.trim(), '60 true');
    assert.ok(Date.now() - started < 30_000);
  });

  it('does not keep the process alive when it was never used', async () => {
    const poolUrl = new URL('../../src/crypto/crypto-pool.ts', import.meta.url).href;
    const script = `
      import { CryptoPool } from ${JSON.stringify(poolUrl)};
      new CryptoPool({ size: 2 }).start();
      console.log('constructed');
    `;
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '-e', script],
        { cwd: fileURLToPath(new URL('../..', import.meta.url)), timeout: 15_000 },
        (err, out, errOut) => (err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve(out)),
      );
    });
    assert.equal(stdout.trim(), 'constructed');
  });
});
