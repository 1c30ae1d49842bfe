/**
 * The package as a consumer gets it: `npm pack`, install the tarball into a fresh project, type-check and run a
 * file that imports `agentwrit-broker/client` against a live broker. Offline: the tarball's runtime dependencies
 * are copied from this checkout first, so npm has nothing to download.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { startTestBroker } from '../helpers/broker.js';
import { createApp } from './support.js';

const run = promisify(execFile);
const require = createRequire(import.meta.url);
const root = new URL('../..', import.meta.url).pathname;
const tsc = join(root, 'node_modules/typescript/bin/tsc');

function emitClientDeclarations(): void {
  const ts = require('typescript') as typeof import('typescript');
  const config = ts.getParsedCommandLineOfConfigFile(
    join(root, 'tsconfig.client.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => assert.fail(String(d.messageText)),
    },
  );
  assert.ok(
    config !== undefined && config.options.isolatedDeclarations === true && config.options.declaration === true,
  );
  for (const file of config.fileNames) {
    const out = ts.transpileDeclaration(readFileSync(file, 'utf8'), {
      fileName: file,
      compilerOptions: config.options,
      reportDiagnostics: true,
    });
    assert.deepEqual(out.diagnostics?.map((d) => d.messageText) ?? [], [], file);
    const target = join(root, 'dist', relative(join(root, 'src'), file)).replace(/\.ts$/, '.d.ts');
    writeFileSync(target, out.outputText);
  }
}

const CONSUMER = `
import { AgentWritApp, createVerifier, scopeIsSubset, validate, type TokenClaims } from 'agentwrit-broker/client';

const brokerUrl = process.env['BROKER_URL'] ?? '';
const app = new AgentWritApp({ brokerUrl, clientId: process.env['CLIENT_ID'] ?? '', clientSecret: process.env['CLIENT_SECRET'] ?? '' });
const agent = await app.createAgent({ orchId: 'pack', taskId: 'consumer', requestedScope: ['read:data:x'] });
const verifier = createVerifier({ brokerUrl });
const claims: TokenClaims = await verifier.verify(agent.accessToken, { requiredScope: ['read:data:x'] });
const checked = await validate(brokerUrl, agent.accessToken);
await agent.release();
const after = await app.validate(agent.accessToken);
app.close();
verifier.close();
console.log(JSON.stringify({ sub: claims.sub === agent.agentId, valid: checked.valid, released: after.valid === false, subset: scopeIsSubset(['read:data:x'], agent.scope) }));
`;

// Proves the types are real: were they missing or \`any\`, these expectations would be unused and fail the build.
const TYPED = `
import { AgentWritApp, scopeIsSubset } from 'agentwrit-broker/client';
// @ts-expect-error clientSecret is required
new AgentWritApp({ brokerUrl: 'http://127.0.0.1', clientId: 'c' });
// @ts-expect-error scopes are string lists
scopeIsSubset('read:data:x', []);
export {};
`;

test('npm pack → install the tarball → type-check and run a consumer of agentwrit-broker/client', async (t) => {
  let mark = Date.now();
  const lap = (what: string): void => {
    t.diagnostic(`${what}: ${Date.now() - mark} ms`);
    mark = Date.now();
  };
  assert.ok(existsSync(join(root, 'dist/client/index.js')), 'build first (npx tsc -p tsconfig.json)');
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    version: string;
    scripts: Record<string, string>;
  };
  // `npm pack` runs prepack (the client's declarations) after prepare (the full build, done already). With
  // isolatedDeclarations each declaration file depends on its own source only, so the compiler's per-file
  // transform yields exactly what prepack writes, in milliseconds instead of a whole type-checked program.
  assert.equal(pkg.scripts.prepack, 'tsc -p tsconfig.client.json');
  emitClientDeclarations();
  // The broker the consumer talks to starts meanwhile.
  const broker = startTestBroker(t).then(async (b) => ({ b, creds: await createApp(b, 'pack-consumer') }));

  lap('declarations');
  const work = mkdtempSync(join(tmpdir(), 'awb-pack-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  await run('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', work], { cwd: root });
  const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
  assert.equal(tarball, `agentwrit-broker-${pkg.version}.tgz`);

  lap('pack');
  const consumer = join(work, 'consumer');
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean }>;
  };
  for (const [path, meta] of Object.entries(lock.packages)) {
    if (path !== '' && meta.dev !== true) cpSync(join(root, path), join(consumer, path), { recursive: true });
  }
  lap('copy');
  writeFileSync(
    join(consumer, 'package.json'),
    JSON.stringify({ name: 'consumer', version: '1.0.0', type: 'module', private: true }),
  );
  await run(
    'npm',
    [
      'install',
      '--offline',
      '--ignore-scripts',
      '--no-package-lock',
      '--no-audit',
      '--no-fund',
      '--silent',
      join(work, tarball),
    ],
    {
      cwd: consumer,
    },
  );
  lap('install');
  assert.ok(
    existsSync(join(consumer, 'node_modules/agentwrit-broker/dist/client/index.d.ts')),
    'declarations are in the package',
  );

  writeFileSync(join(consumer, 'consumer.ts'), CONSUMER);
  writeFileSync(join(consumer, 'typed.ts'), TYPED);
  writeFileSync(
    join(consumer, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        skipLibCheck: true,
        outDir: 'out',
        types: ['node'],
        typeRoots: [join(root, 'node_modules/@types')],
      },
      files: ['consumer.ts', 'typed.ts'],
    }),
  );
  await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: consumer }).catch((err: { stdout?: string }) => {
    assert.fail(`consumer does not type-check:\n${err.stdout ?? String(err)}`);
  });

  lap('compile');
  const { b, creds } = await broker;
  const { stdout } = await run(process.execPath, ['out/consumer.js'], {
    cwd: consumer,
    env: { ...process.env, BROKER_URL: b.url, CLIENT_ID: creds.clientId, CLIENT_SECRET: creds.clientSecret },
  });
  lap('run');
  assert.deepEqual(JSON.parse(stdout), { sub: true, valid: true, released: true, subset: true });
});
