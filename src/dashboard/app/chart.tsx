/**
 * @module dashboard/app/chart
 * A small live line chart (uPlot) of rates over time. uPlot draws on a canvas, so the chart is
 * an image to assistive technology: it carries a label with the latest values, and every number
 * it shows is also in a table beside it.
 */
import { useEffect, useRef } from 'preact/hooks';
import type uPlot from 'uplot';

/** uPlot, loaded with the first chart: views without one paint without it. */
let uPlotModule: Promise<typeof uPlot> | undefined;
function loadUPlot(): Promise<typeof uPlot> {
  uPlotModule ??= import('uplot').then((module) => module.default);
  return uPlotModule;
}

export interface ChartSeries {
  readonly label: string;
  readonly values: readonly (number | null)[];
  /** A CSS colour; the two default ones have 3:1 contrast on both schemes' panels. */
  readonly stroke?: string;
}

const STROKES = ['#2f7de1', '#d9730d', '#2e9a5a', '#a14ec8'];
/** Seconds of history the time axis spans (the stats history holds as many samples). */
const WINDOW_S = 120;

export function RateChart({
  title,
  times,
  series,
  unit,
}: {
  title: string;
  times: readonly number[];
  series: readonly ChartSeries[];
  unit: string;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const key = series.map((s) => s.label).join('\0');
  // The latest data, for a chart that is created after it arrived (uPlot loads asynchronously).
  const data = useRef({ times, values: series.map((s) => s.values as (number | null)[]) });
  data.current = { times, values: series.map((s) => s.values as (number | null)[]) };

  // biome-ignore lint/correctness/useExhaustiveDependencies: a new set of series (by label) builds a new chart
  useEffect(() => {
    const element = box.current;
    if (element === null) return;
    let chart: uPlot | undefined;
    let resize: ResizeObserver | undefined;
    let gone = false;
    const text = getComputedStyle(document.documentElement).getPropertyValue('--muted').trim() || '#4b5567';
    const grid = getComputedStyle(document.documentElement).getPropertyValue('--line').trim() || '#d5dbe5';
    const axis = { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const options: uPlot.Options = {
      width: Math.max(200, element.clientWidth),
      height: 180,
      legend: { show: true },
      cursor: { show: true, drag: { x: false, y: false } },
      // The last two minutes, however few samples there are yet; rates from 0.
      scales: {
        x: { time: true, range: (_u, _min, max) => [max - WINDOW_S, max] },
        y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.15)] },
      },
      axes: [axis, { ...axis, size: 56, label: unit, labelSize: 18 }],
      series: [
        {},
        ...series.map((s, i) => ({
          label: s.label,
          stroke: s.stroke ?? STROKES[i % STROKES.length]!,
          width: 2,
          points: { show: false },
        })),
      ],
    };
    void loadUPlot().then((UPlot) => {
      if (gone) return;
      const made = new UPlot(options, [[], ...series.map(() => [])], element);
      chart = made;
      plot.current = made;
      made.setData([data.current.times as number[], ...data.current.values]);
      resize = new ResizeObserver(() =>
        made.setSize({ width: Math.max(200, element.clientWidth), height: 180 }),
      );
      resize.observe(element);
    });
    return () => {
      gone = true;
      resize?.disconnect();
      chart?.destroy();
      plot.current = null;
    };
  }, [key, unit]);

  useEffect(() => {
    plot.current?.setData([times as number[], ...series.map((s) => s.values as (number | null)[])]);
  }, [times, series]);

  const latest = series
    .map((s) => `${s.label} ${formatLatest(s.values[s.values.length - 1])} ${unit}`)
    .join(', ');
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div ref={box} role="img" aria-label={`${title}: ${latest || 'no data yet'}`} />
    </figure>
  );
}

function formatLatest(value: number | null | undefined): string {
  if (value === null || value === undefined) return '–';
  return value < 10 ? value.toFixed(1) : Math.round(value).toString();
}
