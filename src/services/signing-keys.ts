/**
 * The broker's signing keys in memory: the active key pair (the only one that signs) and the public key and state of
 * every key in the `signing_keys` table, so a token is verified with the key its `kid` names. State changes are made
 * by the operations in `operations/keys.ts` through units of work; this module only holds and answers.
 *
 * Key-pair handling is confined to three places: `crypto/signing-key-file.ts` (reading and writing the key file),
 * `newSigningKeyPair` below, and the `secretKey`/`publicKeyFor` accessors the token service hands to the crypto pool.
 */
import { decodeBase64Url, encodeBase64Url } from '../crypto/base64.js';
import { type Ed25519KeyPair, generateKeyPair, jwkThumbprint } from '../crypto/ed25519.js';
import { jwtHeaderJson } from '../crypto/jwt.js';
import { SigningKeyError } from '../crypto/signing-key-file.js';
import { rfc3339Seconds } from '../platform/time.js';
import type { SigningKeyRow, SigningKeyState } from '../store/store.js';

export interface Jwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  kid: string;
  use: 'sig';
  alg: 'EdDSA';
}

interface ActiveKey {
  kid: string;
  keyPair: Ed25519KeyPair;
  /** The JWT header every token signed with it carries (fixed text: tokens look exactly like the Go broker's). */
  header: string;
}

export function newSigningKeyPair(): Ed25519KeyPair {
  return generateKeyPair();
}

export function kidOf(keyPair: Ed25519KeyPair): string {
  return jwkThumbprint(keyPair.publicKey);
}

/** The table row of a key that starts signing now. */
export function activeRow(keyPair: Ed25519KeyPair, nowS: number): SigningKeyRow {
  return {
    kid: kidOf(keyPair),
    public_key: encodeBase64Url(keyPair.publicKey),
    state: 'active',
    created_at: nowS,
    rotated_at: null,
    retire_at: null,
    retired_at: null,
  };
}

export class SigningKeys {
  private active: ActiveKey;
  private readonly rows = new Map<string, SigningKeyRow>();
  private readonly publicKeys = new Map<string, Uint8Array>();
  /** Kids of active and retiring keys: the ones a token header may name. */
  readonly verifyingKids = new Set<string>();
  /** Set while a rotation writes the key file; a second rotation meanwhile is refused. */
  rotating = false;
  /** Set while this broker follows another broker's rotation (shared store). */
  following: Promise<void> | null = null;

  /**
   * `rows` is the table as loaded; `fileKey` the key pair from the key file, which becomes the active key in memory.
   * A key file holding a key the table records as rotated out is refused: signing with it again would revive a key
   * an operator retired, possibly after a compromise.
   */
  constructor(rows: readonly SigningKeyRow[], fileKey: Ed25519KeyPair) {
    for (const r of rows) this.remember(r);
    const kid = kidOf(fileKey);
    const known = this.rows.get(kid);
    if (known !== undefined && known.state !== 'active') {
      throw new SigningKeyError(
        `keystore: the key file holds key ${kid}, which was rotated out (state ${known.state}); restore the current key file or remove it to start with a new key`,
      );
    }
    this.active = { kid, keyPair: fileKey, header: jwtHeaderJson(kid) };
    this.verifyingKids.add(kid);
  }

  get kid(): string {
    return this.active.kid;
  }

  /** The active key pair (the one in the key file). */
  get keyPair(): Ed25519KeyPair {
    return this.active.keyPair;
  }

  /** The header and secret key of the active key, taken together so a concurrent rotation cannot mix them. */
  signer(): { header: string; kid: string; secretKey: Uint8Array } {
    return { header: this.active.header, kid: this.active.kid, secretKey: this.active.keyPair.secretKey };
  }

  /** The public key a token with this kid is checked against at `nowS`, or null when that key verifies nothing. */
  publicKeyFor(kid: string, nowS: number): Uint8Array | null {
    const row = this.rows.get(kid);
    if (row === undefined) return kid === this.active.kid ? this.active.keyPair.publicKey : null;
    if (!verifies(row, nowS)) return null;
    return this.publicKeys.get(kid) ?? null;
  }

  row(kid: string): SigningKeyRow | undefined {
    return this.rows.get(kid);
  }

  /**
   * Every key on record, newest first. Keys made within the same second (a rotation right after start) are ordered by
   * state, which follows their age: the active key is newer than the one it replaced.
   */
  list(): SigningKeyRow[] {
    return [...this.rows.values()].sort(
      (a, b) => b.created_at - a.created_at || STATE_ORDER[a.state] - STATE_ORDER[b.state] || (a.kid < b.kid ? -1 : 1),
    );
  }

  /**
   * The JWK set resource servers verify with: this broker's active key first, then the other verifying keys newest
   * first (on a shared store, other brokers' active keys among them).
   */
  jwks(nowS: number): { keys: Jwk[] } {
    const keys: Jwk[] = [jwk(this.active.kid, this.active.keyPair.publicKey)];
    for (const r of this.list()) {
      if (r.kid === this.active.kid || r.state === 'retired' || !verifies(r, nowS)) continue;
      const pk = this.publicKeys.get(r.kid);
      if (pk !== undefined) keys.push(jwk(r.kid, pk));
    }
    return { keys };
  }

  /** Records a row in memory; returns the undo. */
  put(row: SigningKeyRow): () => void {
    const before = this.rows.get(row.kid);
    this.remember(row);
    return () => {
      if (before === undefined) this.forget(row.kid);
      else this.remember(before);
    };
  }

  /** A row committed on a shared store, merged as the database merges it: a key's state never moves back. */
  merge(row: SigningKeyRow): void {
    const known = this.rows.get(row.kid);
    if (known === undefined || STATE_ORDER[row.state] >= STATE_ORDER[known.state]) this.remember({ ...row });
  }

  /** Makes `keyPair` (whose row is `row`) the signing key; returns the undo. */
  activate(keyPair: Ed25519KeyPair, row: SigningKeyRow): () => void {
    const before = this.active;
    const undoRow = this.put(row);
    this.active = { kid: row.kid, keyPair, header: jwtHeaderJson(row.kid) };
    return () => {
      this.active = before;
      undoRow();
    };
  }

  private remember(row: SigningKeyRow): void {
    this.rows.set(row.kid, row);
    const pk = decodeBase64Url(row.public_key);
    // A row whose key does not decode to 32 bytes, or does not match its kid, can verify nothing.
    if (pk !== null && pk.length === 32 && jwkThumbprint(pk) === row.kid) this.publicKeys.set(row.kid, pk);
    else this.publicKeys.delete(row.kid);
    if (row.state === 'retired') this.verifyingKids.delete(row.kid);
    else this.verifyingKids.add(row.kid);
  }

  private forget(kid: string): void {
    this.rows.delete(kid);
    this.publicKeys.delete(kid);
    this.verifyingKids.delete(kid);
  }
}

const STATE_ORDER: Record<SigningKeyState, number> = { active: 0, retiring: 1, retired: 2 };

/** Active keys verify; a retiring key until the latest expiry a token it signed can have; retired keys never. */
function verifies(row: SigningKeyRow, nowS: number): boolean {
  if (row.state === 'active') return true;
  return row.state === 'retiring' && (row.retire_at === null || nowS <= row.retire_at);
}

function jwk(kid: string, publicKey: Uint8Array): Jwk {
  return { kty: 'OKP', crv: 'Ed25519', x: encodeBase64Url(publicKey), kid, use: 'sig', alg: 'EdDSA' };
}

/** A key as the admin API shows it (times RFC 3339, UTC). */
export function keyJson(row: SigningKeyRow): Record<string, string | null> {
  const time = (s: number | null): string | null => (s === null ? null : rfc3339Seconds(s * 1000));
  return {
    kid: row.kid,
    state: row.state,
    created_at: time(row.created_at),
    rotated_at: time(row.rotated_at),
    retire_at: row.state === 'retiring' ? time(row.retire_at) : null,
    retired_at: time(row.retired_at),
  };
}
