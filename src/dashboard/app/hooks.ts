/**
 * @module dashboard/app/hooks
 * Polling with Preact hooks: `usePoll` calls a loader every `intervalMs` (never two at once,
 * paused while the tab is hidden) and keeps the last answer, the one before it (for rates) and
 * the last error.
 */
import { useEffect, useRef, useState } from 'preact/hooks';

export interface Polled<T> {
  /** The last answer, or undefined before the first. */
  readonly data: T | undefined;
  /** The answer before `data`, for rates. */
  readonly previous: T | undefined;
  /** `performance.now()` of `data` and of `previous`. */
  readonly at: number;
  readonly previousAt: number;
  readonly error: unknown;
}

/** Polls `load`; a new `key` (what the loader reads: a path, a name) starts over. */
export function usePoll<T>(
  load: (signal: AbortSignal) => Promise<T>,
  intervalMs: number,
  key: string,
): Polled<T> {
  const [state, setState] = useState<Polled<T>>({
    data: undefined,
    previous: undefined,
    at: 0,
    previousAt: 0,
    error: undefined,
  });
  const loadRef = useRef(load);
  loadRef.current = load;
  // biome-ignore lint/correctness/useExhaustiveDependencies: `key` names what `load` reads; a new key starts over
  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    setState({ data: undefined, previous: undefined, at: 0, previousAt: 0, error: undefined });
    const tick = async (): Promise<void> => {
      if (document.visibilityState !== 'hidden') {
        try {
          const data = await loadRef.current(controller.signal);
          const at = performance.now();
          if (controller.signal.aborted) return;
          setState((old) => ({ data, previous: old.data, at, previousAt: old.at, error: undefined }));
        } catch (error) {
          if (controller.signal.aborted) return;
          setState((old) => ({ ...old, error }));
        }
      }
      if (!controller.signal.aborted) timer = setTimeout(() => void tick(), intervalMs);
    };
    void tick();
    return () => {
      controller.abort();
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [key, intervalMs]);
  return state;
}

/** Per-second rate of a counter between two polls; undefined until there are two. */
export function ratePerSecond(
  now: number | undefined,
  before: number | undefined,
  seconds: number,
): number | undefined {
  if (now === undefined || before === undefined || seconds <= 0) return undefined;
  return Math.max(0, (now - before) / seconds);
}
