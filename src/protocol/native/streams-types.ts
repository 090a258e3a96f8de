/**
 * @module protocol/native/streams-types
 * The event-stream requests of the native protocol (version 1, added alongside the topic,
 * collection and sync-group requests): append with an expected revision, append to several
 * streams at once, read a stream, read every stream (or a category, or one stream) by position
 * with an optional wait for new events, which is how the SDK's catch-up subscriptions follow
 * the store (docs/event-sourcing.md, docs/protocol.md).
 */
import type { WireJson, WireJsonObject } from './collection-types.js';

export type WireExpectedRevision = 'any' | 'no_stream' | 'exists' | number;

export interface WireEventInput {
  readonly type: string;
  readonly data: WireJson;
  readonly id?: string;
  readonly metadata?: WireJsonObject;
}

export interface WireRecordedEvent {
  readonly stream: string;
  readonly revision: number;
  readonly type: string;
  readonly data: WireJson;
  readonly id: string;
  readonly metadata: WireJsonObject;
  readonly position: number;
  readonly time: number;
}

export interface WireAppendResult {
  readonly revision: number;
  readonly position: number;
}

export interface WireStreamAppend {
  readonly stream: string;
  readonly events: readonly WireEventInput[];
  readonly expectedRevision?: WireExpectedRevision;
}

/** A metadata change: a setting replaces, null removes, absent keeps. */
export interface WireStreamMetadata {
  readonly maxAgeMs?: number | null;
  readonly maxCount?: number | null;
  readonly truncateBefore?: number | null;
}

export interface WireStreamSnapshot {
  readonly revision: number;
  readonly state: WireJson;
  readonly position: number;
  readonly time: number;
}

export type WireSubscriptionTarget =
  | { readonly stream: string }
  | { readonly category: string }
  | { readonly all: true };

/** A competing-consumer group as `streamGroupInfo` answers it. */
export interface WireGroupInfo {
  readonly name: string;
  readonly target: WireSubscriptionTarget;
  readonly retriesMax: number;
  readonly ackTimeoutMs: number;
  readonly checkpoint: number;
  readonly pending: number;
  readonly inFlight: number;
  readonly parked: number;
}

type Empty = Record<string, never>;

export interface StreamRequestMap {
  streamAppend: { params: WireStreamAppend; result: WireAppendResult };
  streamAppendMany: {
    params: { readonly appends: readonly WireStreamAppend[] };
    result: { readonly results: readonly WireAppendResult[] };
  };
  streamRead: {
    params: {
      readonly stream: string;
      readonly from?: number;
      readonly limit?: number;
      readonly direction?: 'forward' | 'backward';
    };
    result: { readonly events: readonly WireRecordedEvent[] };
  };
  streamReadAll: {
    params: {
      /** Events after this position (exclusive). Default: from the beginning. */
      readonly after?: number;
      readonly limit?: number;
      /** Only this category's events (`order` for `order-17`)… */
      readonly category?: string;
      /** …or only this stream's. */
      readonly stream?: string;
      /** With no event to answer, wait this long for one (at most 30 000 ms) before answering `[]`. */
      readonly waitMs?: number;
    };
    /** `head`: the store's last position when it answered (-1 when empty). */
    result: { readonly events: readonly WireRecordedEvent[]; readonly head: number };
  };
  streamRevision: { params: { readonly stream: string }; result: { readonly revision: number } };
  streamMetadataSet: {
    params: {
      readonly stream: string;
      readonly metadata: WireStreamMetadata;
      /** Of the metadata itself. */
      readonly expectedRevision?: WireExpectedRevision;
    };
    result: WireAppendResult;
  };
  streamMetadataGet: {
    params: { readonly stream: string };
    result: {
      readonly metadata: {
        readonly maxAgeMs?: number;
        readonly maxCount?: number;
        readonly truncateBefore?: number;
      };
      readonly deleted: boolean;
      readonly revision: number;
    };
  };
  streamDelete: {
    params: { readonly stream: string; readonly expectedRevision?: WireExpectedRevision };
    result: { readonly position: number };
  };
  streamSnapshotSave: {
    params: { readonly stream: string; readonly revision: number; readonly state: WireJson };
    result: { readonly position: number };
  };
  streamSnapshotLoad: {
    params: { readonly stream: string };
    result: { readonly snapshot: WireStreamSnapshot | null };
  };
  streamGroupCreate: {
    params: {
      readonly group: string;
      readonly target: WireSubscriptionTarget;
      readonly after?: number;
      readonly retriesMax?: number;
      readonly ackTimeoutMs?: number;
    };
    result: WireGroupInfo;
  };
  streamGroupDelete: { params: { readonly group: string }; result: Empty };
  streamGroupInfo: { params: { readonly group: string }; result: WireGroupInfo };
  streamGroupRead: {
    params: {
      readonly group: string;
      readonly member: string;
      readonly max?: number;
      readonly waitMs?: number;
    };
    result: {
      readonly deliveries: readonly { readonly event: WireRecordedEvent; readonly retries: number }[];
    };
  };
  streamGroupAck: {
    params: { readonly group: string; readonly member: string; readonly positions: readonly number[] };
    result: Empty;
  };
  streamGroupNack: {
    params: {
      readonly group: string;
      readonly member: string;
      readonly positions: readonly number[];
      readonly action: 'retry' | 'park';
      readonly reason?: string;
    };
    result: Empty;
  };
  streamGroupParked: {
    params: { readonly group: string; readonly after?: number; readonly limit?: number };
    result: {
      readonly parked: readonly {
        readonly event: WireRecordedEvent;
        readonly reason: string;
        readonly retries: number;
        readonly parkedAt: number;
      }[];
    };
  };
}
