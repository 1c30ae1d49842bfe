/**
 * Signing-key rotation (docs/operator-guide.md, "Key rotation"). Keys move active → retiring → retired; a retiring
 * key verifies until every token it signed has expired. Every change goes through a unit of work over the store's
 * `signing_keys` table, which is the record a process starting later (or another process on a shared database)
 * trusts; the private key of the active key lives only in the key file.
 *
 * Order of a rotation: the new key is written to the key file first (atomically), then the table is committed. A
 * crash between the two leaves a key file whose key the table does not know, which the next start adopts as a
 * rotation (`adoptKeyFile`), so tokens of the previous key keep verifying either way.
 */

import { readFile } from 'node:fs/promises';
import type { Config } from '../../config/config.js';
import { LIMITS } from '../../config/limits.js';
import { parseSigningKey, replaceSigningKeyFile } from '../../crypto/signing-key-file.js';
import { RequestError } from '../../errors.js';
import type { SigningKeyRow } from '../../store/store.js';
import { goList } from '../scopes.js';
import type { Services } from '../services.js';
import { activeRow, kidOf, newSigningKeyPair } from '../signing-keys.js';
import type { UnitOfWork } from '../unit-of-work.js';

/** `cluster`: another broker on a shared store rotated, which retired this broker's key too. */
export type RotationReason = 'request' | 'max_age' | 'key_file' | 'cluster';

export interface Rotation {
  active: SigningKeyRow;
  /** The keys that were active or retiring before, in their states after the rotation. */
  previous: SigningKeyRow[];
}

/**
 * How long a retiring key keeps verifying: the longest lifetime a token can have. AA_MAX_TTL clamps every token the
 * broker signs; with AA_MAX_TTL=0 (no clamp) the bound is the ten-year cap on requested lifetimes, or a longer
 * configured default lifetime if there is one — so a token is never orphaned by a rotation, and `revoke_previous` is
 * the way to end the overlap early.
 */
export function overlapSeconds(
  config: Pick<Config, 'maxTtl' | 'defaultTtl' | 'adminTokenTtl' | 'appTokenTtl'>,
): number {
  if (config.maxTtl > 0) return config.maxTtl;
  return Math.max(LIMITS.maxTtlInput, config.defaultTtl, config.adminTokenTtl, config.appTokenTtl);
}

const nowSeconds = (nowMs: number): number => Math.floor(nowMs / 1000);

/**
 * Moves every key that verified before the new one was made into its next state, in memory and in the unit of work.
 * With `onlyKid` only that key moves (this broker's previous key): on a shared store the other active keys belong to
 * other brokers. A key another broker already set retiring keeps verifying at least as long as the tokens this
 * broker signed with it meanwhile.
 */
function demotePrevious(
  s: Services,
  tx: UnitOfWork,
  newKid: string,
  nowS: number,
  revokePrevious: boolean,
  onlyKid?: string,
): SigningKeyRow[] {
  const previous: SigningKeyRow[] = [];
  const until = nowS + overlapSeconds(s.config);
  for (const r of s.keys.list()) {
    if (r.kid === newKid || r.state === 'retired') continue;
    if (onlyKid !== undefined && r.kid !== onlyKid) {
      if (r.state === 'retiring') previous.push(r);
      continue;
    }
    let row: SigningKeyRow;
    if (revokePrevious) {
      row = { ...r, state: 'retired', rotated_at: r.rotated_at ?? nowS, retired_at: nowS };
    } else if (r.state === 'active') {
      row = { ...r, state: 'retiring', rotated_at: nowS, retire_at: until };
    } else if (onlyKid !== undefined && r.retire_at !== null && r.retire_at < until) {
      row = { ...r, retire_at: until };
    } else {
      previous.push(r);
      continue;
    }
    tx.change({ kind: 'signingKey.put', row }, s.keys.put(row));
    previous.push(row);
  }
  return previous;
}

function rotationEvent(
  by: string,
  reason: RotationReason,
  r: Rotation,
): { event_type: string; detail: string; outcome: 'success' } {
  const retiring = r.previous.filter((k) => k.state === 'retiring').map((k) => k.kid);
  const retired = r.previous.filter((k) => k.state === 'retired').map((k) => k.kid);
  return {
    event_type: 'signing_key_rotated',
    detail: `kid=${r.active.kid} retiring=${goList(retiring)} retired=${goList(retired)} reason=${reason} rotated_by=${by}`,
    outcome: 'success',
  };
}

/**
 * Startup: records the key file's key in the table. A key the table has never seen becomes the active key and the
 * previously active one starts retiring — the path after a crash mid-rotation, or after an operator replaced the
 * key file by hand. Returns the rotation when there was a previous key, null otherwise.
 */
export async function adoptKeyFile(s: Services, nowMs = Date.now()): Promise<Rotation | null> {
  const kid = s.keys.kid;
  const known = s.keys.row(kid);
  // On a shared store the other active keys are other brokers' own: this broker only publishes its key.
  const others = s.store.feed !== null ? [] : s.keys.list().filter((r) => r.kid !== kid && r.state === 'active');
  if (known !== undefined && others.length === 0) return null;
  const nowS = nowSeconds(nowMs);
  const tx = s.begin();
  const row = known ?? activeRow(s.keys.keyPair, nowS);
  if (known === undefined) tx.change({ kind: 'signingKey.put', row }, s.keys.put(row));
  const rotation = others.length > 0 ? { active: row, previous: demotePrevious(s, tx, kid, nowS, false) } : null;
  if (rotation !== null) tx.audit(rotationEvent('key_file', 'key_file', rotation));
  await tx.commit('failed to record the signing key');
  return rotation;
}

/**
 * Makes a new active key; the previous one starts retiring, or with `revokePrevious` every earlier key is retired at
 * once (its tokens, cached ones included, stop verifying immediately).
 */
export async function rotateSigningKey(
  s: Services,
  by: string,
  opts: { revokePrevious: boolean; reason: RotationReason; nowMs?: number; ownOnly?: boolean },
): Promise<Rotation> {
  if (s.keys.rotating) throw new RequestError('conflict', 'a signing key rotation is already in progress');
  s.keys.rotating = true;
  try {
    const nowS = nowSeconds(opts.nowMs ?? Date.now());
    const keyPair = newSigningKeyPair();
    const before = s.keys.keyPair;
    try {
      await replaceSigningKeyFile(s.config.signingKeyPath, keyPair);
    } catch (err) {
      throw new RequestError('internal_error', 'failed to rotate signing key', { cause: err });
    }
    const tx = s.begin();
    const active = activeRow(keyPair, nowS);
    tx.change({ kind: 'signingKey.put', row: active }, s.keys.activate(keyPair, active));
    const previous = demotePrevious(
      s,
      tx,
      active.kid,
      nowS,
      opts.revokePrevious,
      opts.ownOnly === true ? kidOf(before) : undefined,
    );
    const rotation = { active, previous };
    tx.audit(rotationEvent(by, opts.reason, rotation));
    try {
      await tx.commit('failed to rotate signing key');
    } catch (err) {
      // Memory is back on the previous key; put it back in the file too. If that fails as well, the next start
      // adopts the new key from the file and the previous one retires normally.
      await replaceSigningKeyFile(s.config.signingKeyPath, before).catch(() => undefined);
      throw err;
    }
    s.logger.ok('BROKER', 'keys', 'signing key rotated', `kid=${active.kid}`, `reason=${opts.reason}`, `by=${by}`);
    return rotation;
  } finally {
    s.keys.rotating = false;
  }
}

export function listSigningKeys(s: Services): SigningKeyRow[] {
  return s.keys.list();
}

/**
 * Housekeeping at `nowMs`: retires keys whose last token has expired, then rotates when the active key is older
 * than AA_SIGNING_KEY_MAX_AGE. Returns how many keys it retired and whether it rotated.
 */
export async function maintainSigningKeys(s: Services, nowMs: number): Promise<{ retired: number; rotated: number }> {
  const nowS = nowSeconds(nowMs);
  const due = s.keys.list().filter((r) => r.state === 'retiring' && r.retire_at !== null && r.retire_at < nowS);
  if (due.length > 0) {
    const tx = s.begin();
    for (const r of due) {
      const row: SigningKeyRow = { ...r, state: 'retired', retired_at: nowS };
      tx.change({ kind: 'signingKey.put', row }, s.keys.put(row));
    }
    await tx.commit('failed to retire signing keys');
    s.logger.ok('BROKER', 'keys', 'signing keys retired', `kids=${goList(due.map((r) => r.kid))}`);
  }
  const maxAge = s.config.signingKeyMaxAge;
  const active = s.keys.row(s.keys.kid);
  let rotated = 0;
  // On a shared store, the active key of a broker that is gone (scaled down, or restarted without its key file)
  // would verify for ever: any broker starts retiring an active key twice as old as the maximum age.
  const abandoned =
    maxAge === null
      ? []
      : s.keys.list().filter((r) => r.state === 'active' && r.kid !== s.keys.kid && nowS - r.created_at >= 2 * maxAge);
  if (abandoned.length > 0) {
    const tx = s.begin();
    for (const r of abandoned) {
      const row: SigningKeyRow = {
        ...r,
        state: 'retiring',
        rotated_at: nowS,
        retire_at: nowS + overlapSeconds(s.config),
      };
      tx.change({ kind: 'signingKey.put', row }, s.keys.put(row));
    }
    await tx.commit('failed to retire abandoned signing keys');
    s.logger.warn(
      'BROKER',
      'keys',
      'active keys past twice the maximum age retiring',
      `kids=${goList(abandoned.map((r) => r.kid))}`,
    );
  }
  if (maxAge !== null && active !== undefined && nowS - active.created_at >= maxAge && !s.keys.rotating) {
    // Each broker's key ages on its own: only this broker's key is rotated (the same thing with one broker).
    await rotateSigningKey(s, 'system', { revokePrevious: false, reason: 'max_age', nowMs, ownOnly: true });
    rotated = 1;
  }
  return { retired: due.length, rotated };
}

/**
 * Another broker on a shared store rotated and so retired this broker's key (docs/operator-guide.md, "Scaling
 * out"). If the key file now holds a key the table lists as active (brokers sharing one key file), that key is
 * adopted; otherwise this broker rotates its own key. Concurrent calls share one run.
 */
export function followRotation(s: Services): Promise<void> {
  s.keys.following ??= (async () => {
    try {
      const own = s.keys.row(s.keys.kid);
      if (s.keys.rotating || own === undefined || own.state === 'active') return;
      const fileKey = await readFile(s.config.signingKeyPath).then(parseSigningKey, () => null);
      const fileRow = fileKey === null ? undefined : s.keys.row(kidOf(fileKey));
      if (fileKey !== null && fileRow !== undefined && fileRow.state === 'active') {
        s.keys.activate(fileKey, fileRow);
        s.logger.ok('BROKER', 'keys', 'signing key adopted from the shared key file', `kid=${fileRow.kid}`);
        return;
      }
      await rotateSigningKey(s, 'system', { revokePrevious: false, reason: 'cluster', ownOnly: true });
    } catch (err) {
      s.logger.fail(
        'BROKER',
        'keys',
        'cannot follow the rotation of another broker',
        `error=${(err as Error).message}`,
      );
    } finally {
      s.keys.following = null;
    }
  })();
  return s.keys.following;
}
