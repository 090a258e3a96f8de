/**
 * @module server/front/ws/limits
 * The named limits of the WebSocket front end: the `ws*` settings of `server/settings.ts`
 * (`SERVER_SETTINGS`, with their defaults, ranges and doc lines; `docs/protocol.md` "Limits").
 * `tributary serve` sets them from flags, variables or the config file; tests shrink them
 * through `attachWebSocketFrontEnd`'s `limits`.
 */
import { frontEndSettings, type ServerConfig, type SettingNameOf } from '../../settings.js';

export type WsFrontEndLimits = Pick<ServerConfig, SettingNameOf<'ws'>>;

const WS_SETTINGS = frontEndSettings('ws');

export const WS_SETTING_NAMES: readonly SettingNameOf<'ws'>[] = WS_SETTINGS.names;

export const WS_FRONT_END_DEFAULTS: WsFrontEndLimits = WS_SETTINGS.defaults;

/** The defaults with `partial` applied, checked (`INVALID_SETTING` for a bad or unknown one). */
export function resolveLimits(partial: Partial<WsFrontEndLimits> = {}): WsFrontEndLimits {
  return WS_SETTINGS.resolve(partial);
}
