/**
 * The CLI as fresh JavaScript for the tests: every module reachable from src/cli/main.ts is transpiled with the
 * TypeScript compiler into a private directory under .tmp/, once per test process. This runs the current source
 * (a stale dist/ cannot hide a change) at a quarter of the start-up cost of a tsx loader in every child.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { ROOT } from './paths.js';

// Value imports only: `import type` is erased by the compiler and must not drag in modules the CLI never loads.
const IMPORT_RE = /^(?:import|export)\s+(?!type\s)[^;]*?from\s+'(\.{1,2}\/[^']+)\.js'|import\(\s*'(\.{1,2}\/[^']+)\.js'\s*\)/gm;

let built: string | undefined;

export function cliMainJs(): string {
  if (built !== undefined) return built;
  const out = join(ROOT, '.tmp', `awrit-cli-${process.pid}`);
  rmSync(out, { recursive: true, force: true });
  process.on('exit', () => rmSync(out, { recursive: true, force: true }));
  // version.ts reads ../../package.json relative to itself.
  writeFileSync(join(mkdirp(out), 'package.json'), readFileSync(join(ROOT, 'package.json')));
  const seen = new Set<string>();
  const queue = [join(ROOT, 'src', 'cli', 'main.ts')];
  for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    for (const m of source.matchAll(IMPORT_RE)) queue.push(resolve(dirname(file), `${m[1] ?? m[2] ?? ''}.ts`));
    const js = ts.transpileModule(source, {
      fileName: file,
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    }).outputText;
    const target = join(out, relative(ROOT, file)).replace(/\.ts$/, '.js');
    mkdirp(dirname(target));
    writeFileSync(target, js);
  }
  built = join(out, 'src', 'cli', 'main.js');
  return built;
}

function mkdirp(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}
