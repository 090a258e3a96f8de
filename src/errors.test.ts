import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE, type ErrorCode, isTributaryError, TributaryError } from './errors.js';

interface DocRow {
  readonly code: string;
  readonly httpStatus: number;
  readonly kafkaCode: number;
  readonly retriable: boolean;
  readonly message: string;
  readonly when: string;
}

const COLUMNS = ['Code', 'HTTP', 'Kafka', 'Retriable', 'Message', 'When'];

/** The rows of the one table in docs/errors.md; throws on a malformed table. */
function parseErrorsDoc(markdown: string): DocRow[] {
  const lines = markdown.split('\n').filter((line) => line.trim().startsWith('|'));
  const cells = (line: string): string[] =>
    line
      .trim()
      .replace(/^\||\|$/g, '')
      .split('|')
      .map((cell) => cell.trim());
  const [header, separator, ...rows] = lines;
  if (header === undefined || separator === undefined) throw new Error('docs/errors.md has no table');
  expect(cells(header)).toEqual(COLUMNS);
  const unquote = (cell: string): string => cell.replace(/^`(.*)`$/, '$1');
  return rows.map((line) => {
    const row = cells(line);
    expect(row, line).toHaveLength(COLUMNS.length);
    const [code, http, kafka, retriable, message, when] = row as [
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    expect(['yes', 'no'], `retriable of ${code}`).toContain(retriable);
    return {
      code: unquote(code),
      httpStatus: Number(http),
      kafkaCode: Number(kafka),
      retriable: retriable === 'yes',
      message: unquote(message),
      when,
    };
  });
}

describe('docs/errors.md', () => {
  const rows = parseErrorsDoc(readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8'));
  const codes = Object.keys(ERROR_CATALOGUE) as ErrorCode[];

  it('has one row per catalogue code, no more', () => {
    const documented = rows.map((row) => row.code);
    expect(new Set(documented).size, 'a code is documented twice').toBe(documented.length);
    expect([...documented].sort()).toEqual([...codes].sort());
  });

  it.each(codes)('documents %s exactly as the catalogue defines it', (code) => {
    const row = rows.find((r) => r.code === code);
    const spec = ERROR_CATALOGUE[code];
    expect(row).toBeDefined();
    expect({
      httpStatus: row?.httpStatus,
      kafkaCode: row?.kafkaCode,
      retriable: row?.retriable,
      message: row?.message,
    }).toEqual({
      httpStatus: spec.httpStatus,
      kafkaCode: spec.kafkaCode,
      retriable: spec.retriable,
      message: spec.message,
    });
    expect(row?.when.length, `the "When" column of ${code} is empty`).toBeGreaterThan(10);
  });
});

describe('ERROR_CATALOGUE', () => {
  it('uses HTTP status codes and Kafka codes (-1 is UNKNOWN_SERVER_ERROR)', () => {
    for (const spec of Object.values(ERROR_CATALOGUE)) {
      expect(spec.httpStatus).toBeGreaterThanOrEqual(200);
      expect(spec.httpStatus).toBeLessThan(600);
      expect(Number.isInteger(spec.kafkaCode) && spec.kafkaCode >= -1).toBe(true);
    }
  });
});

describe('TributaryError', () => {
  it('fills the message template from the details', () => {
    const error = new TributaryError('OFFSET_OUT_OF_RANGE', {
      offset: 3,
      topic: 'orders',
      partition: 0,
      earliest: 10,
      next: 42,
    });
    expect(error.message).toBe('Offset 3 is outside orders/0 (earliest 10, next 42)');
  });

  it('keeps placeholders that have no detail, and formats null and booleans', () => {
    expect(new TributaryError('TOPIC_NOT_FOUND').message).toBe('Topic "{topic}" does not exist');
    expect(new TributaryError('MALFORMED_DATA', { what: null, reason: false }).message).toBe(
      'Malformed null: false',
    );
    expect(new TributaryError('MALFORMED_DATA', { what: 'frame', reason: undefined }).message).toBe(
      'Malformed frame: {reason}',
    );
  });

  it('does not expand placeholders found inside detail values', () => {
    const error = new TributaryError('INVALID_TOPIC_NAME', { topic: '{reason}', reason: 'it has braces' });
    expect(error.message).toBe('Topic name "{reason}" is invalid: it has braces');
  });

  it('carries code, details, transport mapping and cause', () => {
    const cause = new Error('EIO');
    const details = { reason: 'disk full' };
    const error = new TributaryError('STORAGE_ERROR', details, { cause });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('TributaryError');
    expect(error.code).toBe('STORAGE_ERROR');
    expect(error.details).toEqual(details);
    expect(error.cause).toBe(cause);
    expect([error.httpStatus, error.kafkaCode, error.retriable]).toEqual([500, 56, true]);
  });

  it('is recognised by isTributaryError, optionally by code', () => {
    const error = new TributaryError('LOG_CLOSED');
    expect(isTributaryError(error)).toBe(true);
    expect(isTributaryError(error, 'LOG_CLOSED')).toBe(true);
    expect(isTributaryError(error, 'TOPIC_NOT_FOUND')).toBe(false);
    expect(isTributaryError(new Error('LOG_CLOSED'))).toBe(false);
    expect(isTributaryError({ code: 'LOG_CLOSED' })).toBe(false);
  });
});

describe('Kafka codes', () => {
  it("Kafka's INVALID_TXN_STATE (48) has one Tributary code, whichever side refuses", () => {
    const codes = Object.entries(ERROR_CATALOGUE)
      .filter(([, spec]) => spec.kafkaCode === 48)
      .map(([code]) => code);
    expect(codes).toEqual(['INVALID_TXN_STATE']);
    expect(
      new TributaryError('INVALID_TXN_STATE', {
        what: 'Transaction of "t" is Empty',
        reason: 'cannot commit',
      }).message,
    ).toBe('Transaction of "t" is Empty: cannot commit');
  });
});
