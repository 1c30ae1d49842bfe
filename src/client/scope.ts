/**
 * The broker's scope rule, so agents and resource servers decide exactly as the broker does. A scope is
 * `action:resource:identifier`: split at the first two colons (the identifier may contain more), every part
 * non-empty. `*` is a wildcard only as the identifier of a held scope; anywhere else it is a literal character.
 */

interface Parts {
  action: string;
  resource: string;
  identifier: string;
}

function parse(scope: string): Parts | null {
  const a = scope.indexOf(':');
  if (a <= 0) return null;
  const b = scope.indexOf(':', a + 1);
  if (b === -1 || b === a + 1 || b === scope.length - 1) return null;
  return { action: scope.slice(0, a), resource: scope.slice(a + 1, b), identifier: scope.slice(b + 1) };
}

/** Whether a string is a well-formed scope. */
export function isValidScope(scope: string): boolean {
  return parse(scope) !== null;
}

/** Whether one held scope covers one required scope. Malformed scopes cover nothing and are covered by nothing. */
export function scopeCovers(held: string, required: string): boolean {
  const h = parse(held);
  const r = parse(required);
  if (h === null || r === null) return false;
  return h.action === r.action && h.resource === r.resource && (h.identifier === '*' || h.identifier === r.identifier);
}

/** Every required scope is covered by some held scope. Requiring nothing is always satisfied. */
export function scopeIsSubset(required: readonly string[], held: readonly string[]): boolean {
  return required.every((r) => held.some((h) => scopeCovers(h, r)));
}
