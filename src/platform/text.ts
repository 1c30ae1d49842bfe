/**
 * C0, DEL, C1 and the Unicode line/paragraph separators: anything a terminal or log viewer may treat as a line
 * break or a control sequence. Client-supplied text (paths, ids, audit details) reaches log lines and awrit's
 * output, and must not be able to start a forged line or recolour the terminal.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it escapes
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it escapes
const UNSAFE_GLOBAL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

const NAMED_ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeChar(ch: string): string {
  const named = NAMED_ESCAPES[ch];
  if (named !== undefined) return named;
  const code = ch.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** `text` with every control character escaped (`\n`, `\x1b`, `\u2028`); unchanged when it has none. */
export function escapeControlChars(text: string): string {
  return UNSAFE.test(text) ? text.replace(UNSAFE_GLOBAL, escapeChar) : text;
}
