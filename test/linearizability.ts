/**
 * A linearizability checker for a register with compare-and-set, after Wing & Gong's search with
 * Lowe's memoization ("Testing for linearizability", 2017), in the iterative form Porcupine
 * uses (a linked list of call and return events; linearized operations are lifted out of it):
 * find an order of the operations that (1) respects real time (an operation that returned
 * before another was called comes first) and (2) is a legal sequential history of the register.
 *
 * Refusals are part of the model: a refused compare-and-set says the register did not hold its
 * expected value at some point between call and return, and, when the refusal named the value it
 * found (`actual`), that the register held exactly that.
 *
 * An operation whose outcome is unknown (`unknown: true`, e.g. its connection died with the
 * server) may take effect at one point between its call and `ret`, or never; `ret` may be
 * `Infinity` when nothing bounds it (the server may still apply it later).
 *
 * Values written are unique, so a version (offset) and the value written at it identify each
 * other; CAS is expressed on values. Check one key's history at a time (linearizability is
 * compositional), which keeps each search small.
 */

export type RegisterOp =
  | { readonly kind: 'read'; readonly value: string }
  | { readonly kind: 'write'; readonly value: string }
  | {
      readonly kind: 'cas';
      readonly expected: string;
      readonly value: string;
      /** `undefined`: the outcome is unknown (as `HistoryEntry.unknown`). */
      readonly ok: boolean | undefined;
      /** For a refusal: the value the register held instead, when known. */
      readonly actual?: string;
    };

export interface HistoryEntry {
  readonly op: RegisterOp;
  readonly call: number;
  /** Latest moment the operation can have taken effect; `Infinity`: unbounded (and unknown). */
  readonly ret: number;
  /** The operation may have taken effect or not (default: unknown exactly when `ret` is `Infinity`). */
  readonly unknown?: boolean;
}

export interface CheckResult {
  readonly ok: boolean;
  /** Linearization steps the search took. */
  readonly steps: number;
  /**
   * When not linearizable: the operation whose return the longest linearizable prefix could not
   * get past, and the operations linearized before it in that prefix.
   */
  readonly stuckAt?: HistoryEntry;
  readonly linearizedBefore?: number;
}

function isUnknown(entry: HistoryEntry): boolean {
  return (
    entry.unknown === true ||
    entry.ret === Number.POSITIVE_INFINITY ||
    (entry.op.kind === 'cas' && entry.op.ok === undefined)
  );
}

/** The states the register can be in after `entry` from `state` (empty: not legal here). */
function step(state: string, entry: HistoryEntry): readonly string[] {
  const op = entry.op;
  const unknown = isUnknown(entry);
  switch (op.kind) {
    case 'read':
      return op.value === state ? [state] : [];
    case 'write':
      return unknown ? [op.value, state] : [op.value];
    case 'cas':
      if (unknown) return state === op.expected ? [op.value, state] : [state];
      if (op.ok) return state === op.expected ? [op.value] : [];
      if (state === op.expected) return [];
      return op.actual === undefined || op.actual === state ? [state] : [];
  }
}

interface Node {
  readonly index: number;
  /** The return node of a call node; undefined for return nodes. */
  readonly match: Node | undefined;
  prev: Node | undefined;
  next: Node | undefined;
}

/** A doubly linked list of call and return events in time order (calls first on ties). */
function eventList(entries: readonly HistoryEntry[]): Node {
  const events: { time: number; isCall: boolean; index: number }[] = [];
  entries.forEach((entry, index) => {
    if (!(entry.ret >= entry.call)) throw new Error(`operation ${index} returns before its call`);
    events.push({ time: entry.call, isCall: true, index }, { time: entry.ret, isCall: false, index });
  });
  events.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? a.index - b.index : a.isCall ? -1 : 1));
  const head: Node = { index: -1, match: undefined, prev: undefined, next: undefined };
  const returns = new Map<number, Node>();
  const ordered: Node[] = [];
  for (let i = events.length - 1; i >= 0; i--) {
    const event = events[i]!;
    const node: Node = event.isCall
      ? { index: event.index, match: returns.get(event.index), prev: undefined, next: undefined }
      : { index: event.index, match: undefined, prev: undefined, next: undefined };
    if (!event.isCall) returns.set(event.index, node);
    ordered.push(node);
  }
  ordered.reverse();
  let prev = head;
  for (const node of ordered) {
    prev.next = node;
    node.prev = prev;
    prev = node;
  }
  return head;
}

/** Takes a call node and its return node out of the list. */
function lift(call: Node): void {
  call.prev!.next = call.next;
  if (call.next !== undefined) call.next.prev = call.prev;
  const ret = call.match!;
  ret.prev!.next = ret.next;
  if (ret.next !== undefined) ret.next.prev = ret.prev;
}

/** Puts them back, in the reverse order of `lift`. */
function unlift(call: Node): void {
  const ret = call.match!;
  ret.prev!.next = ret;
  if (ret.next !== undefined) ret.next.prev = ret;
  call.prev!.next = call;
  if (call.next !== undefined) call.next.prev = call;
}

/** mulberry32: the per-operation hash words, the same on every run. */
function words(count: number, seed: number): Uint32Array {
  const out = new Uint32Array(count);
  let a = seed >>> 0;
  for (let i = 0; i < count; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (t ^ (t >>> 14)) >>> 0;
  }
  return out;
}

/** Checks `history` of one register starting at `initial`. Throws if the search exceeds `maxSteps`. */
export function checkRegister(
  history: readonly HistoryEntry[],
  initial: string,
  maxSteps = 20_000_000,
): CheckResult {
  const n = history.length;
  const head = eventList(history);
  // The set of linearized operations, hashed incrementally: the XOR of a 64-bit word per
  // operation. Two different sets share a hash with probability 2^-64 per pair; such a collision
  // could only prune a branch (report a failure), never accept a history that is not linearizable.
  const hashA = words(n, 1);
  const hashB = words(n, 2);
  let h1 = 0;
  let h2 = 0;
  const seen = new Set<string>();
  const flip = (index: number): void => {
    h1 ^= hashA[index]!;
    h2 ^= hashB[index]!;
  };
  /** Records (set, state) and says whether it is new. */
  const remember = (state: string): boolean => {
    const key = `${h1}:${h2}:${state}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  };
  const stack: { node: Node; state: string; alternative: number }[] = [];
  let state = initial;
  let node = head.next;
  let alternative = 0;
  let steps = 0;
  let best = { depth: -1, stuck: -1 };
  while (head.next !== undefined) {
    if (node === undefined) throw new Error('linearizability search ran off the event list');
    if (node.match !== undefined) {
      const entry = history[node.index]!;
      const nextStates = step(state, entry);
      let moved = false;
      for (let k = alternative; k < nextStates.length; k++) {
        const next = nextStates[k]!;
        flip(node.index);
        if (remember(next)) {
          if (++steps > maxSteps) throw new Error(`linearizability search exceeded ${maxSteps} steps`);
          stack.push({ node, state, alternative: k });
          state = next;
          lift(node);
          node = head.next;
          alternative = 0;
          moved = true;
          break;
        }
        flip(node.index);
      }
      if (!moved) {
        node = node.next;
        alternative = 0;
      }
    } else {
      // A return whose operation is not linearized yet: undo the last choice.
      if (stack.length > best.depth) best = { depth: stack.length, stuck: node.index };
      const top = stack.pop();
      if (top === undefined) {
        return { ok: false, steps, stuckAt: history[best.stuck]!, linearizedBefore: best.depth };
      }
      unlift(top.node);
      flip(top.node.index);
      state = top.state;
      node = top.node;
      alternative = top.alternative + 1;
    }
  }
  return { ok: true, steps };
}

/** True when `history` is linearizable from `initial`. */
export function isLinearizable(
  history: readonly HistoryEntry[],
  initial: string,
  maxSteps?: number,
): boolean {
  return checkRegister(history, initial, maxSteps).ok;
}
