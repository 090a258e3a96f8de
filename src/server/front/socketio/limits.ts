/**
 * @module server/front/socketio/limits
 * The named limits of the Socket.IO endpoint: the `socketio*` settings of `server/settings.ts`
 * (defaults, ranges and doc lines there; docs/socket.io.md, "Limits").
 */
import { frontEndSettings, type ServerConfig, type SettingNameOf } from '../../settings.js';

export type SocketIoLimits = Pick<ServerConfig, SettingNameOf<'socketio'>>;

const SOCKETIO_SETTINGS = frontEndSettings('socketio');

export const SOCKETIO_SETTING_NAMES: readonly SettingNameOf<'socketio'>[] = SOCKETIO_SETTINGS.names;

export const SOCKETIO_DEFAULTS: SocketIoLimits = SOCKETIO_SETTINGS.defaults;

/** Longest room name, in UTF-16 code units (a room is a record key). */
export const ROOM_NAME_LENGTH_MAX = 1024;

/** Records a socket's subscription may be handed at once (its send buffer is checked between them). */
export const DELIVERY_CREDIT_RECORDS = 128;

/** The defaults with `partial` applied, checked (`INVALID_SETTING` for a bad or unknown one). */
export function resolveSocketIoLimits(partial: Partial<SocketIoLimits> = {}): SocketIoLimits {
  return SOCKETIO_SETTINGS.resolve(partial);
}
