/**
 * @module protocol/kafka/record-batch
 * Kafka RecordBatch v2: encode, read the header, check the CRC, decode records.
 */

export * from './record-batch.js';
