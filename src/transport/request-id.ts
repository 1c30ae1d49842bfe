import { randomFillSync } from 'node:crypto';

/** A client's X-Request-ID is trusted only in this shape; anything else could forge log lines or bloat them. */
const CLIENT_ID_RE = /^[A-Za-z0-9._-]{1,128}$/;

// One randomFillSync per 512 ids instead of one per request.
const pool = Buffer.alloc(4096);
let offset = pool.length;

export function newRequestId(): string {
  if (offset + 8 > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const id = pool.toString('hex', offset, offset + 8);
  offset += 8;
  return id;
}

export function requestIdFrom(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value !== undefined && CLIENT_ID_RE.test(value) ? value : newRequestId();
}
