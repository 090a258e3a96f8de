/**
 * @module server/front/ws/collection-bridge
 * One collection subscription of a WebSocket connection: turns the sync layer's snapshots and
 * changes into `collectionSnapshot` / `collectionChanges` frames.
 *
 * - Snapshots are split into frames under `wsFrameBytesMax`; the last part has `done: true`.
 * - Frames produced before the `collectionSubscribe` response went out are held and sent right
 *   after it, so the client knows the `sub` id first.
 * - Memory stays bounded for a slow reader: while the socket's send buffer is above
 *   `wsSubscriberBufferedBytesMax`, changes queue; past `subscriberQueueMax` queued changes they are
 *   dropped and, once the socket drains, a fresh snapshot (`reset: true`) replaces them.
 */
import { toWireError } from '../../../protocol/native/frames.js';
import type {
  CollectionChangesFrame,
  CollectionSnapshotFrame,
  ServerFrame,
  WireError,
} from '../../../protocol/native/types.js';
import type { ChangesFrame, SnapshotFrame, SubscriptionSink } from '../../../sync/index.js';
import { SYNC_LIMITS } from '../../../sync/index.js';
import type { LiveQuery } from '../../auth/guard.js';
import type { WsFrontEndLimits } from './limits.js';

/** What a collection bridge needs from its connection. */
export interface CollectionPort {
  readonly limits: WsFrontEndLimits;
  send(frame: ServerFrame): void;
  sendSubscriptionClosed(sub: number, error: WireError): void;
  congested(): boolean;
  /** Calls `bridge.pump()` once the socket has drained. */
  pumpAfterDrain(bridge: { pump(): void }): void;
  /** The subscription ended by itself; forget it. */
  ended(sub: number): void;
}

const FRAME_OVERHEAD_BYTES = 256;

export class CollectionBridge implements SubscriptionSink {
  readonly sub: number;
  readonly #port: CollectionPort;
  subscription: LiveQuery | undefined;
  #ready = false;
  #closed = false;
  #queued: ServerFrame[] = [];
  #queuedChanges = 0;
  #resyncPending = false;

  constructor(sub: number, port: CollectionPort) {
    this.sub = sub;
    this.#port = port;
  }

  /** Called once the subscribe response was sent. */
  markReady(): void {
    this.#ready = true;
    this.pump();
  }

  snapshot(frame: SnapshotFrame): void {
    if (this.#closed) return;
    // A snapshot supersedes everything queued before it.
    this.#queued = [];
    this.#queuedChanges = 0;
    this.#resyncPending = false;
    const budget = this.#port.limits.wsFrameBytesMax - FRAME_OVERHEAD_BYTES;
    let items: CollectionSnapshotFrame['items'][number][] = [];
    let bytes = 0;
    const emit = (done: boolean): void => {
      this.#queued.push({
        type: 'collectionSnapshot',
        sub: this.sub,
        items,
        offsets: frame.offsets,
        reset: frame.reset,
        done,
      });
      items = [];
      bytes = 0;
    };
    for (const item of frame.items) {
      const size = JSON.stringify(item).length + 16;
      if (items.length > 0 && bytes + size > budget) emit(false);
      items.push(item as unknown as CollectionSnapshotFrame['items'][number]);
      bytes += size;
    }
    emit(true);
    this.pump();
  }

  changes(frame: ChangesFrame): void {
    if (this.#closed || this.#resyncPending) return;
    const out: CollectionChangesFrame = {
      type: 'collectionChanges',
      sub: this.sub,
      // Sync-layer shapes are the wire shapes (DocState is plain JSON).
      changes: frame.changes as unknown as CollectionChangesFrame['changes'],
      offsets: frame.offsets,
    };
    this.#queued.push(out);
    this.#queuedChanges += frame.changes.length;
    if (this.#queuedChanges > SYNC_LIMITS.subscriberQueueMax) {
      this.#queued = [];
      this.#queuedChanges = 0;
      this.#resyncPending = true;
    }
    this.pump();
  }

  closed(error: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#port.sendSubscriptionClosed(this.sub, toWireError(error));
    this.#port.ended(this.sub);
  }

  /** Sends what is queued while the socket has room. */
  pump(): void {
    if (this.#closed || !this.#ready) return;
    while (this.#queued.length > 0 || this.#resyncPending) {
      if (this.#port.congested()) {
        this.#port.pumpAfterDrain(this);
        return;
      }
      if (this.#resyncPending) {
        this.subscription?.resync(); // queues a fresh snapshot and clears the flag
        if (this.#resyncPending) return;
        continue;
      }
      const frame = this.#queued.shift()!;
      if (frame.type === 'collectionChanges') this.#queuedChanges -= frame.changes.length;
      this.#port.send(frame);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queued = [];
    this.subscription?.close();
  }
}
