/** A tiny HTTP(S) client for tests: raw status, headers and body, no redirects, no retries. */
import http from 'node:http';
import https from 'node:https';

export interface TestResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- tests index into arbitrary bodies
}

export interface RequestOptions {
  method?: string;
  body?: unknown; // object → JSON; string/Buffer → raw
  token?: string;
  headers?: Record<string, string>;
  tls?: https.RequestOptions; // ca, cert, key for TLS/mTLS
}

export function request(baseUrl: string, path: string, opts: RequestOptions = {}): Promise<TestResponse> {
  const url = new URL(baseUrl);
  const headers: Record<string, string> = { ...opts.headers };
  let payload: Buffer | undefined;
  if (opts.body !== undefined) {
    payload = Buffer.isBuffer(opts.body)
      ? opts.body
      : Buffer.from(typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body));
    headers['Content-Type'] ??= 'application/json';
    headers['Content-Length'] = String(payload.length);
  }
  if (opts.token !== undefined) headers.Authorization = `Bearer ${opts.token}`;
  const isTls = url.protocol === 'https:';
  const mod = isTls ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(
      {
        host: url.hostname,
        port: url.port,
        path,
        method: opts.method ?? (opts.body === undefined ? 'GET' : 'POST'),
        headers,
        agent: false,
        ...(isTls ? opts.tls : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text === '' ? undefined : JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.setTimeout(20_000, () => req.destroy(new Error('test request timed out')));
    req.end(payload);
  });
}
