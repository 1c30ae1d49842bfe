/**
 * True when any object in `json` names the same member twice. JSON.parse silently keeps the last occurrence,
 * which lets two parsers disagree about one document; callers refuse such documents instead.
 * `json` must already be valid JSON (run JSON.parse first): this is a scanner, not a validator.
 */
export function hasDuplicateKeys(json: string): boolean {
  // One entry per open container: the member names seen so far for objects, null for arrays.
  const stack: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i;
      let escaped = false;
      for (i++; i < json.length; i++) {
        const d = json.charCodeAt(i);
        if (d === 0x5c /* \ */) {
          escaped = true;
          i++; // the escaped character cannot end the string
        } else if (d === 0x22) {
          break;
        }
      }
      if (expectKey) {
        const raw = json.slice(start, i + 1);
        // Escapes are rare in keys; decoding them makes "\u0061lg" and "alg" the same member.
        const key = escaped ? (JSON.parse(raw) as string) : raw.slice(1, -1);
        const seen = stack[stack.length - 1];
        if (seen) {
          if (seen.has(key)) return true;
          seen.add(key);
        }
        expectKey = false;
      }
      continue;
    }
    switch (c) {
      case 0x7b /* { */:
        stack.push(new Set());
        expectKey = true;
        break;
      case 0x5b /* [ */:
        stack.push(null);
        break;
      case 0x7d /* } */:
      case 0x5d /* ] */:
        stack.pop();
        expectKey = false;
        break;
      case 0x2c /* , */:
        expectKey = stack[stack.length - 1] != null;
        break;
    }
  }
  return false;
}
