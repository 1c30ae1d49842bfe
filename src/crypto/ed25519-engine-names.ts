// The AA_ED25519 values, apart from the engines so configuration can check them without loading either.

export const ED25519_ENGINES = ['native', 'tweetnacl'] as const;
export type Ed25519EngineName = (typeof ED25519_ENGINES)[number];
export const DEFAULT_ED25519_ENGINE: Ed25519EngineName = 'native';

export function isEd25519EngineName(value: string): value is Ed25519EngineName {
  return (ED25519_ENGINES as readonly string[]).includes(value);
}
