import type { RequestContext } from '../transport/pipeline.js';
import { decodeBody, DecodeError, type Decoded, type FieldType } from '../transport/json.js';
import { HttpError } from '../transport/problem.js';

/** Decodes the JSON body against a field schema; any decoding failure is the uniform 400. */
export function readJson<S extends Record<string, FieldType>>(ctx: RequestContext, schema: S): Decoded<S> {
  try {
    return decodeBody(ctx.body, schema);
  } catch (err) {
    if (err instanceof DecodeError) throw new HttpError('invalid_request', 'malformed JSON body', { cause: err });
    throw err;
  }
}

/** Upper bounds on client-supplied text, so no field can make the broker do or store unbounded work. */
export const MAX_FIELD_LENGTH = 4096;
export const MAX_SCOPES = 256;

export function checkLengths(fields: Record<string, string | readonly string[] | undefined>): void {
  for (const [name, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    if (typeof v === 'string') {
      if (v.length > MAX_FIELD_LENGTH) throw new HttpError('invalid_request', `${name} is too long (max ${MAX_FIELD_LENGTH} characters)`);
    } else {
      if (v.length > MAX_SCOPES) throw new HttpError('invalid_request', `${name} has too many entries (max ${MAX_SCOPES})`);
      if (v.some((x) => x.length > MAX_FIELD_LENGTH)) {
        throw new HttpError('invalid_request', `${name} has an entry that is too long (max ${MAX_FIELD_LENGTH} characters)`);
      }
    }
  }
}

/** Ten years: beyond this a requested lifetime is a mistake, and timestamps would leave the representable range. */
export const MAX_TTL_INPUT = 315_360_000;

export function checkTtlInput(name: string, value: number | undefined): void {
  if (value !== undefined && value > MAX_TTL_INPUT) {
    throw new HttpError('invalid_ttl', `invalid ${name}: must be at most ${MAX_TTL_INPUT} seconds, got ${value}`);
  }
}
