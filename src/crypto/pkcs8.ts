// PKCS#8 (RFC 5208 / RFC 5958) for Ed25519 keys as specified by RFC 8410. Only the DER needed for that one key
// type is understood; anything else is reported by name so operators can tell what they pointed the broker at.

import { AgentWritError } from '../errors.js';

export class Pkcs8Error extends AgentWritError {
  readonly code = 'AW_ERR_PKCS8';
  constructor(
    message: string,
    /** Set when the structure is valid PKCS#8 but holds a key of another algorithm. */
    readonly foreignAlgorithm?: string,
  ) {
    super(message);
    this.name = 'Pkcs8Error';
  }
}

const ED25519_OID = '1.3.101.112';
const FOREIGN_ALGORITHMS: Readonly<Record<string, string>> = {
  '1.2.840.113549.1.1.1': 'RSA',
  '1.2.840.113549.1.1.10': 'RSA-PSS',
  '1.2.840.10045.2.1': 'ECDSA',
  '1.3.101.110': 'X25519',
  '1.3.101.111': 'X448',
  '1.3.101.113': 'Ed448',
};

// SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING (32) } } — the 48-byte form
// written by `openssl genpkey -algorithm ed25519` and by Go's x509.MarshalPKCS8PrivateKey.
const V1_PREFIX = Uint8Array.from(Buffer.from('302e020100300506032b657004220420', 'hex'));

export function encodeEd25519Pkcs8(seed: Uint8Array): Uint8Array {
  if (seed.length !== 32) throw new RangeError('ed25519 seed must be 32 bytes');
  const out = new Uint8Array(V1_PREFIX.length + 32);
  out.set(V1_PREFIX);
  out.set(seed, V1_PREFIX.length);
  return out;
}

export interface Ed25519Pkcs8 {
  seed: Uint8Array;
  /** Present only in the RFC 5958 v2 form (`[1] publicKey`). */
  publicKey: Uint8Array | null;
}

/** Accepts the v1 form and the v2 form with optional attributes and public key. Throws Pkcs8Error. */
export function decodeEd25519Pkcs8(der: Uint8Array): Ed25519Pkcs8 {
  const outer = readTlv(der, 0);
  if (outer.tag !== 0x30) throw new Pkcs8Error('expected SEQUENCE');
  if (outer.end !== der.length) throw new Pkcs8Error('trailing data after key');

  let pos = outer.start;
  const version = readTlv(der, pos, outer.end);
  if (version.tag !== 0x02) throw new Pkcs8Error('expected INTEGER version');
  const versionValue = version.end - version.start === 1 ? der[version.start] : undefined;
  if (versionValue !== 0 && versionValue !== 1) throw new Pkcs8Error('unsupported version');
  pos = version.end;

  const algId = readTlv(der, pos, outer.end);
  if (algId.tag !== 0x30) throw new Pkcs8Error('expected AlgorithmIdentifier SEQUENCE');
  const oidTlv = readTlv(der, algId.start, algId.end);
  if (oidTlv.tag !== 0x06) throw new Pkcs8Error('expected algorithm OID');
  const oid = decodeOid(der.subarray(oidTlv.start, oidTlv.end));
  if (oid !== ED25519_OID) {
    const name = FOREIGN_ALGORITHMS[oid] ?? `algorithm ${oid}`;
    throw new Pkcs8Error(`key algorithm is ${name}`, name);
  }
  // RFC 8410 §3: the parameters MUST be absent.
  if (oidTlv.end !== algId.end) throw new Pkcs8Error('invalid Ed25519 private key parameters');
  pos = algId.end;

  const privateKey = readTlv(der, pos, outer.end);
  if (privateKey.tag !== 0x04) throw new Pkcs8Error('expected privateKey OCTET STRING');
  const curveKey = readTlv(der, privateKey.start, privateKey.end);
  if (curveKey.tag !== 0x04 || curveKey.end !== privateKey.end) {
    throw new Pkcs8Error('invalid Ed25519 private key');
  }
  const seedLength = curveKey.end - curveKey.start;
  if (seedLength !== 32) throw new Pkcs8Error(`invalid Ed25519 private key length: ${seedLength}`);
  const seed = der.slice(curveKey.start, curveKey.end);
  pos = privateKey.end;

  let publicKey: Uint8Array | null = null;
  if (pos < outer.end && der[pos] === 0xa0) pos = readTlv(der, pos, outer.end).end; // attributes: unused
  if (pos < outer.end && der[pos] === 0x81) {
    if (versionValue !== 1) throw new Pkcs8Error('public key present in a version 0 structure');
    const bits = readTlv(der, pos, outer.end);
    // BIT STRING: first content byte counts unused bits, which must be 0 for a 32-byte key.
    if (bits.end - bits.start !== 33 || der[bits.start] !== 0) throw new Pkcs8Error('invalid Ed25519 public key');
    publicKey = der.slice(bits.start + 1, bits.end);
    pos = bits.end;
  }
  if (pos !== outer.end) throw new Pkcs8Error('unexpected trailing fields');
  return { seed, publicKey };
}

interface Tlv {
  tag: number;
  start: number;
  end: number;
}

/** One DER element at `pos`; definite, minimally encoded lengths only. */
function readTlv(der: Uint8Array, pos: number, limit = der.length): Tlv {
  if (pos + 2 > limit) throw new Pkcs8Error('malformed DER: truncated');
  const tag = der[pos] as number;
  if ((tag & 0x1f) === 0x1f) throw new Pkcs8Error('malformed DER: multi-byte tag');
  let len = der[pos + 1] as number;
  let start = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 3) throw new Pkcs8Error('malformed DER: unsupported length');
    if (start + n > limit) throw new Pkcs8Error('malformed DER: truncated');
    len = 0;
    for (let i = 0; i < n; i++) len = (len << 8) | (der[start + i] as number);
    if (len < 0x80 || (n > 1 && der[start] === 0)) throw new Pkcs8Error('malformed DER: non-minimal length');
    start += n;
  }
  const end = start + len;
  if (end > limit) throw new Pkcs8Error('malformed DER: truncated');
  return { tag, start, end };
}

function decodeOid(bytes: Uint8Array): string {
  if (bytes.length === 0) throw new Pkcs8Error('malformed DER: empty OID');
  const arcs: number[] = [];
  let value = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    if (value === 0 && b === 0x80) throw new Pkcs8Error('malformed DER: non-minimal OID');
    value = value * 128 + (b & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER / 128) throw new Pkcs8Error('malformed DER: OID arc too large');
    if ((b & 0x80) === 0) {
      arcs.push(value);
      value = 0;
    } else if (i === bytes.length - 1) {
      throw new Pkcs8Error('malformed DER: truncated OID');
    }
  }
  const first = arcs[0] as number;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...arcs.slice(1)].join('.');
}
