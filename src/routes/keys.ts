/** /v1/admin/keys and /v1/admin/keys/rotate — the broker's signing keys and their rotation (operator side). */
import { listSigningKeys, rotateSigningKey } from '../services/operations/keys.js';
import type { Services } from '../services/services.js';
import { keyJson } from '../services/signing-keys.js';
import { readJson } from './body.js';
import type { AuthedHandler } from './guard.js';

export function rotateKeys(s: Services): AuthedHandler {
  return async (ctx, { claims: caller }) => {
    // No body means a plain rotation; a body must be a JSON object.
    const b = ctx.body.length === 0 ? {} : readJson(ctx, { revoke_previous: 'bool' });
    const r = await rotateSigningKey(s, caller.sub, { revokePrevious: b.revoke_previous === true, reason: 'request' });
    return {
      status: 200,
      json: { kid: r.active.kid, created_at: keyJson(r.active).created_at, previous: r.previous.map(keyJson) },
    };
  };
}

export function listKeys(s: Services): AuthedHandler {
  return () => {
    const keys = listSigningKeys(s).map(keyJson);
    return { status: 200, json: { keys, total: keys.length } };
  };
}
