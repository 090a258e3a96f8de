/**
 * @module client/sync-groups/step-reader
 * Turns the records of a sync group's topic, in offset order, into what they mean: a step's
 * result once its last chunk is in, a checkpoint once complete, a change of generation. Chunks
 * of an attempt that never ended (aborted, or cut by a server restart) are dropped when the
 * next attempt or step begins. Each assembled payload is a fresh, 8-aligned buffer, so the
 * tensors handed out are views of it, not copies.
 */
import {
  decodeSyncRecord,
  SYNC_GROUP_CHUNK_BYTES,
  type SyncStepEnd,
  specBytes,
} from '../../protocol/native/sync-group-records.js';
import type { WireSyncOp, WireSyncSpec } from '../../protocol/native/types.js';

export type Tensor = Float32Array | Float64Array;

/** A completed step as every member (and every replay) sees it. */
export interface SyncStepResult {
  readonly step: number;
  readonly attempt: number;
  readonly op: WireSyncOp;
  /** The generation the step ran in. */
  readonly generation: number;
  readonly end: SyncStepEnd;
  readonly tensors: Tensor[];
}

export interface SyncCheckpoint {
  /** The state before this step. */
  readonly step: number;
  readonly tensors: Tensor[];
}

export interface SyncGenerationChange {
  readonly generation: number;
  readonly members: readonly string[];
  readonly step: number;
  readonly attempt: number;
  readonly reason: string;
}

export type SyncEvent =
  | { readonly kind: 'step'; readonly offset: number; readonly result: SyncStepResult }
  | { readonly kind: 'checkpoint'; readonly offset: number; readonly checkpoint: SyncCheckpoint }
  | { readonly kind: 'generation'; readonly offset: number; readonly change: SyncGenerationChange };

interface Assembly {
  readonly key: string;
  readonly spec: WireSyncSpec;
  readonly bytes: Uint8Array;
  received: number;
}

/** Splits a payload into one typed-array view per tensor. */
export function tensorsOf(spec: WireSyncSpec, bytes: Uint8Array): Tensor[] {
  const out: Tensor[] = [];
  let offset = bytes.byteOffset;
  for (const length of spec.lengths) {
    if (spec.dtype === 'float32') {
      out.push(new Float32Array(bytes.buffer, offset, length));
      offset += length * 4;
    } else {
      out.push(new Float64Array(bytes.buffer, offset, length));
      offset += length * 8;
    }
  }
  return out;
}

export class StepReader {
  #step: Assembly | null = null;
  #checkpoint: Assembly | null = null;

  /** Reads one record; returns what it completed, if anything. Throws `MALFORMED_DATA`. */
  read(offset: number, value: Uint8Array | null): SyncEvent | undefined {
    const { header, data } = decodeSyncRecord(value);
    switch (header.kind) {
      case 'generation':
        this.#step = null;
        return { kind: 'generation', offset, change: header };
      case 'checkpoint': {
        const assembly = this.#assemble('checkpoint', `${header.step}`, header, data, header.byteOffset);
        if (!header.end) return undefined;
        this.#checkpoint = null;
        if (!complete(assembly)) return undefined;
        return {
          kind: 'checkpoint',
          offset,
          checkpoint: { step: header.step, tensors: tensorsOf(assembly.spec, assembly.bytes) },
        };
      }
      case 'step': {
        const assembly = this.#assemble(
          'step',
          `${header.step}/${header.attempt}`,
          header,
          data,
          header.byteOffset,
        );
        if (header.end === undefined) return undefined;
        this.#step = null;
        if (!complete(assembly)) return undefined;
        return {
          kind: 'step',
          offset,
          result: {
            step: header.step,
            attempt: header.attempt,
            op: header.op,
            generation: header.generation,
            end: header.end,
            tensors: tensorsOf(assembly.spec, assembly.bytes),
          },
        };
      }
    }
  }

  #assemble(
    kind: 'step' | 'checkpoint',
    key: string,
    spec: WireSyncSpec,
    data: Uint8Array,
    byteOffset: number,
  ): Assembly {
    let assembly = kind === 'step' ? this.#step : this.#checkpoint;
    if (assembly === null || assembly.key !== key || !sameSpec(assembly.spec, spec)) {
      assembly = {
        key,
        spec: { dtype: spec.dtype, lengths: spec.lengths },
        bytes: new Uint8Array(specBytes(spec)),
        received: 0,
      };
      if (kind === 'step') this.#step = assembly;
      else this.#checkpoint = assembly;
    }
    assembly.bytes.set(data, byteOffset);
    assembly.received++;
    return assembly;
  }
}

function complete(assembly: Assembly): boolean {
  return assembly.received === Math.max(1, Math.ceil(assembly.bytes.byteLength / SYNC_GROUP_CHUNK_BYTES));
}

function sameSpec(a: WireSyncSpec, b: WireSyncSpec): boolean {
  return (
    a.dtype === b.dtype &&
    a.lengths.length === b.lengths.length &&
    a.lengths.every((n, i) => n === b.lengths[i])
  );
}
