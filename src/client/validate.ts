/** Token validation by the broker itself: signature, expiry, revocation, issuer and audience in one round trip. */

import { TransportError } from './errors.js';
import { asClaims } from './jwt.js';
import { sharedTransport } from './shared.js';
import type { Transport, TransportOptions } from './transport.js';
import type { ValidateResult } from './types.js';
import { asObject, type Obj, str } from './wire.js';

export async function validateWith(transport: Transport, token: string): Promise<ValidateResult> {
  // The broker refuses an empty token with 400; to the caller it is simply not a valid token.
  if (token === '') return { valid: false, error: 'token is empty' };
  const res = await transport.request({ method: 'POST', path: '/v1/token/validate', body: { token } });
  const body: Obj = asObject(res.json, 'validate answer');
  if (body.valid === true) {
    const claims = asClaims(asObject(body.claims, 'claims'));
    if (claims === null) throw new TransportError('response', 'unexpected broker answer: claims have the wrong shape');
    return { valid: true, claims };
  }
  return { valid: false, error: typeof body.error === 'string' ? str(body, 'error') : 'token is invalid' };
}

/**
 * Asks the broker whether a token is valid. A rejected token is a result (`valid: false`), not an error; errors
 * are for a broker that cannot be reached or answers unexpectedly.
 */
export function validate(brokerUrl: string, token: string, opts: TransportOptions = {}): Promise<ValidateResult> {
  return validateWith(sharedTransport(brokerUrl, opts), token);
}
