/**
 * @module protocol/native/fields
 * Typed reading of one decoded frame. Every accessor checks the field's type and range and, on a
 * mismatch, throws `PROTOCOL_ERROR` naming the field by its path (`records[3].key`), so a peer
 * learns exactly what it got wrong. Nothing here throws anything but a `TributaryError`.
 *
 * Integers are accepted as MessagePack integers of any width or as floats with an integral value
 * (some encoders write large numbers as float64); they must be safe integers (|n| < 2^53).
 * Byte strings are `bin` in MessagePack and canonical base64 strings in JSON.
 */
import { TributaryError } from '../../errors.js';
import { decodeBase64 } from './base64.js';
import type { WireFormat } from './types.js';

export interface IntRange {
  readonly min?: number;
  readonly max?: number;
}

/** `PROTOCOL_ERROR` for `field`; `reason` completes "field <path> ...". */
export function fieldError(path: string, reason: string): TributaryError {
  return new TributaryError('PROTOCOL_ERROR', { reason: `field "${path}" ${reason}`, field: path });
}

export function describeValue(value: unknown): string {
  if (value === null) return 'nil';
  if (value === undefined) return 'nothing';
  if (value instanceof Uint8Array) return 'bytes';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return value instanceof Date ? 'a timestamp extension' : 'a map';
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a float';
  return `a ${typeof value}`;
}

export function isPlainMap(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array) {
    return false;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** A decoded map and where it sits in the frame. */
export class Fields {
  readonly #value: Readonly<Record<string, unknown>>;
  readonly path: string;
  readonly format: WireFormat;

  private constructor(value: Readonly<Record<string, unknown>>, path: string, format: WireFormat) {
    this.#value = value;
    this.path = path;
    this.format = format;
  }

  /** The fields of `value`, which must be a map (`what` names it in the error otherwise). */
  static of(value: unknown, path: string, format: WireFormat, what = 'a map'): Fields {
    if (!isPlainMap(value)) {
      throw new TributaryError('PROTOCOL_ERROR', {
        reason:
          path === ''
            ? `a frame must be a map, got ${describeValue(value)}`
            : `field "${path}" must be ${what}, got ${describeValue(value)}`,
        ...(path === '' ? {} : { field: path }),
      });
    }
    return new Fields(value, path, format);
  }

  has(name: string): boolean {
    return Object.hasOwn(this.#value, name) && this.#value[name] !== undefined;
  }

  raw(name: string): unknown {
    return Object.hasOwn(this.#value, name) ? this.#value[name] : undefined;
  }

  /** The names present in this map, in order. */
  names(): string[] {
    return Object.keys(this.#value);
  }

  pathOf(name: string): string {
    return this.path === '' ? name : `${this.path}.${name}`;
  }

  fail(name: string, reason: string): never {
    throw fieldError(this.pathOf(name), reason);
  }

  private missingOr(name: string, expected: string): never {
    const value = this.raw(name);
    if (value === undefined) this.fail(name, `is required (${expected})`);
    this.fail(name, `must be ${expected}, got ${describeValue(value)}`);
  }

  string(name: string, { min = 0, max = Number.MAX_SAFE_INTEGER }: IntRange = {}): string {
    const value = this.raw(name);
    if (typeof value !== 'string') this.missingOr(name, 'a string');
    const text = value as string;
    if (text.length < min)
      this.fail(name, min === 1 ? 'must not be empty' : `must have at least ${min} characters`);
    if (text.length > max) this.fail(name, `must have at most ${max} characters, got ${text.length}`);
    return text;
  }

  optionalString(name: string, range?: IntRange): string | undefined {
    return this.has(name) ? this.string(name, range) : undefined;
  }

  int(name: string, { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER }: IntRange = {}): number {
    const value = this.raw(name);
    const n = toSafeInteger(value);
    if (n === undefined) this.missingOr(name, 'an integer');
    if (n! < min || n! > max) this.fail(name, `must be an integer from ${min} to ${max}, got ${n}`);
    return n!;
  }

  optionalInt(name: string, range?: IntRange): number | undefined {
    return this.has(name) ? this.int(name, range) : undefined;
  }

  nullableInt(name: string, range?: IntRange): number | null {
    return this.raw(name) === null ? null : this.int(name, range);
  }

  boolean(name: string): boolean {
    const value = this.raw(name);
    if (typeof value !== 'boolean') this.missingOr(name, 'a boolean');
    return value as boolean;
  }

  bytes(name: string): Uint8Array {
    const value = this.raw(name);
    const bytes = toBytes(value, this.format);
    if (bytes === undefined && this.format === 'json' && typeof value === 'string') {
      this.fail(name, 'must be canonical standard base64 (RFC 4648, padded)');
    }
    if (bytes === undefined) {
      this.missingOr(name, this.format === 'json' ? 'bytes (a base64 string)' : 'bytes (bin)');
    }
    return bytes!;
  }

  /** Bytes or nil; absent counts as nil. */
  nullableBytes(name: string): Uint8Array | null {
    const value = this.raw(name);
    return value === null || value === undefined ? null : this.bytes(name);
  }

  map(name: string, what = 'a map'): Fields {
    const value = this.raw(name);
    if (value === undefined) this.fail(name, `is required (${what})`);
    return Fields.of(value, this.pathOf(name), this.format, what);
  }

  optionalMap(name: string): Fields | undefined {
    return this.has(name) ? this.map(name) : undefined;
  }

  /** Each element of the array `name`, read by `item`; at most `max` elements. */
  list<T>(name: string, max: number, item: (element: Item) => T, { min = 0 } = {}): T[] {
    const value = this.raw(name);
    if (!Array.isArray(value)) this.missingOr(name, 'an array');
    const array = value as unknown[];
    if (array.length > max) this.fail(name, `must have at most ${max} elements, got ${array.length}`);
    if (array.length < min)
      this.fail(name, min === 1 ? 'must not be empty' : `must have at least ${min} elements`);
    const out: T[] = new Array(array.length);
    for (let i = 0; i < array.length; i++) {
      out[i] = item(new Item(array[i], `${this.pathOf(name)}[${i}]`, this.format));
    }
    return out;
  }

  /**
   * Like {@link list}, for long lists of records: each element is first read by `fast`, which
   * checks it in one pass without allocating and returns `undefined` instead of throwing;
   * elements it refuses (a wrong field, or a form it does not handle) go through `item`, which
   * accepts them or names the field at fault.
   */
  fastList<T>(
    name: string,
    max: number,
    fast: (value: unknown) => T | undefined,
    item: (element: Item) => T,
    { min = 0 } = {},
  ): T[] {
    const value = this.raw(name);
    if (!Array.isArray(value) || value.length > max || value.length < min) {
      return this.list(name, max, item, { min });
    }
    const array = value as unknown[];
    const out: T[] = new Array(array.length);
    for (let i = 0; i < array.length; i++) {
      const element = array[i];
      out[i] = fast(element) ?? item(new Item(element, `${this.pathOf(name)}[${i}]`, this.format));
    }
    return out;
  }

  optionalList<T>(name: string, max: number, item: (element: Item) => T): T[] | undefined {
    return this.has(name) ? this.list(name, max, item) : undefined;
  }

  /** The string field `name`, which must be one of `choices`. */
  choice<T extends string>(name: string, choices: readonly T[]): T {
    const value = this.raw(name);
    if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
      if (value === undefined) this.fail(name, `is required (one of ${choices.join(', ')})`);
      this.fail(name, `must be one of ${choices.join(', ')}, got ${describeForError(value)}`);
    }
    return value as T;
  }
}

/** One element of an array field. */
export class Item {
  readonly value: unknown;
  readonly path: string;
  readonly format: WireFormat;

  constructor(value: unknown, path: string, format: WireFormat) {
    this.value = value;
    this.path = path;
    this.format = format;
  }

  map(what = 'a map'): Fields {
    return Fields.of(this.value, this.path, this.format, what);
  }

  string({ min = 0, max = Number.MAX_SAFE_INTEGER }: IntRange = {}): string {
    if (typeof this.value !== 'string') {
      throw fieldError(this.path, `must be a string, got ${describeValue(this.value)}`);
    }
    if (this.value.length < min) throw fieldError(this.path, 'must not be empty');
    if (this.value.length > max) throw fieldError(this.path, `must have at most ${max} characters`);
    return this.value;
  }
}

/** `value` if it is a map as MessagePack and JSON decoders build them (a plain object), else undefined. */
export function asPlainObject(value: unknown): Record<string, unknown> | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  return Object.getPrototypeOf(value) === Object.prototype ? (value as Record<string, unknown>) : undefined;
}

export function toSafeInteger(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : undefined;
  if (typeof value === 'bigint') {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(value)
      : undefined;
  }
  return undefined;
}

function toBytes(value: unknown, format: WireFormat): Uint8Array | undefined {
  if (format === 'json') return typeof value === 'string' ? (decodeBase64(value) ?? undefined) : undefined;
  return value instanceof Uint8Array ? value : undefined;
}

function describeForError(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
  return describeValue(value);
}
