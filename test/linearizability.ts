/**
 * A linearizability checker for a register with compare-and-set, after Wing & Gong's search with
 * Lowe's memoization ("Testing for linearizability", 2017): find an order of the operations that
 * (1) respects real time (an operation that returned before another was called comes first) and
 * (2) is a legal sequential history of the register. Operations whose outcome is unknown (the
 * connection dropped) may take effect at any point after their call, or never.
 *
 * Values written are unique, so a version (offset) and the value written at it identify each
 * other; CAS is expressed on values.
 */

export type RegisterOp =
  | { readonly kind: 'read'; readonly value: string }
  | { readonly kind: 'write'; readonly value: string }
  | {
      readonly kind: 'cas';
      readonly expected: string;
      readonly value: string;
      readonly ok: boolean | undefined;
    };

export interface HistoryEntry {
  readonly op: RegisterOp;
  readonly call: number;
  /** `Infinity`: the outcome is unknown (no response). */
  readonly ret: number;
}

/** Next states of `state` after `entry` (empty: not legal here). */
function step(state: string, entry: HistoryEntry): string[] {
  const op = entry.op;
  const known = entry.ret !== Number.POSITIVE_INFINITY;
  switch (op.kind) {
    case 'read':
      return op.value === state ? [state] : [];
    case 'write':
      return [op.value];
    case 'cas':
      if (!known) return state === op.expected ? [op.value, state] : [state];
      if (op.ok) return state === op.expected ? [op.value] : [];
      return state !== op.expected ? [state] : [];
  }
}

/** True when `history` is linearizable from `initial`. Throws if the search exceeds `maxSteps`. */
export function isLinearizable(
  history: readonly HistoryEntry[],
  initial: string,
  maxSteps = 5_000_000,
): boolean {
  const entries = [...history].sort((a, b) => a.call - b.call);
  const n = entries.length;
  const done = new Uint8Array(n);
  const mustFinish = entries.filter((e) => e.ret !== Number.POSITIVE_INFINITY).length;
  const seen = new Set<string>();
  let steps = 0;
  const search = (state: string, finished: number): boolean => {
    if (finished === mustFinish) return true;
    if (++steps > maxSteps) throw new Error('linearizability search too large');
    const memo = `${state}|${Buffer.from(done).toString('base64')}`;
    if (seen.has(memo)) return false;
    seen.add(memo);
    // Only operations called before every pending completed operation returned can go next.
    let horizon = Number.POSITIVE_INFINITY;
    for (let i = 0; i < n; i++) if (done[i] === 0 && entries[i]!.ret < horizon) horizon = entries[i]!.ret;
    for (let i = 0; i < n; i++) {
      const entry = entries[i]!;
      if (done[i] !== 0) continue;
      if (entry.call > horizon) break;
      for (const next of step(state, entry)) {
        done[i] = 1;
        const ok = search(next, finished + (entry.ret === Number.POSITIVE_INFINITY ? 0 : 1));
        done[i] = 0;
        if (ok) return true;
      }
    }
    return false;
  };
  return search(initial, 0);
}
