/**
 * Scrubs text that is about to become part of an error message: anything shaped like a JWT, a PEM block or a
 * long hex or base64 secret is replaced. The broker's own error texts never echo secrets, but messages also
 * carry strings from the caller and from lower layers, and a leaked token in a log is a live credential.
 */
const PEM = /-----BEGIN [A-Z0-9 ]+-----[\s\S]*?(?:-----END [A-Z0-9 ]+-----|$)/g;
const JWT = /[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g;
// 32+ hex digits: client secrets, launch tokens, nonces.
const HEX = /\b[0-9a-fA-F]{32,}\b/g;
// 40+ base64 characters: raw keys and signatures. Only runs that mix upper case, lower case and digits count,
// so paths such as SPIFFE IDs stay readable.
const B64 = /[A-Za-z0-9+/_-]{40,}={0,2}/g;
const looksRandom = (s: string): boolean => /[A-Z]/.test(s) && /[a-z]/.test(s) && /[0-9]/.test(s);

export function redact(text: string): string {
  return text
    .replace(PEM, '[redacted key]')
    .replace(JWT, '[redacted token]')
    .replace(HEX, '[redacted]')
    .replace(B64, (m) => (looksRandom(m) ? '[redacted]' : m));
}
