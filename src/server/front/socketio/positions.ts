/**
 * @module server/front/socketio/positions
 * The offset a Socket.IO client keeps for connection state recovery, in the adapter's form
 * (`socketio/packet-record.ts`, `offsetId`): `<partition>-<offset>` of the last record it was
 * delivered, sent as the last argument of every event (as Socket.IO's own recovery does). At
 * connect the endpoint also sends `tributary:offset` with the offset of the partition's last
 * record, or `<partition>-start` when it has none, so a client can recover before its first event.
 *
 * @example
 * resumeOffset('0-41');    // { partition: 0, next: 42 }
 * resumeOffset('0-start'); // { partition: 0, next: 0 }
 */
import { offsetId, parseOffsetId } from '../../../socketio/packet-record.js';

/** The client's offset when it has seen the records before `next` of `partition`. */
export function offsetText(partition: number, next: number): string {
  return next === 0 ? `${partition}-start` : offsetId(partition, next - 1);
}

/** Where a client that holds `text` resumes; undefined when it is not an offset of the endpoint's. */
export function resumeOffset(text: string): { partition: number; next: number } | undefined {
  const start = /^(\d{1,6})-start$/.exec(text);
  if (start !== null) return { partition: Number(start[1]), next: 0 };
  const parsed = parseOffsetId(text);
  return parsed === null ? undefined : { partition: parsed.partition, next: parsed.offset + 1 };
}
