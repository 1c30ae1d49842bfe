#!/usr/bin/env node
import { spawn } from 'node:child_process';
// Runs every test file under test/ with node:test through tsx, two files at a time (the machines have 2 cores;
// TEST_CONCURRENCY overrides).
// Usage: node scripts/run-tests.mjs [path-substring ...]   (filters the file list)
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const filters = process.argv.slice(2);

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}

// The longest files start first, so the run does not end with one slow file and an idle core.
const SLOW_FIRST = ['durability', 'runtime-image', 'store-crash', 'connections', 'fuzz', 'abuse', 'test/cli/'];
const rank = (f) => {
  const i = SLOW_FIRST.findIndex((s) => f.includes(s));
  return i === -1 ? SLOW_FIRST.length : i;
};
const files = walk(join(root, 'test'))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const child = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    `--test-concurrency=${process.env.TEST_CONCURRENCY ?? '2'}`,
    '--test-reporter=spec',
    ...files,
  ],
  { cwd: root, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'test' } },
);
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
