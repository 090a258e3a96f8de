/**
 * Command-line options of the bench scripts and probes: `--name value` pairs read from `argv`
 * (the arguments after `--`), with an error naming the option when its value is missing or wrong.
 */

/** The value after `name` (`--rate 20`), or undefined when `name` is absent. */
export function optionValue(argv: readonly string[], name: string): string | undefined {
  const index = argv.indexOf(name);
  if (index === -1) return undefined;
  const value = argv[index + 1];
  if (value === undefined || value.startsWith('--')) throw new Error(`${name} needs a value`);
  return value;
}

/** `value`, given after `name`, as a positive number. */
export function positiveNumber(name: string, value: string | undefined): number {
  const parsed = Number(value);
  if (value === undefined || !Number.isFinite(parsed) || parsed <= 0)
    throw new Error(`${name} needs a positive number`);
  return parsed;
}

/** The positive number after `name`, or `fallback` when `name` is absent. */
export function numberOption(argv: readonly string[], name: string, fallback: number): number {
  const value = optionValue(argv, name);
  return value === undefined ? fallback : positiveNumber(name, value);
}
