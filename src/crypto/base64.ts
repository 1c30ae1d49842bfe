// Node's Buffer decoders silently skip invalid characters and accept missing padding, so every decoder here
// validates the text first and only then hands it to Buffer.

const BASE64URL_CHARS = /^[A-Za-z0-9_-]*$/;
// Standard alphabet, '=' only as 1–2 trailing characters; the length rule is checked separately.
const BASE64_STD_CHARS = /^[A-Za-z0-9+/]*={0,2}$/;
const CR_LF = /[\r\n]/g;

export function encodeBase64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/**
 * Unpadded base64url, strict: one spelling per byte string, so a token cannot be re-encoded into a different
 * string that still verifies (which would defeat caches and revocation keyed by the token text).
 */
export function decodeBase64Url(text: string): Uint8Array | null {
  const rem = text.length % 4;
  if (rem === 1 || !BASE64URL_CHARS.test(text)) return null;
  if (rem !== 0 && !hasZeroTrailingBits(text.charCodeAt(text.length - 1), rem)) return null;
  return copyOut(Buffer.from(text, 'base64url'));
}

/**
 * Matches Go's base64.StdEncoding.DecodeString: CR and LF are ignored anywhere, padding is mandatory, the
 * URL-safe alphabet is refused. Like Go's non-strict decoder, non-zero unused trailing bits are accepted.
 */
export function decodeBase64Std(text: string): Uint8Array | null {
  const clean = text.includes('\r') || text.includes('\n') ? text.replace(CR_LF, '') : text;
  if (clean.length % 4 !== 0 || !BASE64_STD_CHARS.test(clean)) return null;
  return copyOut(Buffer.from(clean, 'base64'));
}

function hasZeroTrailingBits(lastChar: number, rem: number): boolean {
  const value = base64UrlValue(lastChar);
  // rem 2 → the last char carries 2 real bits (4 unused); rem 3 → 4 real bits (2 unused).
  const unusedMask = rem === 2 ? 0x0f : 0x03;
  return (value & unusedMask) === 0;
}

function base64UrlValue(c: number): number {
  if (c >= 65 && c <= 90) return c - 65; // A-Z
  if (c >= 97 && c <= 122) return c - 71; // a-z
  if (c >= 48 && c <= 57) return c + 4; // 0-9
  return c === 45 ? 62 : 63; // '-' or '_' (the regex already excluded everything else)
}

// Buffer.from() may hand out a slice of a shared 8 KiB pool; a standalone copy keeps key material from sharing
// an ArrayBuffer with unrelated data and keeps deepStrictEqual against plain Uint8Arrays meaningful.
function copyOut(buf: Buffer): Uint8Array {
  const out = new Uint8Array(buf.length);
  out.set(buf);
  return out;
}
