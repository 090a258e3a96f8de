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
 *
 * Cost: this runs on every JSON value the HTTP API reads or serves, so it leans on native
 * `indexOf`: a text with at most `depthMax` opening brackets cannot be too deep (one search per
 * bracket, no scan), and the scan jumps over string contents instead of stepping through them.
 */
export function jsonDepthExceeds(text: string, depthMax: number): boolean {
  if (!openingsExceed(text, depthMax)) return false;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === QUOTE) {
      i = closingQuote(text, i);
      if (i < 0) return false; // an unterminated string: not JSON, the parser says so
    } else if (code === OPEN_BRACKET || code === OPEN_BRACE) {
      if (++depth > depthMax) return true;
    } else if (code === CLOSE_BRACKET || code === CLOSE_BRACE) {
      depth--;
    }
  }
  return false;
}

/** Whether `text` holds more than `max` of `[` and `{` together (strings included). */
function openingsExceed(text: string, max: number): boolean {
  let count = 0;
  for (let i = text.indexOf('['); i !== -1; i = text.indexOf('[', i + 1)) if (++count > max) return true;
  for (let i = text.indexOf('{'); i !== -1; i = text.indexOf('{', i + 1)) if (++count > max) return true;
  return false;
}

/** Index of the quote that closes the string opened at `open` (escapes skipped), or -1. */
function closingQuote(text: string, open: number): number {
  let close = text.indexOf('"', open + 1);
  while (close !== -1) {
    let backslashes = 0;
    while (text.charCodeAt(close - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return close;
    close = text.indexOf('"', close + 1);
  }
  return -1;
}
