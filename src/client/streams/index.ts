/**
 * @module client/streams
 * Event streams in the SDK: `client.streams` (docs/event-sourcing.md).
 */
export { ClientEventStreams } from './streams.js';
