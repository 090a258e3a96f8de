/**
 * @module server/front/ws/limits
 * The named limits of the WebSocket front end: the `ws*` settings of `server/settings.ts`
 * (`SERVER_SETTINGS`, with their defaults, ranges and doc lines; `docs/protocol.md` "Limits").
 * `tributary serve` sets them from flags, variables or the config file; tests shrink them
 * through `attachWebSocketFrontEnd`'s `limits`.
 */
import {
  DEFAULT_SERVER_CONFIG,
  pickSettings,
  resolveGroupSettings,
  type ServerConfig,
  type SettingNameOf,
  settingNamesOf,
} from '../../settings.js';

export type WsFrontEndLimits = Pick<ServerConfig, SettingNameOf<'ws'>>;

export const WS_SETTING_NAMES: readonly SettingNameOf<'ws'>[] = settingNamesOf('ws');

export const WS_FRONT_END_DEFAULTS: WsFrontEndLimits = pickSettings(DEFAULT_SERVER_CONFIG, WS_SETTING_NAMES);

/** The defaults with `partial` applied, checked (`INVALID_SETTING` for a bad or unknown one). */
export function resolveLimits(partial: Partial<WsFrontEndLimits> = {}): WsFrontEndLimits {
  return resolveGroupSettings(WS_SETTING_NAMES, partial);
}
