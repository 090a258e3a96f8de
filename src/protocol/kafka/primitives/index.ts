/**
 * @module protocol/kafka/primitives
 * Building blocks of every Kafka codec: byte cursor and writer, varints, CRC-32C, murmur2.
 */

export { ByteReader } from './byte-reader.js';
export { ByteWriter } from './byte-writer.js';
export { crc32c } from './crc32c.js';
export { kafkaPartition, murmur2 } from './murmur2.js';
export { putUtf8, utf8Length } from './utf8.js';
export {
  putUnsignedVarint,
  putVarint,
  putVarlong,
  unsignedVarintSize,
  varintSize,
  varlongSize,
  zigzag32,
} from './varint.js';
