/**
 * The SDK's optimistic result of a strong write (`applyWriteOp` in
 * `src/client/collections/writes.ts`, the overlay a pending write shows) must be what the server
 * answers for the same write (`src/sync`, a real collection on the memory log): both apply the
 * one rule of `src/model/strong-writes.ts`. Random documents and sequences of writes, validated
 * on each side as its front door does; where the server refuses, the document must stay as the
 * client predicted it would.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBroker } from '../src/broker/broker.js';
import type { JsonObject, WriteOp } from '../src/client/collections/types.js';
import { applyWriteOp, checkWriteOp as checkClientWriteOp } from '../src/client/collections/writes.js';
import { isTributaryError } from '../src/errors.js';
import { createMemoryLog } from '../src/log/memory/memory-log.js';
import type { Collection } from '../src/sync/collection.js';
import { CollectionService } from '../src/sync/service.js';
import { checkWriteOp as checkServerWriteOp } from '../src/sync/write-ops.js';

// Numbers near the largest double make increments overflow; strings make them refused; -0 is
// stored as 0.
const number = fc.oneof(
  fc.integer({ min: -5, max: 5 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(Number.MAX_VALUE, -Number.MAX_VALUE, 1e308, 0.1, -0),
);
const scalar = fc.oneof(number, fc.constantFrom('a', ''), fc.boolean(), fc.constant(null));
const fields = fc.record({ n: scalar, m: scalar }, { requiredKeys: [] });
/** A write op without its key (each property run writes its own key). */
type KeylessOp = { [K in WriteOp['op']]: Omit<Extract<WriteOp, { op: K }>, 'key'> }[WriteOp['op']];
const op: fc.Arbitrary<KeylessOp> = fc.oneof(
  fc.record({ op: fc.constant('put' as const), value: fields }),
  fc.record({ op: fc.constant('patch' as const), fields }),
  fc.record({ op: fc.constant('delete' as const) }),
  fc.record({ op: fc.constant('increment' as const), field: fc.constantFrom('n', 'm', 'o'), by: number }),
);

let service: CollectionService;
let collection: Collection;
let close: () => Promise<void>;

beforeAll(async () => {
  const log = createMemoryLog();
  const broker = (await createBroker(log)).forSystem();
  service = await CollectionService.open(broker);
  await service.create('agreement', { mode: 'strong' });
  collection = service.collection('agreement');
  close = async () => {
    await service.close();
    await broker.close();
    await log.close();
  };
});
afterAll(() => close());

describe('strong writes: the client predicts what the server answers', () => {
  it('for random documents and sequences of writes, refusals included', async () => {
    let run = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.option(fields, { nil: undefined }),
        fc.array(op, { minLength: 1, maxLength: 8 }),
        async (initial, ops) => {
          const key = `k${run++}`;
          let predicted: JsonObject | undefined;
          const all: KeylessOp[] = initial === undefined ? ops : [{ op: 'put', value: initial }, ...ops];
          for (const raw of all) {
            predicted = applyWriteOp(predicted, checkClientWriteOp({ ...raw, key }, 'op'));
            let answered: JsonObject | undefined;
            try {
              answered =
                (await collection.write(checkServerWriteOp({ ...raw, key }, 'op'))).value ?? undefined;
            } catch (error) {
              if (
                !isTributaryError(error, 'PRECONDITION_FAILED') &&
                !isTributaryError(error, 'INVALID_ARGUMENT')
              )
                throw error;
              refused++;
              const item = await collection.get(key);
              answered = item.value ?? undefined;
            }
            expect(predicted).toEqual(answered);
          }
        },
      ),
      { numRuns: 300 },
    );
    expect(refused).toBeGreaterThan(0);
  });
});
