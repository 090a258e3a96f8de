/**
 * @module cli/node-flags
 * The Node.js (V8) flags `tributary serve` is meant to run with: `npm start` passes them, the
 * benchmark harness starts the server the same way, and `serve` logs a notice when they are
 * missing. They are process flags, so they cannot be set from inside the running server (V8 reads
 * them when the heap is created; `NODE_OPTIONS` does not accept them).
 *
 * `--initial-old-space-size=64`: the server's live old generation is small (about 12 MB), and V8
 * sizes the old generation's growth from it; with that little room next to a 16 MB young
 * generation it starts incremental marking right after every full GC. Under load that meant a
 * mark-compact (2–5 ms pause plus marking steps) every half second at 50k msgs/s. With 64 MB of
 * initial room none ran in a 6 s window, and end-to-end p99 at 50k msgs/s measured 3.2–3.9 ms
 * instead of 5–6.4 ms (one server, one publisher, one subscriber; see docs/benchmarks.md). The
 * heap still grows past it when the data needs it.
 */

export const SERVER_NODE_FLAGS: readonly string[] = ['--initial-old-space-size=64'];

/** The flags of {@link SERVER_NODE_FLAGS} that `execArgv` (the running process's) lacks. */
export function missingServerNodeFlags(execArgv: readonly string[]): string[] {
  return SERVER_NODE_FLAGS.filter((flag) => {
    const name = flag.split('=')[0]!;
    return !execArgv.some((arg) => arg === flag || arg.startsWith(`${name}=`));
  });
}
