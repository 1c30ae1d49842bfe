import type { Mutation } from './store.js';

/** A journal record's payload is the JSON of the batch; the record CRC already vouches for the bytes. */
export function encodeBatch(batch: readonly Mutation[]): string {
  return JSON.stringify(batch);
}

export function parseBatch(payload: string): Mutation[] {
  const parsed: unknown = JSON.parse(payload);
  if (!Array.isArray(parsed)) throw new Error('journal record is not a mutation list');
  return parsed as Mutation[];
}
