/** Reads the Dockerfile into stages of instructions (continuations joined, comments dropped). */
import { readFileSync } from 'node:fs';

export interface Instruction {
  op: string;
  args: string;
}

export interface Stage {
  from: string;
  name: string;
  steps: Instruction[];
}

export function readDockerfile(path: string): { args: Map<string, string>; stages: Stage[] } {
  const joined = readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n')
    .replace(/\\\n/g, ' ');
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const line of joined.split('\n')) {
    const m = /^\s*([A-Z]+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const op = m[1] as string;
    const rest = (m[2] as string).trim().replace(/\s+/g, ' ');
    if (op === 'FROM') {
      const f = /^(\S+)(?: AS (\S+))?$/i.exec(rest);
      stages.push({ from: f?.[1] ?? rest, name: f?.[2] ?? String(stages.length), steps: [] });
    } else if (stages.length === 0 && op === 'ARG') {
      const [k, v] = rest.split('=');
      args.set(k as string, v ?? '');
    } else {
      stages.at(-1)?.steps.push({ op, args: rest });
    }
  }
  return { args, stages };
}

/** `ENV A=1 B=2` pairs (values without spaces, as this Dockerfile writes them). */
export function envPairs(args: string): [string, string][] {
  return args.split(' ').map((kv) => {
    const i = kv.indexOf('=');
    return [kv.slice(0, i), kv.slice(i + 1).replace(/^"(.*)"$/, '$1')];
  });
}

/** Docker's .dockerignore rule: the last pattern matching the path or one of its parent directories decides. */
export function dockerIgnored(patterns: string[], path: string): boolean {
  const parts = path.split('/');
  const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const raw of patterns) {
    const negate = raw.startsWith('!');
    const pat = (negate ? raw.slice(1) : raw).replace(/\/$/, '');
    const re = new RegExp(
      '^' +
        pat
          .split('**/')
          .map((seg) =>
            seg
              .replace(/[.+^${}()|[\]\\]/g, '\\$&')
              .replace(/\*/g, '[^/]*')
              .replace(/\?/g, '[^/]'),
          )
          .join('(?:.*/)?') +
        '$',
    );
    if (prefixes.some((p) => re.test(p))) ignored = !negate;
  }
  return ignored;
}

export function readDockerignore(path: string): string[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}
