/**
 * @module es/sync-groups/reduce
 * The reduction of one chunk of a step: the members' chunks, in rank order, folded into the
 * data of the record that will hold the result. Folding in a fixed order is what makes a
 * float sum reproducible (float addition is not associative): the same inputs always give the
 * same bits, and a replay or a single process adding the same values in rank order agrees.
 *
 * Element arithmetic: JavaScript computes `a + b` in float64 and the store into a
 * `Float32Array` rounds it; float64 has more than twice float32's precision, so that is exactly
 * IEEE float32 addition (and division for `mean`), as a float32 machine would do it.
 *
 * Copies: a member's chunk is read in place when it is aligned for its element type; otherwise
 * it is copied once into a scratch buffer (counted in `copiedBytes`). Rank 0's chunk (or the
 * broadcast source) is copied once into the result.
 */
import { assert } from '../../assert.js';
import type { WireSyncDtype, WireSyncOp } from '../../protocol/native/types.js';

type Floats = Float32Array | Float64Array;

/** Reusable scratch for unaligned chunks, one per dtype (grown on demand, kept per reducer). */
export class ChunkReducer {
  #scratch32 = new Float32Array(0);
  #scratch64 = new Float64Array(0);
  /** Bytes copied out of members' chunks so far (result writes included). */
  copiedBytes = 0;

  /**
   * Folds `chunks` (rank order, each `out.byteLength` long) into `out` with `op`; `out` must be
   * 8-aligned (a record's data from `allocateSyncRecord`).
   */
  reduce(op: WireSyncOp, dtype: WireSyncDtype, chunks: readonly Uint8Array[], out: Uint8Array): void {
    assert(chunks.length > 0, 'a reduction has at least one contribution');
    const acc = view(dtype, out);
    const first = chunks[0] as Uint8Array;
    out.set(first);
    this.copiedBytes += first.byteLength;
    if (op === 'broadcast') return;
    for (let r = 1; r < chunks.length; r++) {
      const values = this.#read(dtype, chunks[r] as Uint8Array);
      fold(op, acc, values);
    }
    if (op === 'mean') {
      const n = chunks.length;
      for (let i = 0; i < acc.length; i++) acc[i] = (acc[i] as number) / n;
    }
  }

  #read(dtype: WireSyncDtype, chunk: Uint8Array): Floats {
    const size = dtype === 'float32' ? 4 : 8;
    if (chunk.byteOffset % size === 0) return view(dtype, chunk);
    const length = chunk.byteLength / size;
    this.copiedBytes += chunk.byteLength;
    if (dtype === 'float32') {
      if (this.#scratch32.length < length) this.#scratch32 = new Float32Array(length);
      const scratch = this.#scratch32.subarray(0, length);
      new Uint8Array(scratch.buffer, 0, chunk.byteLength).set(chunk);
      return scratch;
    }
    if (this.#scratch64.length < length) this.#scratch64 = new Float64Array(length);
    const scratch = this.#scratch64.subarray(0, length);
    new Uint8Array(scratch.buffer, 0, chunk.byteLength).set(chunk);
    return scratch;
  }
}

function view(dtype: WireSyncDtype, bytes: Uint8Array): Floats {
  return dtype === 'float32'
    ? new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4)
    : new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
}

function fold(op: WireSyncOp, acc: Floats, values: Floats): void {
  const n = acc.length;
  switch (op) {
    case 'sum':
    case 'mean':
      for (let i = 0; i < n; i++) acc[i] = (acc[i] as number) + (values[i] as number);
      return;
    case 'min':
      for (let i = 0; i < n; i++) acc[i] = Math.min(acc[i] as number, values[i] as number);
      return;
    case 'max':
      for (let i = 0; i < n; i++) acc[i] = Math.max(acc[i] as number, values[i] as number);
      return;
    case 'broadcast':
      return;
  }
}
