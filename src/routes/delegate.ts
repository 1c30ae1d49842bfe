/** POST /v1/delegate — an agent hands a narrower slice of its scope to another registered agent. */
import { RequestError } from '../errors.js';
import { delegate as delegateScope } from '../services/operations/delegate.js';
import type { Services } from '../services/services.js';
import { checkLengths, checkTtlInput, readJson } from './body.js';
import type { AuthedHandler } from './guard.js';

export function delegate(s: Services): AuthedHandler {
  return async (ctx, { claims }) => {
    const b = readJson(ctx, { delegate_to: 'string', scope: 'strings', ttl: 'int' });
    if (!b.delegate_to) throw new RequestError('invalid_request', 'missing required field: delegate_to');
    if (b.scope === undefined || b.scope.length === 0)
      throw new RequestError('invalid_request', 'missing required field: scope');
    checkLengths({ delegate_to: b.delegate_to, scope: b.scope });
    checkTtlInput('ttl', b.ttl);
    const { issued, chain } = await delegateScope(s, claims, { delegateTo: b.delegate_to, scope: b.scope, ttl: b.ttl });
    return { status: 200, json: { access_token: issued.token, expires_in: issued.ttl, delegation_chain: chain } };
  };
}
