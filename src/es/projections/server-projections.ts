/**
 * @module es/projections/server-projections
 * The projections a server runs in its own process (`RunningServer.startProjection`): started on
 * the server's event store and collections, stopped when the server closes, before the store
 * and the collections are.
 */
import type { JsonObject } from '../../crdt/index.js';
import { TributaryError } from '../../errors.js';
import type { CollectionService } from '../../sync/index.js';
import type { Projection, StartProjectionOptions } from './projection.js';
import type { ProjectionDefinition, ProjectionEvents } from './types.js';

export class ServerProjections {
  readonly #events: ProjectionEvents;
  readonly #collections: CollectionService;
  readonly #running = new Set<Projection<JsonObject>>();
  #closed = false;

  constructor(events: ProjectionEvents, collections: CollectionService) {
    this.#events = events;
    this.#collections = collections;
  }

  async start<Doc extends JsonObject>(
    definition: ProjectionDefinition<Doc>,
    options: StartProjectionOptions = {},
  ): Promise<Projection<Doc>> {
    if (this.#closed) throw new TributaryError('SHUTTING_DOWN');
    // The projection runtime loads with the first projection: most servers run none.
    const [{ startProjection }, { serverProjectionContext }] = await Promise.all([
      import('./projection.js'),
      import('./server-context.js'),
    ]);
    if (this.#closed) throw new TributaryError('SHUTTING_DOWN');
    const projection = await startProjection(
      definition,
      serverProjectionContext(this.#events, this.#collections),
      options,
    );
    this.#running.add(projection as unknown as Projection<JsonObject>);
    return projection;
  }

  /** Stops every projection started here (their read models stay). */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#running].map((projection) => projection.stop()));
    this.#running.clear();
  }
}
