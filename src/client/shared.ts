/**
 * Keep-alive transports shared by the function-style entry points (`validate`), one per broker URL, timeout and
 * TLS material, so repeated calls reuse connections. Bounded: the oldest is closed when a new one is needed.
 */
import { createHash } from 'node:crypto';
import { Transport, type TransportOptions } from './transport.js';

const MAX_SHARED = 16;
const shared = new Map<string, Transport>();

function keyOf(brokerUrl: string, opts: TransportOptions): string {
  const h = createHash('sha256');
  h.update(brokerUrl)
    .update('\0')
    .update(String(opts.timeoutMs ?? ''));
  const tls = opts.tls ?? {};
  for (const part of [...[tls.ca ?? []].flat(), '\0', tls.cert ?? '', '\0', tls.key ?? '']) h.update(part);
  return h.digest('hex');
}

export function sharedTransport(brokerUrl: string, opts: TransportOptions = {}): Transport {
  const key = keyOf(brokerUrl, opts);
  const found = shared.get(key);
  if (found !== undefined) {
    shared.delete(key);
    shared.set(key, found);
    return found;
  }
  const t = new Transport(brokerUrl, opts);
  if (shared.size >= MAX_SHARED) {
    const [oldestKey, oldest] = shared.entries().next().value as [string, Transport];
    shared.delete(oldestKey);
    oldest.close();
  }
  shared.set(key, t);
  return t;
}

/** Closes the pooled connections of the shared transports (e.g. before a process exits or a test ends). */
export function closeSharedConnections(): void {
  for (const t of shared.values()) t.close();
  shared.clear();
}
