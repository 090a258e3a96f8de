/**
 * @module connectors/postgres-cdc/lsn
 * Postgres log sequence numbers (`16/B374D848`: two 32-bit hex halves) as bigints, to compare
 * and subtract them.
 */
import { TributaryError } from '../../errors.js';

export function parseLsn(text: string): bigint {
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text);
  if (match === null)
    throw new TributaryError('MALFORMED_DATA', { what: 'LSN', reason: `"${text}" is not hi/lo hex` });
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

export function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}
