/** Request-body parsing shared by the routes: the JSON field schema, length bounds and the lifetime cap. */
import { LIMITS } from '../config/limits.js';
import { RequestError } from '../errors.js';
import { type Decoded, DecodeError, decodeBody, type FieldType } from '../transport/json.js';
import type { RequestContext } from '../transport/pipeline.js';

/** Decodes the JSON body against a field schema; any decoding failure is the uniform 400. */
export function readJson<S extends Record<string, FieldType>>(ctx: RequestContext<string>, schema: S): Decoded<S> {
  try {
    return decodeBody(ctx.body, schema);
  } catch (err) {
    throw malformed(err);
  }
}

/** The uniform answer to a body that does not decode; anything else is rethrown as it is. */
export function malformed(err: unknown): unknown {
  return err instanceof DecodeError ? new RequestError('invalid_request', 'malformed JSON body', { cause: err }) : err;
}

/**
 * Upper bounds on client-supplied text, so no field can make the broker do or store unbounded work; and no NUL
 * character, which no field has a use for and a PostgreSQL text column cannot hold.
 */
export function checkLengths(fields: Record<string, string | readonly string[] | undefined>): void {
  const { maxFieldLength, maxScopes } = LIMITS;
  for (const [name, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    if (typeof v === 'string' ? v.includes('\u0000') : v.some((x) => x.includes('\u0000')))
      throw new RequestError('invalid_request', `invalid ${name}: contains a NUL character`);
    if (typeof v === 'string') {
      if (v.length > maxFieldLength)
        throw new RequestError('invalid_request', `${name} is too long (max ${maxFieldLength} characters)`);
    } else {
      if (v.length > maxScopes)
        throw new RequestError('invalid_request', `${name} has too many entries (max ${maxScopes})`);
      if (v.some((x) => x.length > maxFieldLength)) {
        throw new RequestError(
          'invalid_request',
          `${name} has an entry that is too long (max ${maxFieldLength} characters)`,
        );
      }
    }
  }
}

export function checkTtlInput(name: string, value: number | undefined): void {
  if (value !== undefined && value > LIMITS.maxTtlInput) {
    throw new RequestError(
      'invalid_ttl',
      `invalid ${name}: must be at most ${LIMITS.maxTtlInput} seconds, got ${value}`,
    );
  }
}
