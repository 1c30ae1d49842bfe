#!/usr/bin/env node
import { readFileSync } from 'node:fs';
// Container health probe: GET /v1/health on the broker in this network namespace; exit 0 only for 200 "ok".
// A 503 "degraded" (the last database write failed) is unhealthy on purpose: acknowledged writes are at risk.
//
// It reads the broker's own variables (AA_PORT, AA_BIND_ADDRESS, AA_TLS_MODE) so it follows any TLS setting, plus:
//   AA_HEALTHCHECK_CA          CA file to verify the broker certificate against. Unset: the certificate is not
//                              verified, because the probe only checks liveness of the broker in its own container.
//   AA_HEALTHCHECK_SERVERNAME  name to verify the certificate for (default: localhost).
//   AA_HEALTHCHECK_CERT/_KEY   client certificate and key; required when AA_TLS_MODE=mtls.
// Uses only node built-ins, so the runtime image needs no curl or wget.
import http from 'node:http';
import https from 'node:https';

const env = process.env;
const value = (name) => (env[name] === undefined || env[name] === '' ? undefined : env[name]);
const mode = value('AA_TLS_MODE') ?? 'none';
const port = Number(value('AA_PORT') ?? '8080');
const bind = value('AA_BIND_ADDRESS') ?? '127.0.0.1';
// A wildcard bind accepts loopback connections; a specific address must be probed on that address.
const host = bind === '0.0.0.0' || bind === '::' || bind === '[::]' ? '127.0.0.1' : bind.replace(/^\[(.*)\]$/, '$1');

function fail(reason) {
  process.stderr.write(`unhealthy: ${reason}\n`);
  process.exit(1);
}

const options = { host, port, path: '/v1/health', method: 'GET', timeout: 2500, agent: false };
let mod = http;
if (mode === 'tls' || mode === 'mtls') {
  mod = https;
  const ca = value('AA_HEALTHCHECK_CA');
  options.rejectUnauthorized = ca !== undefined;
  if (ca !== undefined) {
    options.ca = readFileSync(ca);
    options.servername = value('AA_HEALTHCHECK_SERVERNAME') ?? 'localhost';
  }
  const cert = value('AA_HEALTHCHECK_CERT');
  const key = value('AA_HEALTHCHECK_KEY');
  if (mode === 'mtls' && (cert === undefined || key === undefined)) {
    fail('AA_TLS_MODE=mtls needs AA_HEALTHCHECK_CERT and AA_HEALTHCHECK_KEY (a client certificate)');
  }
  if (cert !== undefined && key !== undefined) {
    options.cert = readFileSync(cert);
    options.key = readFileSync(key);
  }
} else if (mode !== 'none') {
  fail(`unknown AA_TLS_MODE ${JSON.stringify(mode)}`);
}

const req = mod.request(options, (res) => {
  let body = '';
  res.setEncoding('utf8');
  res.on('data', (chunk) => {
    body += chunk;
  });
  res.on('end', () => {
    let status;
    try {
      status = JSON.parse(body).status;
    } catch {
      status = undefined;
    }
    if (res.statusCode === 200 && status === 'ok') process.exit(0);
    fail(`HTTP ${res.statusCode} ${body.trim()}`);
  });
});
req.on('timeout', () => req.destroy(new Error('timed out')));
req.on('error', (err) => fail(err.message));
req.end();
