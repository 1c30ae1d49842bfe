import { isIP } from 'node:net';

/**
 * An address block. IPv4 blocks are held in their IPv4-mapped IPv6 form (`::ffff:a.b.c.d/96+n`), so a socket
 * address reported as `::ffff:127.0.0.1` by a dual-stack listener matches `127.0.0.0/8` without special cases.
 */
export interface Cidr {
  readonly family: 4 | 6;
  /** Prefix length as written, in the block's own family (0..32 or 0..128). */
  readonly prefix: number;
  /** Canonical text, e.g. `10.0.0.0/8` or `2001:db8::/32` (host bits cleared). */
  readonly text: string;
  /** 16-byte network address with host bits cleared. */
  readonly network: Uint8Array;
  /** Prefix length over the 16-byte form. */
  readonly bits128: number;
}

const MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff] as const;

function parseIPv4Into(text: string, out: Uint8Array, offset: number): boolean {
  const parts = text.split('.');
  if (parts.length !== 4) return false;
  for (let i = 0; i < 4; i++) {
    const part = parts[i] as string;
    // Leading zeros are refused: some resolvers read them as octal, so `010.0.0.1` is ambiguous.
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return false;
    const n = Number(part);
    if (n > 255) return false;
    out[offset + i] = n;
  }
  return true;
}

function parseHextets(text: string, out: number[]): boolean {
  if (text === '') return true;
  for (const g of text.split(':')) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return false;
    out.push(Number.parseInt(g, 16));
  }
  return true;
}

function parseIPv6(text: string): Uint8Array | null {
  const bytes = new Uint8Array(16);
  let body = text;
  const lastColon = body.lastIndexOf(':');
  const tailV4 = body.indexOf('.', lastColon) !== -1;
  if (tailV4) {
    if (!parseIPv4Into(body.slice(lastColon + 1), bytes, 12)) return null;
    // Two placeholder groups stand in for the dotted tail; bytes 12..15 are already filled in.
    body = `${body.slice(0, lastColon + 1)}0:0`;
  }
  const halves = body.split('::');
  if (halves.length > 2) return null;
  const head: number[] = [];
  const tail: number[] = [];
  if (!parseHextets(halves[0] as string, head)) return null;
  if (halves.length === 2) {
    if (!parseHextets(halves[1] as string, tail)) return null;
    // `::` stands for at least one zero group.
    if (head.length + tail.length > 7) return null;
  } else if (head.length !== 8) {
    return null;
  }
  const groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  const last = tailV4 ? 6 : 8;
  for (let i = 0; i < last; i++) {
    const g = groups[i] as number;
    bytes[i * 2] = g >> 8;
    bytes[i * 2 + 1] = g & 0xff;
  }
  return bytes;
}

/** Parses an IPv4 or IPv6 address (no zone, no brackets) into 16 bytes, IPv4 as IPv4-mapped IPv6. */
export function parseIpBytes(text: string): { family: 4 | 6; bytes: Uint8Array } | null {
  const family = isIP(text);
  if (family === 4) {
    const bytes = new Uint8Array(16);
    bytes.set(MAPPED_PREFIX);
    return parseIPv4Into(text, bytes, 12) ? { family: 4, bytes } : null;
  }
  if (family === 6 && !text.includes('%')) {
    const bytes = parseIPv6(text);
    return bytes === null ? null : { family: 6, bytes };
  }
  return null;
}

function maskInPlace(bytes: Uint8Array, bits: number): void {
  for (let i = 0; i < 16; i++) {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    bytes[i] = (bytes[i] as number) & ((0xff << (8 - keep)) & 0xff);
  }
}

function formatIPv6(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] as number) << 8) | (bytes[i + 1] as number));
  // RFC 5952: compress the longest run of two or more zero groups, the first one on a tie.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/**
 * Parses `a.b.c.d/n`, `x::y/n`, or a bare address (a single host, /32 or /128). Host bits set in the address are
 * cleared rather than rejected (`10.1.2.3/8` is `10.0.0.0/8`). Returns null for anything else.
 */
export function parseCidr(text: string): Cidr | null {
  const slash = text.indexOf('/');
  const addrText = slash === -1 ? text : text.slice(0, slash);
  const ip = parseIpBytes(addrText);
  if (ip === null) return null;
  const maxPrefix = ip.family === 4 ? 32 : 128;
  let prefix = maxPrefix;
  if (slash !== -1) {
    const prefixText = text.slice(slash + 1);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText)) return null;
    prefix = Number(prefixText);
    if (prefix > maxPrefix) return null;
  }
  const bits128 = ip.family === 4 ? prefix + 96 : prefix;
  const network = ip.bytes;
  maskInPlace(network, bits128);
  const addr = ip.family === 4 ? Array.from(network.subarray(12)).join('.') : formatIPv6(network);
  return { family: ip.family, prefix, text: `${addr}/${prefix}`, network, bits128 };
}

/**
 * True when `ip` lies in `cidr`. Accepts what node sockets report: plain IPv4, IPv6, IPv4-mapped IPv6, and a
 * trailing `%zone` (ignored). An unparsable address is never contained.
 */
export function cidrContains(cidr: Cidr, ip: string): boolean {
  const percent = ip.indexOf('%');
  const parsed = parseIpBytes(percent === -1 ? ip : ip.slice(0, percent));
  if (parsed === null) return false;
  const addr = parsed.bytes;
  const fullBytes = cidr.bits128 >> 3;
  for (let i = 0; i < fullBytes; i++) {
    if (addr[i] !== cidr.network[i]) return false;
  }
  const rest = cidr.bits128 & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((addr[fullBytes] as number) & mask) === cidr.network[fullBytes];
}

/** True when any block in `cidrs` contains `ip`. */
export function anyCidrContains(cidrs: readonly Cidr[], ip: string): boolean {
  for (const c of cidrs) if (cidrContains(c, ip)) return true;
  return false;
}
