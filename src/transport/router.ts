/**
 * A small method+path router. Patterns are literal segments or `{name}` (one non-empty, percent-decoded
 * segment). A GET route also answers HEAD. Non-canonical paths (`//`, `/./`, `/../`) whose cleaned form is a
 * route are redirected to it, as the reference broker's mux does; everything else that doesn't match exactly is a
 * 404.
 */

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

interface Compiled<R> {
  segments: string[]; // literal or '{name}'
  byMethod: Map<string, R>;
  allow: string;
}

export type Match<R> =
  | { kind: 'found'; route: R; pattern: string; params: Record<string, string> }
  | { kind: 'method_not_allowed'; pattern: string; allow: string }
  | { kind: 'redirect'; location: string }
  | { kind: 'not_found' };

export class Router<R> {
  private readonly patterns = new Map<string, Compiled<R>>();
  /** Static patterns by exact path: the hot path, since most routes have no parameters. */
  private readonly exact = new Map<string, Compiled<R>>();
  private readonly dynamic: [string, Compiled<R>][] = [];

  add(method: Method, pattern: string, route: R): this {
    let c = this.patterns.get(pattern);
    if (c === undefined) {
      c = { segments: pattern.split('/').slice(1), byMethod: new Map(), allow: '' };
      this.patterns.set(pattern, c);
      if (pattern.includes('{')) this.dynamic.push([pattern, c]);
      else this.exact.set(pattern, c);
    }
    if (c.byMethod.has(method)) throw new Error(`duplicate route ${method} ${pattern}`);
    c.byMethod.set(method, route);
    if (method === 'GET') c.byMethod.set('HEAD', route);
    c.allow = [...c.byMethod.keys()].sort().join(', ');
    return this;
  }

  /** Every registered (method, pattern) pair, HEAD excluded. */
  list(): Array<{ method: Method; pattern: string }> {
    const out: Array<{ method: Method; pattern: string }> = [];
    for (const [pattern, c] of this.patterns) {
      for (const m of c.byMethod.keys()) if (m !== 'HEAD') out.push({ method: m as Method, pattern });
    }
    return out;
  }

  match(method: string, path: string): Match<R> {
    const exact = this.exact.get(path);
    if (exact !== undefined) return this.pick(exact, path, method, {});
    if (!path.startsWith('/')) return { kind: 'not_found' };
    const cleaned = cleanPath(path);
    if (cleaned !== path) {
      // Only towards a path we serve: `Location` never echoes arbitrary client text (`/./\evil.example` would
      // become `/\evil.example`, which browsers follow to another host).
      return this.match(method, cleaned).kind === 'not_found'
        ? { kind: 'not_found' }
        : { kind: 'redirect', location: cleaned };
    }
    const parts = path.split('/').slice(1);
    for (const [pattern, c] of this.dynamic) {
      const params = matchSegments(c.segments, parts);
      if (params !== null) return this.pick(c, pattern, method, params);
    }
    return { kind: 'not_found' };
  }

  private pick(c: Compiled<R>, pattern: string, method: string, params: Record<string, string>): Match<R> {
    const route = c.byMethod.get(method);
    if (route === undefined) return { kind: 'method_not_allowed', pattern, allow: c.allow };
    return { kind: 'found', route, pattern, params };
  }
}

function matchSegments(pattern: string[], parts: string[]): Record<string, string> | null {
  if (pattern.length !== parts.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i] as string;
    const raw = parts[i] as string;
    if (p.startsWith('{')) {
      let value: string;
      try {
        value = decodeURIComponent(raw);
      } catch {
        return null;
      }
      if (value === '') return null;
      params[p.slice(1, -1)] = value;
    } else if (p !== raw) {
      return null;
    }
  }
  return params;
}

/** path.Clean semantics (keeping a trailing slash), as Go's ServeMux uses to decide on a redirect. */
export function cleanPath(path: string): string {
  const out: string[] = [];
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  let cleaned = `/${out.join('/')}`;
  if (path.endsWith('/') && cleaned !== '/') cleaned += '/';
  return cleaned;
}
