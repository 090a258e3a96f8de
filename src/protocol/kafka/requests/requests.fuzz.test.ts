import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TributaryError } from '../../../errors.js';
import { KafkaFrameDecoder } from '../frame.js';
import { requestHeaderSize, requestHeaderVersion } from '../request-header.js';
import { arbitraryOf, sampleOf } from '../testing/arbitrary.js';
import {
  type ApiVersionCodec,
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  KAFKA_APIS,
  type KafkaApiName,
} from './index.js';

/** The codecs of one version, with the body types erased (tests walk every API alike). */
function codecOf(api: KafkaApiName, version: number): ApiVersionCodec<unknown, unknown> {
  const codec = KAFKA_APIS[api].versions[version];
  if (codec === undefined) throw new Error(`${api} v${version} is not implemented`);
  return codec as ApiVersionCodec<unknown, unknown>;
}

const NAMES = Object.keys(KAFKA_APIS) as KafkaApiName[];
const CASES = NAMES.flatMap((api) =>
  KAFKA_APIS[api].versions.flatMap((codec) =>
    codec === undefined ? [] : [[`${api} v${codec.version}`, api, codec.version] as const],
  ),
);

/** Runs `fn`: a value or a TributaryError are fine, any other exception fails the test. */
function valueOrTributaryError(fn: () => unknown): unknown {
  try {
    return fn();
  } catch (err) {
    if (!(err instanceof TributaryError)) throw err;
    return err;
  }
}

function requestPayload(api: KafkaApiName, version: number, body: unknown): Uint8Array {
  return encodeRequest(
    api,
    { apiVersion: version, correlationId: 1, clientId: 'fuzz' },
    body as never,
  ).subarray(4);
}

function responsePayload(api: KafkaApiName, version: number, body: unknown): Uint8Array {
  return encodeResponse(api, { apiVersion: version, correlationId: 1 }, body as never).subarray(4);
}

/** Decodes a request and, when that works, encodes it again (which may refuse, e.g. U+FFFD growth). */
function decodeAndReencodeRequest(payload: Uint8Array): void {
  const decoded = valueOrTributaryError(() => decodeRequest(payload));
  if (decoded instanceof TributaryError) return;
  const { api, header, body } = decoded as ReturnType<typeof decodeRequest>;
  valueOrTributaryError(() => encodeRequest(api, header, body as never));
}

const mutation = fc.record({
  at: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
  bytes: fc.uint8Array({ minLength: 1, maxLength: 4 }),
});

function mutate(payload: Uint8Array, edits: readonly { at: number; bytes: Uint8Array }[]): Uint8Array {
  const out = payload.slice();
  for (const { at, bytes } of edits) {
    const p = Math.floor(at * out.length);
    for (let i = 0; i < bytes.length && p + i < out.length; i++) out[p + i] = bytes[i]!;
  }
  return out;
}

describe.each(CASES)('%s decoders (fuzz)', (_, api, version) => {
  const codec = codecOf(api, version);
  const apiKey = KAFKA_APIS[api].apiKey;

  it('random bodies after a valid header: a value or a TributaryError', () => {
    const header = requestPayload(api, version, sampleOf(codec.request, 'empty'));
    const headerEnd = requestHeaderSize(
      { apiKey, apiVersion: version, correlationId: 1, clientId: 'fuzz' },
      requestHeaderVersion(apiKey, version),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), (body) => {
        const payload = new Uint8Array(headerEnd + body.length);
        payload.set(header.subarray(0, headerEnd));
        payload.set(body, headerEnd);
        decodeAndReencodeRequest(payload);
        valueOrTributaryError(() => decodeResponse(api, version, body));
      }),
      { numRuns: 150 },
    );
  });

  it('truncated valid frames: always a TributaryError', () => {
    fc.assert(
      fc.property(arbitraryOf(codec.request), arbitraryOf(codec.response), fc.nat(), (req, res, cut) => {
        for (const [payload, decode] of [
          [requestPayload(api, version, req), (p: Uint8Array) => decodeRequest(p)],
          [responsePayload(api, version, res), (p: Uint8Array) => decodeResponse(api, version, p)],
        ] as const) {
          const truncated = payload.subarray(0, cut % payload.length);
          expect(valueOrTributaryError(() => decode(truncated))).toBeInstanceOf(TributaryError);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('mutated valid frames: a value or a TributaryError', () => {
    fc.assert(
      fc.property(
        arbitraryOf(codec.request),
        arbitraryOf(codec.response),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        (req, res, edits) => {
          decodeAndReencodeRequest(mutate(requestPayload(api, version, req), edits));
          valueOrTributaryError(() =>
            decodeResponse(api, version, mutate(responsePayload(api, version, res), edits)),
          );
        },
      ),
      { numRuns: 150 },
    );
  });

  it('a huge length or count at any position fails fast, without allocating it', () => {
    const request = requestPayload(api, version, sampleOf(codec.request, 'full'));
    const response = responsePayload(api, version, sampleOf(codec.response, 'full'));
    for (const payload of [request, response]) {
      for (let p = 0; p + 4 <= payload.length; p++) {
        for (const lie of [0x7fffffff, 0x7fff0000, 0x0fffffff]) {
          const bad = payload.slice();
          new DataView(bad.buffer).setInt32(p, lie);
          decodeAndReencodeRequest(bad);
          valueOrTributaryError(() => decodeResponse(api, version, bad));
        }
      }
    }
  });
});

describe('whole pipeline (fuzz)', () => {
  it('a byte stream of valid and corrupt frames, cut anywhere: frames, values or TributaryErrors', () => {
    const anyRequest = fc
      .constantFrom(...CASES)
      .chain(([, api, version]) =>
        arbitraryOf(codecOf(api, version).request).map((body) =>
          encodeRequest(api, { apiVersion: version, correlationId: 9, clientId: null }, body as never),
        ),
      );
    fc.assert(
      fc.property(
        fc.array(fc.oneof(anyRequest, fc.uint8Array({ maxLength: 40 })), { maxLength: 5 }),
        fc.integer({ min: 1, max: 64 }),
        (pieces, chunkBytes) => {
          const stream = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
          let q = 0;
          for (const p of pieces) {
            stream.set(p, q);
            q += p.length;
          }
          const frames = new KafkaFrameDecoder({ maxFrameBytes: 4096 });
          valueOrTributaryError(() => {
            for (let i = 0; i < stream.length; i += chunkBytes) {
              for (const payload of frames.push(stream.subarray(i, i + chunkBytes)))
                decodeAndReencodeRequest(payload);
            }
          });
        },
      ),
      { numRuns: 300 },
    );
  });
});
