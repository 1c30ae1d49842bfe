/** POST /v1/revoke — kill tokens at one of four levels (token, agent, task, chain). */
import { RequestError } from '../errors.js';
import { revoke as revokeAt } from '../services/operations/revoke.js';
import { isRevocationLevel } from '../services/revocations.js';
import type { Services } from '../services/services.js';
import { checkLengths, readJson } from './body.js';
import type { AuthedHandler } from './guard.js';

export function revoke(s: Services): AuthedHandler {
  return async (ctx, { claims: caller }) => {
    const b = readJson(ctx, { level: 'string', target: 'string' });
    if (!b.level || !b.target) throw new RequestError('invalid_request', 'level and target are required');
    checkLengths({ level: b.level, target: b.target });
    const level = b.level;
    if (!isRevocationLevel(level)) throw new RequestError('invalid_request', `invalid revocation level: ${level}`);
    await revokeAt(s, caller, level, b.target);
    return { status: 200, json: { revoked: true, level, target: b.target, count: 1 } };
  };
}
