/**
 * @module server/front/socketio/positions
 * The offset a Socket.IO client keeps for connection state recovery: the next offset of each
 * partition of its namespace's topic, comma-separated (`"42"` for the one partition of a topic
 * the endpoint created, `"42,7,19"` for a topic of three). The endpoint sends it as the last
 * argument of every event (as Socket.IO's own recovery does) and in `tributary:offset` at
 * connect; the client hands the last one back when it reconnects.
 *
 * @example
 * formatPositions([42, 7]);    // '42,7'
 * parsePositions('42,7', 2);   // [42, 7]
 * parsePositions('42', 2);     // undefined (not this topic's shape)
 */

const POSITION = /^(0|[1-9][0-9]{0,15})$/;

export function formatPositions(positions: readonly number[]): string {
  return positions.join(',');
}

/** The positions of `text` for a topic of `partitions` partitions; undefined when it is not one. */
export function parsePositions(text: string, partitions: number): number[] | undefined {
  if (text.length > partitions * 17) return undefined;
  const parts = text.split(',');
  if (parts.length !== partitions) return undefined;
  const positions: number[] = [];
  for (const part of parts) {
    if (!POSITION.test(part)) return undefined;
    const value = Number(part);
    if (!Number.isSafeInteger(value)) return undefined;
    positions.push(value);
  }
  return positions;
}
