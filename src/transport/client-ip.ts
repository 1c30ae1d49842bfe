import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { anyCidrContains, type Cidr, parseIpBytes } from '../config/cidr.js';

/**
 * The address rate limits are keyed on. X-Forwarded-For is believed only when the socket peer is a trusted
 * proxy; then the rightmost address not itself a trusted proxy is the client (entries to its left are whatever the
 * client chose to send).
 */
export function clientIp(req: IncomingMessage, trusted: readonly Cidr[]): string {
  const peer = normalize(req.socket.remoteAddress ?? '');
  if (trusted.length === 0 || !anyCidrContains(trusted, peer)) return peer;
  const header = req.headers['x-forwarded-for'];
  if (header === undefined) return peer;
  const hops = (Array.isArray(header) ? header.join(',') : header).split(',');
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = normalize((hops[i] as string).trim());
    if (isIP(hop) === 0) return peer;
    if (!anyCidrContains(trusted, hop)) return hop;
  }
  return peer;
}

function normalize(ip: string): string {
  return ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
}

/**
 * What a per-address rate limit counts: an IPv4 address as is, an IPv6 address by its /64, since a single host is
 * routinely given a whole /64 and could otherwise rotate through 2^64 addresses to dodge the limit.
 */
export function rateLimitKey(ip: string): string {
  const parsed = parseIpBytes(ip);
  if (parsed === null || parsed.family === 4) return ip;
  return `${Buffer.from(parsed.bytes.subarray(0, 8)).toString('hex')}/64`;
}
