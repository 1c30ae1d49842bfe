/** Reading broker answers defensively: a field of the wrong type is a protocol error, not a crash later on. */
import { TransportError } from './errors.js';

export type Obj = Record<string, unknown>;

function bad(what: string): TransportError {
  return new TransportError('response', `unexpected broker answer: ${what}`);
}

export function asObject(v: unknown, what: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(`${what} is not an object`);
  return v as Obj;
}

export function str(o: Obj, key: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw bad(`${key} is not a string`);
  return v;
}

export function num(o: Obj, key: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(`${key} is not a number`);
  return v;
}

export function strings(o: Obj, key: string): string[] {
  const v = o[key];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw bad(`${key} is not a list of strings`);
  return v as string[];
}
