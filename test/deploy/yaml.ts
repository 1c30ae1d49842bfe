/**
 * A strict reader for the YAML subset the repository's compose files and OpenAPI document use: block mappings and
 * sequences, `- key: value` items, plain/single-/double-quoted scalars, one-line flow collections, comments.
 * Anything else (anchors, tags, block scalars, multi-line flow) throws, so the files stay within what is checked.
 * `>-` folded scalars are accepted because OpenAPI prose needs them.
 */

interface Line {
  indent: number;
  text: string;
  no: number;
}

export class YamlSubsetError extends Error {}

function stripComment(s: string): string {
  let quote: string | null = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote !== null) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'") {
      if (i === 0 || /[\s[{,:]/.test(s[i - 1] ?? '')) quote = c;
    } else if (c === '#' && (i === 0 || /\s/.test(s[i - 1] ?? ''))) {
      return s.slice(0, i);
    }
  }
  return s;
}

function splitKey(text: string, no: number): [string, string] | null {
  let i = 0;
  let key: string;
  if (text.startsWith('"') || text.startsWith("'")) {
    const end = findQuoteEnd(text, 0, no);
    key = parseScalar(text.slice(0, end + 1), no) as string;
    i = end + 1;
    if (text[i] !== ':') return null;
  } else {
    const m = /^([^\s:[\]{},#'"][^:]*?):(\s|$)/.exec(text);
    if (m === null) return null;
    key = m[1] as string;
    i = key.length;
  }
  return [String(key), text.slice(i + 1).trim()];
}

function findQuoteEnd(s: string, start: number, no: number): number {
  const q = s[start];
  for (let i = start + 1; i < s.length; i++) {
    if (q === '"' && s[i] === '\\') {
      i++;
      continue;
    }
    if (s[i] === q) {
      if (q === "'" && s[i + 1] === "'") {
        i++;
        continue;
      }
      return i;
    }
  }
  throw new YamlSubsetError(`line ${no}: unterminated quoted string`);
}

export function parseScalar(raw: string, no: number): unknown {
  const s = raw.trim();
  if (s.startsWith('[') || s.startsWith('{')) {
    const [value, end] = parseFlow(s, 0, no);
    if (s.slice(end).trim() !== '') throw new YamlSubsetError(`line ${no}: trailing text after flow collection`);
    return value;
  }
  if (s.startsWith('"')) {
    if (findQuoteEnd(s, 0, no) !== s.length - 1) throw new YamlSubsetError(`line ${no}: text after quoted string`);
    return JSON.parse(s) as string;
  }
  if (s.startsWith("'")) {
    if (findQuoteEnd(s, 0, no) !== s.length - 1) throw new YamlSubsetError(`line ${no}: text after quoted string`);
    return s.slice(1, -1).replace(/''/g, "'");
  }
  if (/^[&*!|>]/.test(s)) throw new YamlSubsetError(`line ${no}: unsupported YAML feature: ${s}`);
  if (s === '' || s === '~' || s === 'null') return null;
  if (s === 'true') return true;
  if (s === 'false') return false;
  if (/^-?(0|[1-9][0-9]*)$/.test(s)) return Number(s);
  if (/^-?(0|[1-9][0-9]*)\.[0-9]+$/.test(s)) return Number(s);
  return s;
}

function parseFlow(s: string, pos: number, no: number): [unknown, number] {
  const open = s[pos];
  const close = open === '[' ? ']' : '}';
  const out: unknown[] = [];
  const obj: Record<string, unknown> = {};
  let i = pos + 1;
  for (;;) {
    while (s[i] === ' ') i++;
    if (s[i] === close) return [open === '[' ? out : obj, i + 1];
    let item: unknown;
    if (s[i] === '[' || s[i] === '{') {
      [item, i] = parseFlow(s, i, no);
    } else if (s[i] === '"' || s[i] === "'") {
      const end = findQuoteEnd(s, i, no);
      item = parseScalar(s.slice(i, end + 1), no);
      i = end + 1;
    } else {
      let j = i;
      while (j < s.length && !',]}'.includes(s[j] as string) && !(open === '{' && s[j] === ':')) j++;
      item = parseScalar(s.slice(i, j), no);
      i = j;
    }
    while (s[i] === ' ') i++;
    if (open === '{') {
      if (s[i] !== ':') throw new YamlSubsetError(`line ${no}: expected ':' in flow mapping`);
      i++;
      while (s[i] === ' ') i++;
      let j = i;
      while (j < s.length && !',}'.includes(s[j] as string)) j++;
      obj[String(item)] = parseScalar(s.slice(i, j), no);
      i = j;
    } else {
      out.push(item);
    }
    while (s[i] === ' ') i++;
    if (s[i] === ',') i++;
    else if (s[i] !== close) throw new YamlSubsetError(`line ${no}: malformed flow collection`);
  }
}

export function parseYaml(text: string): unknown {
  const lines: Line[] = [];
  text.split('\n').forEach((rawLine, idx) => {
    if (/^\t| \t/.test(rawLine)) throw new YamlSubsetError(`line ${idx + 1}: tab indentation`);
    const stripped = stripComment(rawLine.replace(/\r$/, '')).replace(/\s+$/, '');
    if (stripped.trim() === '' || stripped.trim() === '---') return;
    const indent = stripped.length - stripped.trimStart().length;
    lines.push({ indent, text: stripped.trimStart(), no: idx + 1 });
  });
  let pos = 0;

  const isSeq = (l: Line): boolean => l.text === '-' || l.text.startsWith('- ');

  function block(indent: number): unknown {
    const first = lines[pos];
    if (first === undefined) return null;
    return isSeq(first) ? seq(first.indent) : map(first.indent, indent);
  }

  function value(rest: string, ownIndent: number, no: number): unknown {
    if (rest === '>-' || rest === '>') {
      const parts: string[] = [];
      while (pos < lines.length && (lines[pos] as Line).indent > ownIndent) parts.push((lines[pos++] as Line).text);
      return parts.join(' ') + (rest === '>' ? '\n' : '');
    }
    if (rest !== '') return parseScalar(rest, no);
    const next = lines[pos];
    if (next === undefined) return null;
    if (next.indent > ownIndent) return block(next.indent);
    if (next.indent === ownIndent && isSeq(next)) return seq(ownIndent);
    return null;
  }

  function map(indent: number, _parent: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    while (pos < lines.length) {
      const l = lines[pos] as Line;
      if (l.indent < indent) break;
      if (l.indent > indent) throw new YamlSubsetError(`line ${l.no}: unexpected indentation`);
      if (isSeq(l)) break;
      const kv = splitKey(l.text, l.no);
      if (kv === null) throw new YamlSubsetError(`line ${l.no}: expected "key: value", got ${JSON.stringify(l.text)}`);
      const [k, rest] = kv;
      if (Object.hasOwn(out, k)) throw new YamlSubsetError(`line ${l.no}: duplicate key ${k}`);
      pos++;
      out[k] = value(rest, indent, l.no);
    }
    return out;
  }

  function seq(indent: number): unknown[] {
    const out: unknown[] = [];
    while (pos < lines.length) {
      const l = lines[pos] as Line;
      if (l.indent !== indent || !isSeq(l)) {
        if (l.indent > indent) throw new YamlSubsetError(`line ${l.no}: unexpected indentation`);
        break;
      }
      const rest = l.text === '-' ? '' : l.text.slice(2).trim();
      const itemIndent = indent + (l.text.length - l.text.slice(1).trimStart().length);
      if (rest !== '' && splitKey(rest, l.no) !== null && !rest.startsWith('[') && !rest.startsWith('{')) {
        // `- key: value`: the item is a mapping whose keys line up with `key`.
        lines[pos] = { indent: itemIndent, text: rest, no: l.no };
        out.push(map(itemIndent, indent));
      } else {
        pos++;
        out.push(value(rest, indent, l.no));
      }
    }
    return out;
  }

  const result = block(0);
  if (pos < lines.length) throw new YamlSubsetError(`line ${(lines[pos] as Line).no}: unexpected content`);
  return result;
}
