/**
 * A preload for Tributary's server in `bench/fanout-probe.ts --trace` (`node --import` this file):
 * it notes, for every benchmark message the server writes to a socket, when its first and its
 * last copy left the process, on the machine-wide monotonic clock the payload's `sentNs` uses.
 * That splits publish → delivery into publish → first socket write (transport, append, wake-up)
 * and first → last socket write (writing one message to every subscriber's socket).
 *
 * It wraps `net.Socket.prototype.write` and looks for a payload (`<run>:<seq>:<sentNs>:xxx…`,
 * `bench/lib/payload.ts`) in each buffer written: a few hundred nanoseconds per write, so the
 * probe's CPU figures are taken without it. On SIGUSR2 it writes what it saw as JSON to the file
 * named by `TRIBUTARY_FANOUT_TRACE`: `{ "<run>:<seq>": [sentNs, firstWriteNs, lastWriteNs, writes] }`.
 * Plain JavaScript, so the built server loads it without a TypeScript loader.
 */
import { writeFileSync } from 'node:fs';
import { Socket } from 'node:net';

const out = process.env.TRIBUTARY_FANOUT_TRACE;
const FILL = Buffer.from('xxxxxxxx');
const COLON = 0x3a;
/** `<run>:<seq>` → [sentNs, firstNs, lastNs, writes] */
const seen = new Map();

/** The payload header ending just before `end` (the first fill byte), or undefined. */
function headerBefore(bytes, end) {
  let start = end;
  while (start > 0 && end - start < 64) {
    const code = bytes[start - 1];
    if (code !== COLON && (code < 0x30 || code > 0x39)) break;
    start--;
  }
  const fields = bytes.toString('latin1', start, end).split(':');
  if (fields.length !== 4 || fields[3] !== '') return undefined;
  return { key: `${fields[0]}:${fields[1]}`, sentNs: Number(fields[2]) };
}

function note(chunk) {
  if (!(chunk instanceof Uint8Array) || chunk.byteLength < 40) return;
  const bytes = Buffer.isBuffer(chunk)
    ? chunk
    : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  let from = 0;
  for (;;) {
    const at = bytes.indexOf(FILL, from);
    if (at === -1) return;
    const header = headerBefore(bytes, at);
    from = at + FILL.length;
    while (from < bytes.length && bytes[from] === 0x78) from++;
    if (header === undefined) continue;
    const now = Number(process.hrtime.bigint());
    const entry = seen.get(header.key);
    if (entry === undefined) seen.set(header.key, [header.sentNs, now, now, 1]);
    else {
      entry[2] = now;
      entry[3]++;
    }
  }
}

if (out !== undefined) {
  const write = Socket.prototype.write;
  Socket.prototype.write = function tracedWrite(chunk, ...rest) {
    note(chunk);
    return write.call(this, chunk, ...rest);
  };
  process.on('SIGUSR2', () => {
    writeFileSync(out, JSON.stringify(Object.fromEntries(seen)));
    seen.clear();
  });
}
