/**
 * Renders the settings table of `docs/http-api.md` ("Settings and limits") from
 * `SERVER_SETTINGS` and `SETTING_RELATIONS`; `server-settings.test.ts` fails when the docs
 * differ. To regenerate the block after changing the table:
 *
 *     npx tsx -e "import('./test/settings-doc.ts').then((m) => console.log(m.settingsMarkdown()))"
 */
import { SETTING_NAMES, SETTING_RELATIONS, type SettingSpec, settingSpec } from '../src/server/settings.js';

export const BEGIN_MARKER =
  '<!-- settings table: generated from SERVER_SETTINGS, see test/settings-doc.ts -->';
export const END_MARKER = '<!-- end of settings table -->';

const GROUP_TITLES = {
  server: 'Process',
  http: 'HTTP API and SSE',
  ws: 'WebSocket ([protocol.md](protocol.md#limits))',
  kafka: 'Kafka ([kafka.md](kafka.md))',
  socketio: 'Socket.IO endpoint ([socket.io.md](socket.io.md#limits-and-slow-clients))',
  mqtt: 'MQTT ([mqtt.md](mqtt.md))',
} as const;

/** The block between the markers (markers excluded). */
export function settingsMarkdown(): string {
  const lines: string[] = [];
  for (const group of ['server', 'http', 'ws', 'kafka', 'socketio', 'mqtt'] as const) {
    lines.push('', `**${GROUP_TITLES[group]}**`, '');
    lines.push('| setting | flag | env | default | range | what |', '|---|---|---|---|---|---|');
    for (const name of SETTING_NAMES) {
      const spec = settingSpec(name);
      if (spec.group !== group) continue;
      const flag = spec.short === undefined ? `\`${spec.flag}\`` : `\`${spec.flag}\`, \`${spec.short}\``;
      lines.push(
        `| \`${name}\` | ${flag} | \`${spec.env}\` | ${defaultText(spec)} | ${rangeCell(spec)} | ${spec.doc} |`,
      );
    }
  }
  lines.push('', 'Rules between settings, checked at start-up (`INVALID_SETTING` when one is broken):', '');
  for (const relation of SETTING_RELATIONS) lines.push(`- ${relation.rule}`);
  return `${lines.join('\n')}\n`;
}

function defaultText(spec: SettingSpec): string {
  if (typeof spec.default === 'string') return spec.default === '' ? '(empty)' : `\`${spec.default}\``;
  if (typeof spec.default === 'boolean') return `\`${spec.default}\``;
  if (typeof spec.default !== 'number') {
    return spec.default.length === 0 ? '(empty)' : spec.default.map((item) => `\`${item}\``).join(', ');
  }
  return amount(spec.default, spec.unit);
}

function rangeCell(spec: SettingSpec): string {
  if (!('min' in spec)) return '';
  return `${amount(spec.min, spec.unit)} … ${amount(spec.max, spec.unit)}`;
}

/** `16 MiB`, `60 000 ms`, `100 000`. */
function amount(value: number, unit: SettingSpec['unit']): string {
  if (unit === 'bytes' && value >= 1024) {
    for (const [size, suffix] of [
      [1024 * 1024 * 1024, 'GiB'],
      [1024 * 1024, 'MiB'],
      [1024, 'KiB'],
    ] as const) {
      if (value % size === 0) return `${value / size} ${suffix}`;
    }
  }
  const digits = unit === 'port' ? String(value) : String(value).replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
  return unit === 'ms' ? `${digits} ms` : digits;
}
