/**
 * @module protocol/json-depth
 * How deep arrays and objects nest in a JSON text, found by one linear scan before the text is
 * parsed. `JSON.parse` copes with any depth, but whatever walks the value afterwards recursively
 * (`JSON.stringify` of an answer, a validator) overflows the stack a few thousand levels down;
 * a text refused here never gets that far. The scan skips string contents (with their escapes),
 * so brackets inside strings do not count. It does not check that the text is valid JSON: the
 * parser still does that.
 *
 * @example
 * jsonDepthExceeds('{"a":[1,[2]]}', 3); // false: depth 3
 * jsonDepthExceeds('[[[[]]]]', 3); // true: depth 4
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/**
 * Whether arrays and objects in `text` nest deeper than `depthMax` levels (`1`, `"a"` have depth
 * 0, `[]` and `{}` depth 1, `{"a":[1]}` depth 2). Stops at the first level past the limit.
 */
export function jsonDepthExceeds(text: string, depthMax: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (inString) {
      if (code === BACKSLASH) i++;
      else if (code === QUOTE) inString = false;
    } else if (code === QUOTE) {
      inString = true;
    } else if (code === OPEN_BRACKET || code === OPEN_BRACE) {
      if (++depth > depthMax) return true;
    } else if (code === CLOSE_BRACKET || code === CLOSE_BRACE) {
      depth--;
    }
  }
  return false;
}
