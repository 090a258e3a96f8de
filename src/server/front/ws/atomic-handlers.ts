/**
 * @module server/front/ws/atomic-handlers
 * The handler of `commitAtomically` (docs/protocol.md, "Atomic commits"): appends to several
 * topics and partitions plus offset commits through `Broker.commitAtomically`, answered once the
 * commit is decided durably. Records count against the produce quota as a `produce` would.
 */
import type { Broker } from '../../../broker/types.js';
import type {
  AtomicRequestMap,
  RequestFrame,
  RequestResult,
  WireProduceRecord,
} from '../../../protocol/native/types.js';
import type { QuotaAccount } from '../../auth/quotas.js';
import type { ServerMetrics } from '../../metrics.js';
import { recordBytes, toProduceRecord } from './convert.js';

/** What the atomic-commit handler needs from the connection. */
export interface AtomicContext {
  readonly broker: Broker;
  readonly metrics: ServerMetrics;
  readonly quota: QuotaAccount | undefined;
  throttle(ms: number): Promise<void>;
}

type AtomicType = keyof AtomicRequestMap;
type Handler<T extends AtomicType> = (
  ctx: AtomicContext,
  request: RequestFrame<T>,
) => Promise<RequestResult<T>>;

export const ATOMIC_HANDLERS: { readonly [T in AtomicType]: Handler<T> } = {
  commitAtomically: async (ctx, r) => {
    const started = performance.now();
    const all: WireProduceRecord[] = r.appends.flatMap((a) => a.records);
    let throttled: Promise<void> | undefined;
    if (ctx.quota !== undefined) {
      let bytes = 0;
      for (const record of all) bytes += recordBytes(record);
      throttled = ctx.throttle(ctx.quota.recordProduce(bytes));
    }
    const result = await ctx.broker.commitAtomically({
      appends: r.appends.map((a) => ({
        topic: a.topic,
        ...(a.partition === undefined ? {} : { partition: a.partition }),
        records: a.records.map(toProduceRecord),
        ...(a.expectedLastOffset === undefined ? {} : { expectedLastOffset: a.expectedLastOffset }),
      })),
      ...(r.offsets === undefined
        ? {}
        : {
            offsets: {
              groupId: r.offsets.groupId,
              offsets: r.offsets.offsets.map((o) => ({
                topic: o.topic,
                partition: o.partition,
                offset: o.offset,
              })),
            },
          }),
    });
    const tally = ctx.metrics.appendTally('ws');
    tally.records.inc(all.length);
    tally.latency.observe((performance.now() - started) / 1000);
    if (throttled !== undefined) await throttled;
    return {
      appends: result.appends.map((a) => ({
        topic: a.topic,
        offsets: a.offsets.map((o) => ({ partition: o.partition, offset: o.offset })),
      })),
    };
  },
};
