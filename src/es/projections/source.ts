/**
 * @module es/projections/source
 * Questions about a projection's source (all streams, a category or one stream) that the
 * runner's read-your-writes wait asks of the event store.
 */
import type { SubscriptionTarget } from '../streams/types.js';
import type { ProjectionEvents } from './types.js';

/** How far back one stream is read (backwards) to look for an event in a range. */
const STREAM_PAGE = 100;

/**
 * Whether the source holds an event with `after < position <= upTo`. Positions grow in commit
 * order, so an event the store commits later than this check cannot land in the range when
 * `upTo` is the position of an append already answered.
 */
export async function sourceHasEventsBetween(
  events: ProjectionEvents,
  source: SubscriptionTarget | undefined,
  after: number,
  upTo: number,
): Promise<boolean> {
  if (upTo <= after) return false;
  if (source === undefined || 'all' in source) {
    const [next] = await events.readAll(after >= 0 ? { after, limit: 1 } : { limit: 1 });
    return next !== undefined && next.position <= upTo;
  }
  if ('category' in source) {
    const [next] = await events.readAll({
      ...(after >= 0 ? { after } : {}),
      limit: 1,
      category: source.category,
    });
    return next !== undefined && next.position <= upTo;
  }
  const page = await events.readStream(source.stream, { direction: 'backward', limit: STREAM_PAGE });
  if (page.some((event) => event.position > after && event.position <= upTo)) return true;
  // A full page all above `upTo` may hide older events in the range: say yes, the next commit asks again.
  const oldest = page.at(-1);
  return page.length === STREAM_PAGE && oldest !== undefined && oldest.position > upTo;
}
