/**
 * Import-graph checks over src/: no import cycles (type-only imports count: a cycle of types is still a knot a
 * reader must untangle), and the layer rules of docs/internals.md ("Layers"). Relative specifiers only; packages and
 * node: builtins are not part of the graph.
 * Usage: node --import tsx scripts/check-imports.ts [root]   (exit 1 and one line per finding when a rule is broken)
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** Files (relative to the root, `/`-separated) and the files each one imports. */
export type ImportGraph = ReadonlyMap<string, readonly string[]>;

/** `from` must not import anything under `to` (both directory prefixes relative to the root, ending in `/`). */
export interface LayerRule {
  from: string;
  to: string;
}

export const LAYER_RULES: readonly LayerRule[] = [
  { from: 'src/routes/', to: 'src/store/' },
  { from: 'src/services/', to: 'src/transport/' },
];

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const posix = (p: string): string => p.split(sep).join('/');

/** The import graph of every .ts file under `root/src`; `./x.js` resolves to `x.ts` as NodeNext does. */
export function importGraph(root: string): ImportGraph {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(join(root, 'src')).sort()) {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const targets = new Set<string>();
    for (const { fileName } of info.importedFiles) {
      if (!fileName.startsWith('./') && !fileName.startsWith('../')) continue;
      const target = resolve(dirname(file), fileName).replace(/\.js$/, '.ts');
      targets.add(posix(relative(root, target)));
    }
    graph.set(posix(relative(root, file)), [...targets].sort());
  }
  return graph;
}

/** Every strongly connected group of more than one file (or a file importing itself), each as one cycle path. */
export function findCycles(graph: ImportGraph): string[][] {
  // Tarjan's algorithm; the graph is small, recursion depth is bounded by the number of files.
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) ?? 0, index.get(w) ?? 0));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const group: string[] = [];
    for (;;) {
      const w = stack.pop() as string;
      onStack.delete(w);
      group.push(w);
      if (w === v) break;
    }
    if (group.length > 1 || (graph.get(v) ?? []).includes(v)) groups.push(cyclePath(graph, new Set(group)));
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return groups;
}

/** One concrete cycle inside a strongly connected group, found by walking from its first file back to it. */
function cyclePath(graph: ImportGraph, group: ReadonlySet<string>): string[] {
  const start = [...group].sort()[0] as string;
  const parent = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift() as string;
    for (const w of graph.get(v) ?? []) {
      if (!group.has(w)) continue;
      if (w === start) {
        const path = [v];
        for (let p = parent.get(v); p !== undefined; p = parent.get(p)) path.push(p);
        return [...path.reverse(), start];
      }
      if (!parent.has(w) && w !== start) {
        parent.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

/** Each import that crosses a layer rule, as `file -> imported file`. */
export function layerViolations(graph: ImportGraph, rules: readonly LayerRule[] = LAYER_RULES): string[] {
  const out: string[] = [];
  for (const [file, targets] of graph) {
    for (const rule of rules) {
      if (!file.startsWith(rule.from)) continue;
      for (const t of targets)
        if (t.startsWith(rule.to)) out.push(`${file} -> ${t} (${rule.from} must not import ${rule.to})`);
    }
  }
  return out;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..'));
  const graph = importGraph(root);
  const problems = [
    ...findCycles(graph).map((c) => `import cycle: ${c.join(' -> ')}`),
    ...layerViolations(graph).map((v) => `layer: ${v}`),
  ];
  for (const p of problems) console.error(p);
  if (problems.length > 0) process.exit(1);
  console.log(`imports: ${graph.size} files, no cycles, layers respected`);
}
