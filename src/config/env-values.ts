const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const DECIMAL = /^[+-]?[0-9]+$/;

/**
 * Go's `strconv.Atoi` on a 64-bit platform: decimal digits with an optional sign, nothing else (no spaces, no
 * suffix, no underscores, no hex), within the int64 range. Returns null when Go would return an error. Values beyond
 * 2^53 keep their magnitude but lose precision, which is harmless for the second counts this is used for.
 */
export function parseGoInt(text: string): number | null {
  if (!DECIMAL.test(text)) return null;
  const n = BigInt(text);
  if (n < INT64_MIN || n > INT64_MAX) return null;
  return Number(n);
}

// Go's unicode.IsSpace set. JavaScript's trim() differs: it also strips U+FEFF and keeps U+0085.
const GO_SPACE = '[\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]';
const GO_TRIM = new RegExp(`^${GO_SPACE}+|${GO_SPACE}+$`, 'g');

/** Go's `strings.TrimSpace`. */
export function goTrimSpace(text: string): string {
  return text.replace(GO_TRIM, '');
}
