/**
 * @module cli/commands/data
 * `tributary data verify|repair|rebuild-metadata`: the operator's tools for a data directory,
 * run while no server holds it (they take its LOCK, and refuse when a live process has it).
 * The server never deletes or truncates damaged data by itself (docs/FORMAT.md, "Damage"):
 * these commands show the damage, and change the files only when told to.
 *
 * @example
 * tributary data verify --data ./data
 * tributary data repair --data ./data --topic orders --partition 1                  # shows the plan
 * tributary data repair --data ./data --topic orders --partition 1 --truncate-to-last-valid
 * tributary data rebuild-metadata --data ./data --topic orders --compact
 */
import type { Command } from 'commander';
import { addTopicConfigOptions, intParser } from '../api.js';

export interface RepairOptions {
  readonly data: string;
  readonly topic: string;
  readonly partition: number;
  readonly truncateToLastValid?: boolean;
}

export interface RebuildOptions {
  readonly data: string;
  readonly topic: string;
  readonly partitions?: number;
  readonly compact?: boolean;
  readonly fsync?: 'always' | 'interval' | 'never';
  readonly retentionMs?: number;
  readonly retentionBytes?: number;
  readonly segmentBytes?: number;
}

/** The tools load on use: `tributary --help` and the other commands start without the log's modules. */
const tools = (): Promise<typeof import('./data-tools.js')> => import('./data-tools.js');

export function registerDataCommand(program: Command): void {
  const data = program
    .command('data')
    .description('Verify, repair and restore a data directory offline (while no server holds it).');

  data
    .command('verify')
    .description(
      'Check every batch CRC, index and segment boundary of every partition and report damage. Read-only; ' +
        'exits 1 when damage is found.',
    )
    .requiredOption('--data <dir>', 'the data directory')
    .action(async (options: { data: string }) => {
      await (await tools()).verifyCommand(options.data);
    });

  data
    .command('repair')
    .description(
      "Show where a damaged partition's last valid batch ends and what truncating there drops; " +
        'with --truncate-to-last-valid, do it.',
    )
    .requiredOption('--data <dir>', 'the data directory')
    .requiredOption('--topic <name>', 'the topic')
    .requiredOption('--partition <n>', 'the partition', intParser(0, 'The partition'))
    .option(
      '--truncate-to-last-valid',
      'truncate the partition after its last valid batch, dropping everything after it',
    )
    .action(async (options: RepairOptions) => {
      await (await tools()).repairCommand(options);
    });

  addTopicConfigOptions(data.command('rebuild-metadata'))
    .description(
      'Write a new topic.json for a topic whose topic.json is missing or unreadable: the partition count from its partition directories, the other settings from these flags or the defaults.',
    )
    .requiredOption('--data <dir>', 'the data directory')
    .requiredOption('--topic <name>', 'the topic')
    .option(
      '--partitions <n>',
      'partition count (default: the partition directories found)',
      intParser(1, 'The partition count'),
    )
    .option('--segment-bytes <n>', 'segment file size', intParser(1, 'The segment size'))
    .action(async (options: RebuildOptions) => {
      await (await tools()).rebuildMetadataCommand(options);
    });
}
