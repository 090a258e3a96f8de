/**
 * @module bench/lib/svg
 * A small grouped bar chart as a standalone SVG string, with no dependencies: one group per
 * workload variant, one bar per system (the median), a whisker for min–max over the repeats, the
 * value above each bar, a legend, and a note saying whether higher or lower is better. Missing
 * values (a system that was skipped or cannot run the variant) leave an empty slot marked "n/a".
 *
 * @example
 * const svg = barChartSvg({
 *   title: 'Publish throughput', unit: 'msgs/s', better: 'higher',
 *   series: ['tributary', 'nats'],
 *   groups: [{ label: '100 B × 1', bars: [{ value: 120000, min: 110000, max: 125000 }, undefined] }],
 * });
 */

export interface Bar {
  readonly value: number;
  readonly min?: number;
  readonly max?: number;
}

export interface BarGroup {
  readonly label: string;
  /** One entry per series, in the order of `BarChart.series`; undefined for "no value". */
  readonly bars: readonly (Bar | undefined)[];
}

export interface BarChart {
  readonly title: string;
  readonly subtitle?: string;
  readonly unit: string;
  readonly better: 'higher' | 'lower';
  readonly series: readonly string[];
  readonly groups: readonly BarGroup[];
  /** Series colours, cycled; default a colour-blind-safe palette. */
  readonly colors?: readonly string[];
}

const PALETTE = ['#0072b2', '#e69f00', '#009e73', '#cc79a7', '#56b4e9', '#d55e00', '#f0e442', '#000000'];

const LAYOUT = {
  marginLeft: 78,
  marginRight: 24,
  marginTop: 74,
  marginBottom: 64,
  plotHeight: 300,
  barWidth: 22,
  barGap: 4,
  groupGap: 30,
  minWidth: 560,
  fontFamily: 'system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif',
} as const;

/** Approximate width of one character at the 11 px base font (labels are measured, not rendered). */
const CHAR_WIDTH = 6.2;

export function barChartSvg(chart: BarChart): string {
  const colors = chart.colors ?? PALETTE;
  const seriesCount = Math.max(chart.series.length, 1);
  const barsWidth = seriesCount * LAYOUT.barWidth + (seriesCount - 1) * LAYOUT.barGap;
  const labelLines = chart.groups.map((group) => wrapLabel(group.label));
  const labelWidth = Math.max(0, ...labelLines.flat().map((line) => line.length * CHAR_WIDTH + 8));
  const groupWidth = Math.max(barsWidth, labelWidth);
  const subtitle = `${chart.subtitle === undefined ? '' : `${chart.subtitle} · `}${chart.unit}, ${chart.better} is better; bars: median, whiskers: min–max`;
  const legendWidth = chart.series.reduce((sum, name) => sum + 24 + name.length * 6.5, 0);
  const textWidth = Math.max(subtitle.length * CHAR_WIDTH, chart.title.length * 9, legendWidth);
  const plotWidth = Math.max(
    chart.groups.length * groupWidth + (chart.groups.length + 1) * LAYOUT.groupGap,
    LAYOUT.minWidth - LAYOUT.marginLeft - LAYOUT.marginRight,
    textWidth,
  );
  const lineCount = Math.max(1, ...labelLines.map((lines) => lines.length));
  const width = Math.ceil(LAYOUT.marginLeft + plotWidth + LAYOUT.marginRight);
  const height = LAYOUT.marginTop + LAYOUT.plotHeight + LAYOUT.marginBottom + (lineCount - 1) * 13;

  const top = Math.max(
    0,
    ...chart.groups.flatMap((group) =>
      group.bars.flatMap((bar) => (bar === undefined ? [] : [bar.value, bar.max ?? bar.value])),
    ),
  );
  const { max: axisMax, ticks } = niceAxis(top);
  const y = (value: number): number =>
    LAYOUT.marginTop + LAYOUT.plotHeight - (Math.max(value, 0) / axisMax) * LAYOUT.plotHeight;
  const baseline = y(0);

  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${LAYOUT.fontFamily}" font-size="11" role="img" aria-label="${escapeXml(chart.title)}">`,
    `<title>${escapeXml(chart.title)}</title>`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    text(LAYOUT.marginLeft, 22, chart.title, { size: 15, weight: 'bold' }),
    text(LAYOUT.marginLeft, 40, subtitle, { fill: '#555' }),
  );

  // Legend.
  let legendX = LAYOUT.marginLeft;
  chart.series.forEach((name, index) => {
    parts.push(
      `<rect x="${legendX}" y="50" width="10" height="10" fill="${colors[index % colors.length]}"/>`,
      text(legendX + 14, 59, name),
    );
    legendX += 24 + name.length * 6.5;
  });

  // Grid and axis.
  for (const tick of ticks) {
    const ty = round(y(tick));
    parts.push(
      `<line x1="${LAYOUT.marginLeft}" x2="${LAYOUT.marginLeft + plotWidth}" y1="${ty}" y2="${ty}" stroke="#e5e5e5"/>`,
      text(LAYOUT.marginLeft - 6, ty + 4, formatValue(tick), { anchor: 'end', fill: '#555' }),
    );
  }
  parts.push(
    `<line x1="${LAYOUT.marginLeft}" x2="${LAYOUT.marginLeft + plotWidth}" y1="${round(baseline)}" y2="${round(baseline)}" stroke="#333"/>`,
  );

  // Bars.
  const slack = (plotWidth - chart.groups.length * groupWidth) / (chart.groups.length + 1);
  chart.groups.forEach((group, groupIndex) => {
    const groupX = LAYOUT.marginLeft + slack + groupIndex * (groupWidth + slack);
    group.bars.forEach((bar, seriesIndex) => {
      const x = groupX + (groupWidth - barsWidth) / 2 + seriesIndex * (LAYOUT.barWidth + LAYOUT.barGap);
      const cx = round(x + LAYOUT.barWidth / 2);
      if (bar === undefined || !Number.isFinite(bar.value)) {
        parts.push(text(cx, baseline - 4, 'n/a', { anchor: 'middle', fill: '#999', size: 9 }));
        return;
      }
      const barTop = y(bar.value);
      const name = chart.series[seriesIndex] ?? '';
      parts.push(
        `<rect x="${round(x)}" y="${round(barTop)}" width="${LAYOUT.barWidth}" height="${round(Math.max(baseline - barTop, 0.5))}" fill="${colors[seriesIndex % colors.length]}"><title>${escapeXml(`${name}, ${group.label}: ${formatValue(bar.value)} ${chart.unit}`)}</title></rect>`,
      );
      let labelY = barTop - 4;
      if (bar.min !== undefined && bar.max !== undefined && bar.max > bar.min) {
        const y1 = round(y(bar.min));
        const y2 = round(y(bar.max));
        parts.push(
          `<line x1="${cx}" x2="${cx}" y1="${y1}" y2="${y2}" stroke="#222"/>`,
          `<line x1="${cx - 4}" x2="${cx + 4}" y1="${y1}" y2="${y1}" stroke="#222"/>`,
          `<line x1="${cx - 4}" x2="${cx + 4}" y1="${y2}" y2="${y2}" stroke="#222"/>`,
        );
        labelY = Math.min(labelY, y2 - 4);
      }
      parts.push(
        text(cx, round(labelY), formatValue(bar.value), {
          anchor: 'middle',
          size: 9,
          rotate: true,
        }),
      );
    });
    labelLines[groupIndex]!.forEach((line, lineIndex) => {
      parts.push(
        text(round(groupX + groupWidth / 2), baseline + 16 + lineIndex * 13, line, {
          anchor: 'middle',
          fill: '#222',
        }),
      );
    });
  });

  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

/** Group labels break after ", " so long variant names stack instead of overlapping. */
function wrapLabel(label: string): string[] {
  return label.split(/(?<=,) /);
}

interface TextStyle {
  readonly anchor?: 'start' | 'middle' | 'end';
  readonly size?: number;
  readonly weight?: 'bold';
  readonly fill?: string;
  /** Vertical text (reads bottom to top), for values above narrow bars. */
  readonly rotate?: boolean;
}

function text(x: number, y: number, content: string, style: TextStyle = {}): string {
  const attributes = [
    `x="${round(x)}"`,
    `y="${round(y)}"`,
    style.anchor === undefined ? '' : `text-anchor="${style.rotate === true ? 'start' : style.anchor}"`,
    style.size === undefined ? '' : `font-size="${style.size}"`,
    style.weight === undefined ? '' : `font-weight="${style.weight}"`,
    style.fill === undefined ? '' : `fill="${style.fill}"`,
    style.rotate === true ? `transform="rotate(-90 ${round(x + 3)} ${round(y)})"` : '',
  ].filter((attribute) => attribute !== '');
  return `<text ${attributes.join(' ')}>${escapeXml(content)}</text>`;
}

/** Axis maximum and ticks at 1, 2 or 5 × 10^n steps, about 5 ticks. */
export function niceAxis(top: number): { max: number; ticks: number[] } {
  if (!(top > 0)) return { max: 1, ticks: [0, 0.25, 0.5, 0.75, 1] };
  const rough = (top * 1.12) / 5;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((candidate) => candidate >= rough)!;
  const max = Math.ceil((top * 1.12) / step) * step;
  const ticks: number[] = [];
  for (let tick = 0; tick <= max + step / 2; tick += step) ticks.push(Number(tick.toPrecision(12)));
  return { max, ticks };
}

/** 1234567 → 1.23M, 45200 → 45.2k, 3.456 → 3.46, 0.0123 → 0.012. */
export function formatValue(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e9) return `${trim((value / 1e9).toPrecision(3))}G`;
  if (abs >= 1e6) return `${trim((value / 1e6).toPrecision(3))}M`;
  if (abs >= 1e4) return `${trim((value / 1e3).toPrecision(3))}k`;
  if (abs >= 100) return String(Math.round(value));
  if (abs === 0) return '0';
  return trim(value.toPrecision(3));
}

function trim(number: string): string {
  return number.includes('.') && !number.includes('e') ? number.replace(/\.?0+$/, '') : number;
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

export function escapeXml(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
