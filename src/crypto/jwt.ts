import { decodeBase64Url, encodeBase64Url } from './base64.js';
import { ED25519_SIGNATURE_BYTES } from './ed25519.js';
import { hasDuplicateKeys } from './json-keys.js';

export const JWT_ALG = 'EdDSA';
export const JWT_TYP = 'JWT';
/** Real tokens are well under 2 KiB; the cap bounds decoding and hashing work spent on hostile input. */
export const MAX_TOKEN_LENGTH = 8192;

// Header fields that would make the token name its own key, certificate or extension semantics. Nothing here
// honours them, so their presence means the issuer expected something we would silently skip: fail closed.
const FORBIDDEN_HEADER_FIELDS = ['crit', 'jku', 'jwk', 'x5u', 'x5c'] as const;

// ignoreBOM keeps a leading U+FEFF in the text so JSON.parse rejects it, as Go's decoder does, instead of
// silently stripping it.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const textEncoder = new TextEncoder();

/** The exact header the Go broker emits; member order matters because the header bytes are signed. */
export function jwtHeaderJson(kid: string): string {
  return `{"alg":"${JWT_ALG}","typ":"${JWT_TYP}","kid":${JSON.stringify(kid)}}`;
}

/**
 * `b64url(header).b64url(payload)`. A string header is used verbatim (pass `jwtHeaderJson(kid)`); an object is
 * serialized with JSON.stringify in its own key order. The payload JSON is the caller's, byte for byte.
 */
export function encodeSigningInput(header: object | string, payloadJson: string): string {
  const headerJson = typeof header === 'string' ? header : JSON.stringify(header);
  return `${encodeBase64Url(textEncoder.encode(headerJson))}.${encodeBase64Url(textEncoder.encode(payloadJson))}`;
}

export function encodeCompactJws(signingInput: string, signature: Uint8Array): string {
  return `${signingInput}.${encodeBase64Url(signature)}`;
}

export interface CompactJws {
  headerB64: string;
  payloadB64: string;
  signatureB64: string;
  /** `headerB64.payloadB64`: the bytes the signature covers (ASCII). */
  signingInput: string;
  /** Own properties only, null prototype: `__proto__` or `constructor` members are plain data. */
  header: Record<string, unknown>;
  payloadJson: string;
  signature: Uint8Array;
}

/** Structural decode of a compact JWS; null if anything is malformed. Does not look at alg/kid or the claims. */
export function splitCompactJws(token: string): CompactJws | null {
  if (token.length > MAX_TOKEN_LENGTH) return null;
  const dot1 = token.indexOf('.');
  const dot2 = dot1 < 0 ? -1 : token.indexOf('.', dot1 + 1);
  if (dot2 < 0 || token.indexOf('.', dot2 + 1) >= 0) return null;

  const headerB64 = token.slice(0, dot1);
  const payloadB64 = token.slice(dot1 + 1, dot2);
  const signatureB64 = token.slice(dot2 + 1);

  const signature = decodeBase64Url(signatureB64);
  if (signature === null || signature.length !== ED25519_SIGNATURE_BYTES) return null;

  const headerBytes = decodeBase64Url(headerB64);
  const payloadBytes = decodeBase64Url(payloadB64);
  if (headerBytes === null || payloadBytes === null) return null;

  const headerJson = decodeUtf8(headerBytes);
  const payloadJson = decodeUtf8(payloadBytes);
  if (headerJson === null || payloadJson === null) return null;

  const header = parseJsonObject(headerJson);
  if (header === null) return null;

  return {
    headerB64,
    payloadB64,
    signatureB64,
    signingInput: token.slice(0, dot2),
    header,
    payloadJson,
    signature,
  };
}

/** alg exactly EdDSA, a known kid (required), typ absent or JWT, and none of the key-/extension-bearing fields. */
export function checkHeader(header: Record<string, unknown>, knownKids: ReadonlySet<string>): boolean {
  if (header.alg !== JWT_ALG) return false;
  const kid = header.kid;
  if (typeof kid !== 'string' || !knownKids.has(kid)) return false;
  if (Object.hasOwn(header, 'typ') && header.typ !== JWT_TYP) return false;
  for (const field of FORBIDDEN_HEADER_FIELDS) {
    if (Object.hasOwn(header, field)) return false;
  }
  return true;
}

/**
 * A JSON text whose top level is an object without duplicate member names, copied onto a null-prototype
 * object; null otherwise. Exported for claim parsing, which needs the same guarantees.
 */
export function parseJsonObject(json: string): Record<string, unknown> | null {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  if (hasDuplicateKeys(json)) return null;
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const [k, v] of Object.entries(value)) out[k] = v;
  return out;
}

function decodeUtf8(bytes: Uint8Array): string | null {
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}
