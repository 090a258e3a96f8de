/**
 * @module connectors/sinks/config-fields
 * Readers for the fields of a sink's `config` object: each returns the checked value or throws
 * `TributaryError('INVALID_ARGUMENT')` naming the field (`config.table must be …`), so every sink
 * refuses bad settings the same way before anything connects.
 */
import { TributaryError } from '../../errors.js';

export type ConfigObject = Readonly<Record<string, unknown>>;

function invalid(field: string, expected: string): TributaryError {
  return new TributaryError('INVALID_ARGUMENT', { reason: `config.${field} must be ${expected}` });
}

export function configObject(config: unknown): ConfigObject {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new TributaryError('INVALID_ARGUMENT', { reason: 'config must be an object' });
  }
  return config as ConfigObject;
}

/** Refuses fields the sink does not know, so a typo is an error rather than a silent default. */
export function refuseUnknownFields(config: ConfigObject, known: readonly string[]): void {
  for (const field of Object.keys(config)) {
    if (!known.includes(field)) {
      throw new TributaryError('INVALID_ARGUMENT', {
        reason: `config.${field} is not a setting of this connector (known: ${known.join(', ')})`,
      });
    }
  }
}

export function requiredString(config: ConfigObject, field: string): string {
  const value = config[field];
  if (typeof value !== 'string' || value.length === 0) throw invalid(field, 'a non-empty string');
  return value;
}

export function optionalString(config: ConfigObject, field: string): string | undefined {
  return config[field] === undefined ? undefined : requiredString(config, field);
}

export function optionalInteger(
  config: ConfigObject,
  field: string,
  min: number,
  max: number,
  fallback: number,
): number {
  const value = config[field];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(field, `an integer from ${min} to ${max}`);
  }
  return value;
}

export function optionalChoice<T extends string>(
  config: ConfigObject,
  field: string,
  choices: readonly T[],
  fallback: T,
): T {
  const value = config[field];
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
    throw invalid(field, `one of ${choices.map((choice) => `'${choice}'`).join(', ')}`);
  }
  return value as T;
}

export function optionalStringList(config: ConfigObject, field: string): readonly string[] | undefined {
  const value = config[field];
  if (value === undefined) return undefined;
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    !value.every((item): item is string => typeof item === 'string' && item.length > 0)
  ) {
    throw invalid(field, 'a non-empty array of non-empty strings');
  }
  return value;
}

export function optionalStringMap(config: ConfigObject, field: string): Readonly<Record<string, string>> {
  const value = config[field];
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalid(field, 'an object of strings');
  for (const item of Object.values(value)) {
    if (typeof item !== 'string') throw invalid(field, 'an object of strings');
  }
  return value as Record<string, string>;
}
