/**
 * JSON out as the Go broker writes it: Go's encoder escapes <, >, &, U+2028 and U+2029 inside strings. Clients that
 * parse JSON don't notice; byte-level comparisons and hashes over serialized records (chain_hash, JWT payloads) do.
 */
const GO_ESCAPES: Record<string, string> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};
const GO_ESCAPE_RE = /[<>&\u2028\u2029]/g;

/** JSON.stringify with Go's HTML-safe escaping (no trailing newline). */
export function goJson(value: unknown): string {
  const text = JSON.stringify(value);
  return GO_ESCAPE_RE.test(text) ? text.replace(GO_ESCAPE_RE, (c) => GO_ESCAPES[c] ?? c) : text;
}
