/** Typed reads of broker JSON; a missing or mistyped field is an unusable answer (exit 1), never a crash. */
import { RefusedError } from './errors.js';

export type Json = Record<string, unknown>;

const bad = (what: string): RefusedError => new RefusedError(`unexpected answer from broker: ${what}`);

export function str(o: Json, key: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw bad(`"${key}" is not a string`);
  return v;
}

/** Absent means empty (the broker omits empty optional fields). */
export function optStr(o: Json, key: string): string {
  const v = o[key];
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw bad(`"${key}" is not a string`);
  return v;
}

export function int(o: Json, key: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isInteger(v)) throw bad(`"${key}" is not an integer`);
  return v;
}

export function bool(o: Json, key: string): boolean {
  const v = o[key];
  if (typeof v !== 'boolean') throw bad(`"${key}" is not a boolean`);
  return v;
}

export function strings(o: Json, key: string): string[] {
  const v = o[key];
  if (v === null || v === undefined) return [];
  if (!Array.isArray(v) || !v.every((x): x is string => typeof x === 'string'))
    throw bad(`"${key}" is not a list of strings`);
  return v;
}

export function objects(o: Json, key: string): Json[] {
  const v = o[key];
  if (v === null || v === undefined) return [];
  if (!Array.isArray(v) || !v.every((x): x is Json => typeof x === 'object' && x !== null && !Array.isArray(x))) {
    throw bad(`"${key}" is not a list of objects`);
  }
  return v;
}
