/**
 * Scope grammar and coverage, exactly as the reference broker: `action:resource:identifier`, split into at most
 * three parts (so the identifier may contain `:`), all non-empty. `*` is a wildcard only as the identifier of the
 * *allowed* scope; anywhere else it is a literal. Scopes only ever narrow: every check in the broker is
 * `isSubset(requested, allowed)`.
 */

export interface ParsedScope {
  action: string;
  resource: string;
  identifier: string;
}

export function parseScope(scope: string): ParsedScope | null {
  const a = scope.indexOf(':');
  if (a <= 0) return null;
  const b = scope.indexOf(':', a + 1);
  if (b === -1 || b === a + 1 || b === scope.length - 1) return null;
  return { action: scope.slice(0, a), resource: scope.slice(a + 1, b), identifier: scope.slice(b + 1) };
}

export function isValidScope(scope: string): boolean {
  return parseScope(scope) !== null;
}

export function covers(allowed: string, requested: string): boolean {
  const al = parseScope(allowed);
  const rq = parseScope(requested);
  if (al === null || rq === null) return false;
  return (
    al.action === rq.action && al.resource === rq.resource && (al.identifier === '*' || al.identifier === rq.identifier)
  );
}

/** Every requested scope is covered by some allowed scope. An empty request is trivially a subset. */
export function isSubset(requested: readonly string[], allowed: readonly string[]): boolean {
  return requested.every((r) => allowed.some((a) => covers(a, r)));
}

/** Go's `%v` rendering of a string slice, used verbatim in audit details and error texts. */
export function goList(items: readonly string[] | null | undefined): string {
  return `[${(items ?? []).join(' ')}]`;
}
