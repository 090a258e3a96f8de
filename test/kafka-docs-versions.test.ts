/**
 * docs/kafka.md's "Supported APIs" table says exactly what the server advertises: every API key
 * with its version range, as a live server answers ApiVersions (v3, flexible) and (v0).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiName } from '../src/protocol/kafka/requests/index.js';
import { type KafkaTestServer, RawKafka, startKafkaServer, tempDir } from './kafka-harness.js';

interface Row {
  readonly name: string;
  readonly apiKey: number;
  readonly minVersion: number;
  readonly maxVersion: number;
}

/** The rows of the table under "## Supported APIs": `| Name (key) | min–max or v | notes |`. */
function documentedApis(markdown: string): Row[] {
  const section = markdown.split(/^## Supported APIs$/m)[1]?.split(/^## /m)[0] ?? '';
  const rows: Row[] = [];
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((cell) => cell.trim());
    const api = /^(\w+) \((\d+)\)$/.exec(cells[1] ?? '');
    if (api === null) continue;
    const range = /^(\d+)(?:–(\d+))?$/.exec(cells[2] ?? '');
    expect(range, `versions of ${cells[1]}: "${cells[2]}"`).not.toBeNull();
    rows.push({
      name: api[1]!,
      apiKey: Number(api[2]),
      minVersion: Number(range![1]),
      maxVersion: Number(range![2] ?? range![1]),
    });
  }
  return rows.sort((a, b) => a.apiKey - b.apiKey);
}

let dir: Awaited<ReturnType<typeof tempDir>>;
let server: KafkaTestServer;

beforeAll(async () => {
  dir = await tempDir('tributary-kafka-docs-');
  server = await startKafkaServer(dir.path);
});

afterAll(async () => {
  await server.close();
  await dir.remove();
});

describe('docs/kafka.md Supported APIs', () => {
  it('lists every advertised API with its exact version range, and nothing else', async () => {
    const documented = documentedApis(readFileSync(new URL('../docs/kafka.md', import.meta.url), 'utf8'));
    expect(documented.length).toBeGreaterThan(20);
    const client = await RawKafka.open(server.kafka.port);
    try {
      for (const version of [0, 3]) {
        const answer = await client.call('ApiVersions', version, {
          clientSoftwareName: 'docs-test',
          clientSoftwareVersion: '1',
        });
        const advertised = answer.apiKeys
          .map(({ apiKey, minVersion, maxVersion }) => ({
            name: apiName(apiKey) ?? '?',
            apiKey,
            minVersion,
            maxVersion,
          }))
          .sort((a, b) => a.apiKey - b.apiKey);
        expect(documented, `ApiVersions v${version}`).toEqual(advertised);
      }
    } finally {
      client.close();
    }
  });
});
