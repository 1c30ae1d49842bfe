/**
 * JSON in with the Go broker's conventions (out: platform/go-json.ts).
 *
 * Request bodies are decoded against a small field schema: keys match case-insensitively (last duplicate wins),
 * unknown keys are ignored, `null` means absent, and a wrong type is a decode error. Unlike the reference we reject
 * trailing non-whitespace after the JSON value and invalid UTF-8 — both only ever come from broken clients.
 */

import { AgentWritError } from '../errors.js';

export type FieldType = 'string' | 'int' | 'bool' | 'strings';
type FieldValue<T extends FieldType> = T extends 'string'
  ? string
  : T extends 'int'
    ? number
    : T extends 'bool'
      ? boolean
      : string[];
export type Decoded<S extends Record<string, FieldType>> = { [K in keyof S]?: FieldValue<S[K]> };

export class DecodeError extends AgentWritError {
  override readonly name = 'DecodeError';
  readonly code = 'AW_ERR_JSON_DECODE';
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Parses a request body as one JSON value; throws DecodeError for anything that isn't exactly that. */
export function parseJsonBody(body: Uint8Array): unknown {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new DecodeError('invalid UTF-8');
  }
  if (text.trim() === '') throw new DecodeError('empty body');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new DecodeError(err instanceof Error ? err.message : 'invalid JSON');
  }
}

function checkType(type: FieldType, value: unknown): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'int':
      return typeof value === 'number' && Number.isSafeInteger(value);
    case 'bool':
      return typeof value === 'boolean';
    case 'strings':
      return Array.isArray(value) && value.every((v) => typeof v === 'string');
  }
}

/**
 * Picks the schema's fields out of a parsed JSON value. The top level must be an object or `null` (all absent).
 * Only own enumerable keys are read, so `__proto__` or `constructor` keys are inert data.
 */
export function pickFields<S extends Record<string, FieldType>>(value: unknown, schema: S): Decoded<S> {
  if (value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new DecodeError('top level is not an object');
  const byLower = new Map<string, keyof S & string>();
  for (const name of Object.keys(schema)) byLower.set(name.toLowerCase(), name);
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const name = byLower.get(key.toLowerCase());
    if (name === undefined) continue;
    if (v === null) {
      delete out[name];
      continue;
    }
    const type = schema[name] as FieldType;
    if (!checkType(type, v)) throw new DecodeError(`field ${name} has the wrong type`);
    out[name] = v;
  }
  return out as Decoded<S>;
}

export function decodeBody<S extends Record<string, FieldType>>(body: Uint8Array, schema: S): Decoded<S> {
  return pickFields(parseJsonBody(body), schema);
}
