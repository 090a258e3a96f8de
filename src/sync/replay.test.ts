/**
 * Property: whatever the writes, a server that rebuilds a collection from its (compacted) log
 * holds exactly the state of the server that wrote it: same documents, same versions.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createBroker } from '../broker/broker.js';
import { createMemoryLog } from '../log/memory/memory-log.js';
import type { Collection } from './collection.js';
import { CollectionService } from './service.js';
import type { ConsistencyMode, WriteOp } from './types.js';

const key = fc.constantFrom('a', 'b', 'c', 'd');
const writeOp: fc.Arbitrary<WriteOp> = fc.oneof(
  fc.record({
    op: fc.constant('put' as const),
    key,
    value: fc.record({ n: fc.integer({ min: -5, max: 5 }) }),
  }),
  fc.record({
    op: fc.constant('patch' as const),
    key,
    fields: fc.record({ m: fc.string({ maxLength: 3 }) }),
  }),
  fc.record({ op: fc.constant('delete' as const), key }),
  fc.record({
    op: fc.constant('increment' as const),
    key,
    field: fc.constant('n'),
    by: fc.integer({ min: -3, max: 3 }),
  }),
);
const command = fc.oneof(
  { weight: 4, arbitrary: writeOp.map((op) => ({ single: op })) },
  { weight: 1, arbitrary: fc.array(writeOp, { minLength: 2, maxLength: 4 }).map((ops) => ({ tx: ops })) },
);

function snapshot(collection: Collection): unknown {
  return collection.states.map((state) =>
    [...state.entries()]
      .map((e) => ({ key: e.key, version: e.version, value: e.value ?? null, state: e.state ?? null }))
      .sort((x, y) => (x.key < y.key ? -1 : 1)),
  );
}

describe('collections: replay equivalence', () => {
  for (const mode of ['strong', 'eventual'] as ConsistencyMode[]) {
    it(`rebuilding a ${mode} collection from its compacted log gives the same state`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(command, { minLength: 1, maxLength: 30 }),
          fc.boolean(),
          async (commands, concurrent) => {
            const log = createMemoryLog();
            const broker = (await createBroker(log)).forSystem();
            const writer = await CollectionService.open(broker);
            await writer.create('p', { mode, partitions: 2 });
            const collection = writer.collection('p');
            const run = async (c: (typeof commands)[number]): Promise<void> => {
              try {
                if ('single' in c) await collection.write(c.single);
                else if (mode === 'strong') {
                  const partition = collection.partitionOf(c.tx[0]!.key);
                  await collection.transact({
                    ops: c.tx.filter((op) => collection.partitionOf(op.key) === partition),
                  });
                } else for (const op of c.tx) await collection.write(op);
              } catch {
                // Refused writes (e.g. incrementing a non-number) change nothing.
              }
            };
            if (concurrent) await Promise.all(commands.map(run));
            else for (const c of commands) await run(c);
            await log.compact('__collection.p');
            const reader = await CollectionService.open(broker);
            expect(snapshot(reader.collection('p'))).toEqual(snapshot(collection));
            await reader.close();
            await writer.close();
            await broker.close();
            await log.close();
          },
        ),
        { numRuns: 40 },
      );
    });
  }
});
