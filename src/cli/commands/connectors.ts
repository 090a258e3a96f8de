/**
 * @module cli/commands/connectors
 * `tributary connectors list|create|show|pause|resume|delete`: connector administration over the
 * HTTP API (`/v1/connectors`, docs/connectors.md). A connector is created from flags (`--type`,
 * `--config` JSON, `--set field=value`) or from a JSON spec file (`--file`, `-` for stdin);
 * flags given beside a file override its fields.
 *
 * @example
 * tributary connectors create orders-to-pg --type postgres-sink \
 *   --set topics='["orders"]' --set connectionString=postgres://postgres@127.0.0.1/test --set table=orders
 * tributary connectors create --file orders-cdc.json
 * tributary connectors list
 * tributary connectors pause orders-to-pg
 */
import { readFileSync } from 'node:fs';
import { type Command, InvalidArgumentError } from 'commander';
import type { ConnectorStatus } from '../../connectors/types.js';
import { addUrlOption, apiRequest, CliError, EXIT_USAGE, type ServerOptions } from '../api.js';
import { table } from '../format.js';

interface CreateOptions extends ServerOptions {
  readonly type?: string;
  readonly config?: string;
  readonly set: readonly string[];
  readonly file?: string;
  readonly json?: boolean;
}

type JsonOption = ServerOptions & { json?: boolean };

export function registerConnectorsCommand(program: Command): void {
  const connectors = program
    .command('connectors')
    .description('Create, list, show, pause, resume and delete connectors (docs/connectors.md).');

  addUrlOption(
    connectors
      .command('list')
      .description('List the connectors with their state, position and lag.')
      .option('--json', 'print the statuses as JSON'),
  ).action(async (options: JsonOption) => {
    const { connectors: list } = await apiRequest<{ connectors: ConnectorStatus[] }>(
      options.server,
      'GET',
      '/v1/connectors',
    );
    if (options.json) return print(JSON.stringify(list, null, 2));
    if (list.length === 0) return print('No connectors.');
    print(
      table(
        ['NAME', 'TYPE', 'STATE', 'POSITION', 'LAG', 'RECORDS', 'ERROR'],
        list.map((status) => [
          status.name,
          status.type,
          status.state,
          status.position ?? '-',
          status.lag === null ? '-' : String(status.lag),
          String(status.records),
          status.error === undefined ? '' : `${status.error.code}: ${status.error.message}`,
        ]),
      ),
    );
  });

  addUrlOption(
    connectors
      .command('create [name]')
      .description('Create a connector from flags or from a JSON spec file {"name", "type", "config"}.')
      .option('--type <type>', 'connector type, e.g. postgres-cdc, postgres-sink, redis-sink, webhook-sink')
      .option('--config <json>', 'the config as one JSON object')
      .option(
        '--set <field=value>',
        'one config field (repeatable); the value is read as JSON when it parses, else as text',
        (value: string, previous: readonly string[]) => [...previous, value],
        [] as readonly string[],
      )
      .option('-f, --file <file>', 'a JSON spec file ("-" reads stdin); flags override its fields')
      .option('--json', 'print the status as JSON'),
  ).action(async (name: string | undefined, options: CreateOptions) => {
    const spec = specFromOptions(name, options);
    const status = await apiRequest<ConnectorStatus>(options.server, 'POST', '/v1/connectors', spec);
    if (options.json) return print(JSON.stringify(status, null, 2));
    print(`Created connector "${status.name}" (${status.type}, ${status.kind}): ${status.state}.`);
  });

  addUrlOption(
    connectors
      .command('show <name>')
      .description("Show one connector's status.")
      .option('--json', 'print the status as JSON'),
  ).action(async (name: string, options: JsonOption) => {
    const status = await apiRequest<ConnectorStatus>(options.server, 'GET', connectorPath(name));
    print(options.json ? JSON.stringify(status, null, 2) : describeStatus(status));
  });

  for (const [verb, past, doc] of [
    ['pause', 'Paused', 'Stop moving data, keeping the position.'],
    ['resume', 'Resumed', 'Go on from the kept position.'],
  ] as const) {
    addUrlOption(
      connectors.command(`${verb} <name>`).description(doc).option('--json', 'print the status as JSON'),
    ).action(async (name: string, options: JsonOption) => {
      const status = await apiRequest<ConnectorStatus>(
        options.server,
        'POST',
        `${connectorPath(name)}/${verb}`,
        {},
      );
      print(
        options.json
          ? JSON.stringify(status, null, 2)
          : `${past} connector "${status.name}": ${status.state}.`,
      );
    });
  }

  addUrlOption(
    connectors
      .command('delete <name>')
      .description(
        'Stop a connector, remove what it created outside (slot, publication, positions), forget it.',
      ),
  ).action(async (name: string, options: ServerOptions) => {
    await apiRequest<undefined>(options.server, 'DELETE', connectorPath(name));
    print(`Deleted connector "${name}".`);
  });
}

/** The spec to POST: the file's (if any), then `--type`, `--config` and each `--set` over it. */
export function specFromOptions(
  name: string | undefined,
  options: Pick<CreateOptions, 'type' | 'config' | 'set' | 'file'>,
  readStdin: () => string = () => readFileSync(0, 'utf8'),
): { name: string; type: string; config: Record<string, unknown> } {
  const base = options.file === undefined ? {} : readSpecFile(options.file, readStdin);
  const config: Record<string, unknown> = { ...objectField(base.config, `${options.file} "config"`) };
  if (options.config !== undefined) {
    Object.assign(config, objectField(parseJson(options.config, '--config'), '--config'));
  }
  for (const assignment of options.set) {
    const equals = assignment.indexOf('=');
    if (equals <= 0) throw usage(`--set needs field=value, got "${assignment}"`);
    const text = assignment.slice(equals + 1);
    let value: unknown = text;
    try {
      value = JSON.parse(text);
    } catch {
      // plain text: a URL, a table name
    }
    config[assignment.slice(0, equals)] = value;
  }
  const specName = name ?? base.name;
  const type = options.type ?? base.type;
  if (typeof specName !== 'string' || specName === '')
    throw usage('a connector name is needed (argument or "name" in --file)');
  if (typeof type !== 'string' || type === '')
    throw usage('a connector type is needed (--type or "type" in --file)');
  return { name: specName, type, config };
}

function readSpecFile(file: string, readStdin: () => string): Record<string, unknown> {
  let text: string;
  try {
    text = file === '-' ? readStdin() : readFileSync(file, 'utf8');
  } catch (error) {
    throw usage(`cannot read ${file}: ${(error as Error).message}`);
  }
  return objectField(parseJson(text, file), file);
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw usage(`${where} is not valid JSON: ${(error as Error).message}`);
  }
}

function objectField(value: unknown, where: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw usage(`${where} must be a JSON object`);
  return value as Record<string, unknown>;
}

function usage(message: string): CliError {
  return new CliError(message, EXIT_USAGE);
}

function describeStatus(status: ConnectorStatus): string {
  const lines = [
    `Connector: ${status.name}`,
    `  type: ${status.type} (${status.kind})`,
    `  state: ${status.state}`,
    `  position: ${status.position ?? '-'}`,
    `  lag: ${status.lag ?? '-'}`,
    `  records: ${status.records}`,
  ];
  if (status.snapshot !== undefined) {
    lines.push(`  snapshot: ${status.snapshot.rowsDone} of ${status.snapshot.rowsTotal ?? '?'} rows`);
  }
  if (status.resets !== undefined) lines.push(`  resets: ${status.resets}`);
  if (status.alarm !== undefined) lines.push(`  alarm: ${status.alarm.reason}`);
  if (status.error !== undefined) lines.push(`  error: ${status.error.code}: ${status.error.message}`);
  return lines.join('\n');
}

function connectorPath(name: string): string {
  if (name.trim() === '') throw new InvalidArgumentError('The connector name must not be empty.');
  return `/v1/connectors/${encodeURIComponent(name)}`;
}

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}
