/** The import-graph checker of scripts/check-imports.ts on small trees written for each case. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { findCycles, importGraph, layerViolations } from '../../scripts/check-imports.js';

function tree(t: TestContext, files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'awb-imports-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

test('every relative import form is an edge; packages, builtins and comments are not', (t) => {
  const root = tree(t, {
    'src/a.ts': [
      "import { b } from './b.js';",
      "import type { C } from './sub/c.js';",
      "export { d } from './d.js';",
      "import 'node:fs';",
      "import mri from 'mri';",
      '/** e.g. `import { x } from "./nowhere.js"` */',
      "const later = () => import('./e.js');",
    ].join('\n'),
    'src/b.ts': 'export const b = 1;\n',
    'src/sub/c.ts': "import { b } from '../b.js';\nexport type C = typeof b;\n",
    'src/d.ts': 'export const d = 1;\n',
    'src/e.ts': 'export {};\n',
    'src/types.d.ts': "import './a.js';\n",
  });
  const graph = importGraph(root);
  assert.deepEqual([...graph.keys()], ['src/a.ts', 'src/b.ts', 'src/d.ts', 'src/e.ts', 'src/sub/c.ts']);
  assert.deepEqual(graph.get('src/a.ts'), ['src/b.ts', 'src/d.ts', 'src/e.ts', 'src/sub/c.ts']);
  assert.deepEqual(graph.get('src/sub/c.ts'), ['src/b.ts']);
  assert.deepEqual(findCycles(graph), []);
});

test('a cycle is reported as a closed path, a type-only edge included', (t) => {
  const root = tree(t, {
    'src/config.ts': "import { log } from './log.js';\nexport type Level = 1;\n",
    'src/log.ts': "import type { Level } from './config.js';\nexport const log = 1;\n",
    'src/cli/a.ts': "import { b } from './b.js';\n",
    'src/cli/b.ts': "import { c } from './c.js';\n",
    'src/cli/c.ts': "import type { A } from './a.js';\n",
    'src/self.ts': "import type { X } from './self.js';\n",
  });
  const cycles = findCycles(importGraph(root))
    .map((c) => c.join(' -> '))
    .sort();
  assert.deepEqual(cycles, [
    'src/cli/a.ts -> src/cli/b.ts -> src/cli/c.ts -> src/cli/a.ts',
    'src/config.ts -> src/log.ts -> src/config.ts',
    'src/self.ts -> src/self.ts',
  ]);
});

test('layer rules: routes never reach store, services never reach transport', (t) => {
  const root = tree(t, {
    'src/routes/ok.ts': "import { op } from '../services/ops.js';\n",
    'src/routes/bad.ts': "import type { Row } from '../store/store.js';\n",
    'src/services/ops.ts':
      "import { q } from '../store/store.js';\nexport { HttpError } from '../transport/problem.js';\n",
    'src/store/store.ts': 'export type Row = 1;\n',
    'src/transport/problem.ts': "import { op } from '../services/ops.js';\n",
  });
  assert.deepEqual(layerViolations(importGraph(root)), [
    'src/routes/bad.ts -> src/store/store.ts (src/routes/ must not import src/store/)',
    'src/services/ops.ts -> src/transport/problem.ts (src/services/ must not import src/transport/)',
  ]);
});

test('the broker source has no import cycle', () => {
  const root = new URL('../../', import.meta.url).pathname;
  const graph = importGraph(root);
  assert.ok(graph.size > 50, `found only ${graph.size} files`);
  assert.deepEqual(findCycles(graph), []);
});
