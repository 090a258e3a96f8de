/**
 * @module dashboard/app/stats
 * One poll of `GET /v1/stats` per second for the whole page, kept as a short history (the last
 * {@link SAMPLES_MAX} readings) that every view reads: rates are differences of two readings, and
 * charts draw the history. A principal without `describe` on the cluster gets no stats
 * (`unavailable`); views then show what the other endpoints give.
 */
import { type ComponentChildren, createContext } from 'preact';
import { useContext, useEffect, useState } from 'preact/hooks';
import { ApiError } from './api.js';
import { useSession } from './session.js';
import type { StatsJson } from './types.js';

export const SAMPLES_MAX = 120;
const POLL_MS = 1000;

export interface StatsSample {
  /** Seconds since the epoch (uPlot's time axis). */
  readonly t: number;
  readonly stats: StatsJson;
}

export interface StatsHistory {
  readonly samples: readonly StatsSample[];
  /** The last error, if the last poll failed. */
  readonly error: unknown;
  /** True when the server refused stats to this principal (403). */
  readonly unavailable: boolean;
}

const StatsContext = createContext<StatsHistory>({ samples: [], error: undefined, unavailable: false });

export function useStats(): StatsHistory {
  return useContext(StatsContext);
}

export function StatsProvider({ children }: { children: ComponentChildren }) {
  const { api } = useSession();
  const [history, setHistory] = useState<StatsHistory>({ samples: [], error: undefined, unavailable: false });
  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async (): Promise<void> => {
      let stop = false;
      if (document.visibilityState !== 'hidden') {
        try {
          const stats = await api.get<StatsJson>('/v1/stats', controller.signal);
          const sample = { t: Date.now() / 1000, stats };
          setHistory((old) => ({
            samples: [...old.samples, sample].slice(-SAMPLES_MAX),
            error: undefined,
            unavailable: false,
          }));
        } catch (error) {
          if (controller.signal.aborted) return;
          stop = error instanceof ApiError && error.status === 403;
          setHistory((old) => ({ ...old, error, unavailable: stop }));
        }
      }
      if (!controller.signal.aborted && !stop) timer = setTimeout(() => void tick(), POLL_MS);
    };
    void tick();
    return () => {
      controller.abort();
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [api]);
  return <StatsContext.Provider value={history}>{children}</StatsContext.Provider>;
}

/** Per-second rates of a counter between successive samples (null where it is unknown). */
export function rateSeries(
  samples: readonly StatsSample[],
  pick: (stats: StatsJson) => number | undefined,
): (number | null)[] {
  const out: (number | null)[] = [];
  for (let i = 0; i < samples.length; i++) {
    const now = samples[i]!;
    const before = samples[i - 1];
    const a = pick(now.stats);
    const b = before === undefined ? undefined : pick(before.stats);
    // A restart (counters back to zero) or a missing value gives no rate.
    out.push(
      before === undefined || a === undefined || b === undefined || a < b || now.t <= before.t
        ? null
        : (a - b) / (now.t - before.t),
    );
  }
  return out;
}

/** The latest rate of a counter, or undefined without two samples. */
export function latestRate(
  samples: readonly StatsSample[],
  pick: (stats: StatsJson) => number | undefined,
): number | undefined {
  const series = rateSeries(samples.slice(-2), pick);
  return series[series.length - 1] ?? undefined;
}
