/**
 * The ceiling the broker is compared with: a bare node:http (or node:https) server that reads the request body
 * and answers a small JSON document. Started by bench/routes.mjs as a child process, like the broker, so both
 * are measured the same way. Prints `listening on 127.0.0.1:<port>`; exits on SIGTERM or when stdin closes.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';

const body = `${JSON.stringify({ status: 'ok', version: '2.0.0', uptime: 1, db_connected: true, audit_events_count: 0 })}\n`;
const length = String(Buffer.byteLength(body));

function handler(req, res) {
  req.on('data', () => undefined);
  req.on('end', () => {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': length });
    res.end(body);
  });
}

const options = { keepAliveTimeout: 120_000 };
const server =
  process.env.RAW_TLS_CERT !== undefined
    ? https.createServer(
        { ...options, cert: readFileSync(process.env.RAW_TLS_CERT), key: readFileSync(process.env.RAW_TLS_KEY ?? '') },
        handler,
      )
    : http.createServer(options, handler);

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening on 127.0.0.1:${server.address().port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
