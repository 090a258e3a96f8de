/**
 * @module dashboard/app/format
 * Numbers, sizes, durations and record payloads as the dashboard shows them.
 */
const INTEGER = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const ONE_DECIMAL = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });

export function count(value: number | undefined): string {
  return value === undefined ? '–' : INTEGER.format(value);
}

export function rate(value: number | undefined): string {
  if (value === undefined) return '–';
  return value < 10 ? ONE_DECIMAL.format(value) : INTEGER.format(value);
}

export function bytes(value: number | undefined): string {
  if (value === undefined) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let scaled = value;
  let unit = 0;
  while (scaled >= 1024 && unit < units.length - 1) {
    scaled /= 1024;
    unit++;
  }
  return `${unit === 0 ? INTEGER.format(scaled) : ONE_DECIMAL.format(scaled)} ${units[unit]}`;
}

export function duration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s}s`;
  return `${s}s`;
}

export function time(ms: number): string {
  const date = new Date(ms);
  return `${date.toLocaleTimeString('en-GB', { hour12: false })}.${String(date.getMilliseconds()).padStart(3, '0')}`;
}

const DECODER = new TextDecoder('utf-8', { fatal: true });

/** A key or value for display: UTF-8 text, or hex when it is not text. */
export function payload(value: Uint8Array | null, limit = 2048): { text: string; binary: boolean } {
  if (value === null) return { text: 'null', binary: false };
  try {
    const text = DECODER.decode(value);
    return { text: text.length > limit ? `${text.slice(0, limit)}…` : text, binary: false };
  } catch {
    let hex = '';
    for (const byte of value.subarray(0, limit / 2)) hex += byte.toString(16).padStart(2, '0');
    return { text: value.byteLength > limit / 2 ? `${hex}…` : hex, binary: true };
  }
}

/** `text` pretty-printed when it is JSON, else undefined. */
export function prettyJson(text: string): string | undefined {
  const first = text.trimStart()[0];
  if (first !== '{' && first !== '[') return undefined;
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return undefined;
  }
}
