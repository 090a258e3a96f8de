/**
 * @module bench/lib/table
 * Plain-text tables and number formatting for benchmark output.
 */

export type Align = 'left' | 'right';

export interface Column {
  readonly header: string;
  /** Default: the first column left, the others right. */
  readonly align?: Align;
}

/** Renders rows under a header with a separator line; cells are padded to the widest one. */
export function renderTable(
  columns: readonly (Column | string)[],
  rows: readonly (readonly string[])[],
): string {
  const specs = columns.map((column, index) => {
    const spec = typeof column === 'string' ? { header: column } : column;
    return { header: spec.header, align: spec.align ?? (index === 0 ? 'left' : 'right') };
  });
  const widths = specs.map((spec, index) =>
    Math.max(spec.header.length, ...rows.map((row) => (row[index] ?? '').length)),
  );
  const line = (cells: readonly string[]): string =>
    specs
      .map((spec, index) => {
        const cell = cells[index] ?? '';
        const width = widths[index]!;
        return spec.align === 'left' ? cell.padEnd(width) : cell.padStart(width);
      })
      .join('  ')
      .trimEnd();
  return [
    line(specs.map((spec) => spec.header)),
    widths.map((width) => '-'.repeat(width)).join('  '),
    ...rows.map(line),
  ].join('\n');
}

export function printTable(
  columns: readonly (Column | string)[],
  rows: readonly (readonly string[])[],
): void {
  process.stdout.write(`${renderTable(columns, rows)}\n`);
}

/** `1234567.8` → `1,234,568`; `-` for NaN. */
export function formatInt(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '-';
}

/** Fixed decimals; `-` for NaN. */
export function formatFixed(value: number, digits = 2): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '-';
}

/** Milliseconds with precision that suits the magnitude: 0.043, 1.25, 12.3, 1,234. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  if (ms < 1) return ms.toFixed(3);
  if (ms < 10) return ms.toFixed(2);
  if (ms < 1000) return ms.toFixed(1);
  return formatInt(ms);
}

export function formatPercent(fraction: number, digits = 1): string {
  return Number.isFinite(fraction) ? `${(fraction * 100).toFixed(digits)} %` : '-';
}

/** Bytes in binary units: 512 B, 4.0 KiB, 12.5 MiB, 1.20 GiB. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}
