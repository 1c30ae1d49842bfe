import { decodeBase64Std, encodeBase64 } from './base64.js';

export interface PemBlock {
  type: string;
  headers: ReadonlyMap<string, string>;
  bytes: Uint8Array;
}

const BEGIN = '-----BEGIN ';
const END = '\n-----END ';
const DASHES = '-----';

/**
 * First well-formed PEM block in `text`, following the rules of Go's encoding/pem.Decode so that any key file the
 * Go broker accepts is read identically: text around the block is ignored, and a malformed block is skipped in
 * favour of a later well-formed one.
 */
export function decodeFirstPemBlock(text: string): PemBlock | null {
  let rest = text;
  for (;;) {
    if (rest.startsWith(BEGIN)) {
      rest = rest.slice(BEGIN.length);
    } else {
      const at = rest.indexOf(`\n${BEGIN}`);
      if (at < 0) return null;
      rest = rest.slice(at + 1 + BEGIN.length);
    }

    let typeLine: string;
    [typeLine, rest] = getLine(rest);
    if (!typeLine.endsWith(DASHES)) continue;
    const type = typeLine.slice(0, -DASHES.length);

    const headers = new Map<string, string>();
    let exhausted = false;
    for (;;) {
      if (rest.length === 0) {
        exhausted = true;
        break;
      }
      const [line, next] = getLine(rest);
      const colon = line.indexOf(':');
      if (colon < 0) break;
      headers.set(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
      rest = next;
    }
    if (exhausted) return null;

    let endIndex: number;
    let trailerIndex: number;
    // With no headers the END line may follow the BEGIN line directly (an empty body).
    if (headers.size === 0 && rest.startsWith(END.slice(1))) {
      endIndex = 0;
      trailerIndex = END.length - 1;
    } else {
      endIndex = rest.indexOf(END);
      trailerIndex = endIndex + END.length;
    }
    if (endIndex < 0) continue;

    const trailer = rest.slice(trailerIndex, trailerIndex + type.length + DASHES.length);
    if (trailer !== type + DASHES) continue;
    const [afterEnd] = getLine(rest.slice(trailerIndex + trailer.length));
    if (afterEnd.length !== 0) continue;

    const bytes = decodeBase64Std(rest.slice(0, endIndex).replace(/[ \t]/g, ''));
    if (bytes === null) continue;
    return { type, headers, bytes };
  }
}

export function encodePemBlock(type: string, bytes: Uint8Array): string {
  const b64 = encodeBase64(bytes);
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${type}-----\n${lines.join('\n')}${lines.length > 0 ? '\n' : ''}-----END ${type}-----\n`;
}

/** Line up to '\n' with trailing spaces, tabs and CRs removed, plus everything after the '\n'. */
function getLine(text: string): [string, string] {
  const nl = text.indexOf('\n');
  const line = nl < 0 ? text : text.slice(0, nl);
  const rest = nl < 0 ? '' : text.slice(nl + 1);
  return [line.replace(/[ \t\r]+$/, ''), rest];
}
