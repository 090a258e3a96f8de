/**
 * webhook-sink against a real HTTP server on a free port: a receiver that fails (503, then a
 * dropped connection) and recovers gets every record, in order per partition, signed; a record the
 * receiver refuses (400), or that fails past `maxAttempts`, goes to the dead-letter topic with the
 * reason; without a dead-letter topic a 400 stops the partition at that record.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBroker } from '../src/broker/index.js';
import { eventually, text } from '../src/broker/testing/helpers.js';
import type { Broker } from '../src/broker/types.js';
import {
  verifyWebhookSignature,
  type WebhookBody,
  webhookSignature,
  webhookSinkFactory,
} from '../src/connectors/sinks/index.js';
import type { Connector } from '../src/connectors/types.js';
import { createMemoryLog } from '../src/log/memory/memory-log.js';
import { caughtUp, type TestContext, testContext, utf8 } from './sinks-helpers.js';

const SECRET = 'test-secret';

interface Received {
  readonly body: WebhookBody;
  /** The receiver answered 2xx. */
  accepted: boolean;
  readonly delivery: string | undefined;
  readonly signed: boolean;
}

describe('webhook-sink', () => {
  let broker: Broker;
  let server: Server;
  let url: string;
  let respond: (body: WebhookBody, req: IncomingMessage, res: ServerResponse) => void;
  const received: Received[] = [];
  const connectors: Connector[] = [];

  beforeEach(async () => {
    broker = await createBroker(createMemoryLog());
    received.length = 0;
    respond = (_body, _req, res) => res.writeHead(204).end();
    server = createServer((req, res) => {
      let raw = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => {
        raw += chunk;
      });
      req.on('end', () => {
        const body = JSON.parse(raw) as WebhookBody;
        const signature = req.headers['x-tributary-signature'];
        const entry: Received = {
          body,
          accepted: false,
          delivery: req.headers['x-tributary-delivery'] as string | undefined,
          signed: verifyWebhookSignature(SECRET, raw, typeof signature === 'string' ? signature : undefined),
        };
        received.push(entry);
        res.on('finish', () => {
          entry.accepted = res.statusCode >= 200 && res.statusCode < 300;
        });
        respond(body, req, res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });

  afterEach(async () => {
    for (const connector of connectors.splice(0)) await connector.stop();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await broker.close();
  });

  function sink(config: Record<string, unknown>): { connector: Connector; context: TestContext } {
    const checked = webhookSinkFactory.validate({
      url,
      secret: SECRET,
      retryInitialMs: 5,
      retryMaxMs: 50,
      ...config,
    });
    const context = testContext(broker);
    const connector = webhookSinkFactory.create(
      { name: 'hook', type: 'webhook-sink', config },
      checked,
      context,
    );
    connectors.push(connector);
    return { connector, context };
  }

  /** Deliveries the receiver answered with a 2xx. */
  function accepted(): WebhookBody[] {
    return received.filter((entry) => entry.accepted).map((entry) => entry.body);
  }

  it('refuses a bad config naming the field', () => {
    expect(() => webhookSinkFactory.validate({ topics: ['t'], url: 'ftp://x' })).toThrow(/config.url/);
    expect(() => webhookSinkFactory.validate({ topics: ['t'], url, maxAttempts: 0 })).toThrow(
      /config.maxAttempts/,
    );
    expect(() => webhookSinkFactory.validate({ topics: ['t'], url, headers: { a: 1 } })).toThrow(
      /config.headers/,
    );
  });

  it('a receiver that fails and recovers gets every record, in order per partition, signed', async () => {
    await broker.createTopic('events', { partitions: 2 });
    let failing = true;
    let drops = 0;
    respond = (_body, req, res) => {
      if (!failing) return void res.writeHead(200).end('ok');
      if (drops++ % 2 === 0) return void req.socket.destroy(); // a dropped connection
      res.writeHead(503).end();
    };
    const { connector, context } = sink({ topics: ['events'], maxAttempts: 3 });
    await connector.start();
    await broker.produce(
      'events',
      Array.from({ length: 40 }, (_, i) => ({ key: utf8(`k${i % 5}`), value: utf8(JSON.stringify({ i })) })),
    );
    await eventually(() => expect(connector.status().state).toBe('retrying'), 10_000);
    failing = false;
    await caughtUp(connector, broker, 'events', 20_000);
    expect(connector.status().state).toBe('running');
    expect(context.statuses.some((status) => status.state === 'retrying')).toBe(true);

    expect(received.some((entry) => !entry.accepted)).toBe(true);
    expect(received.every((entry) => entry.signed)).toBe(true);
    // Every record arrived (at least once), and per partition the first arrivals are in offset order.
    for (let partition = 0; partition < 2; partition++) {
      const { next } = await broker.offsets('events', partition);
      const offsets = accepted()
        .filter((body) => body.partition === partition)
        .map((body) => body.offset);
      const firsts = offsets.filter((offset, i) => offsets.indexOf(offset) === i);
      expect(firsts).toEqual(Array.from({ length: next }, (_, i) => i));
    }
    for (const entry of received) {
      expect(entry.delivery).toBe(`${entry.body.topic}/${entry.body.partition}/${entry.body.offset}`);
    }
    expect(accepted().find((body) => body.offset === 0)?.value).toMatch(/^\{"i":\d+\}$/);
  });

  it('a record refused (400) or failing past maxAttempts goes to the dead-letter topic; the rest flows', async () => {
    await broker.createTopic('events', { partitions: 1 });
    respond = (body, _req, res) => {
      if (body.value === 'bad') return void res.writeHead(400).end();
      if (body.value === 'flaky') return void res.writeHead(500).end();
      res.writeHead(200).end();
    };
    const { connector } = sink({ topics: ['events'], maxAttempts: 3, deadLetterTopic: 'events.dlq' });
    await connector.start();
    await broker.produce(
      'events',
      ['a', 'bad', 'b', 'flaky', 'c'].map((value) => ({ key: utf8('k'), value: utf8(value) })),
    );
    await caughtUp(connector, broker, 'events');
    const tries = (value: string) => received.filter((entry) => entry.body.value === value).length;
    expect([tries('a'), tries('bad'), tries('b'), tries('flaky'), tries('c')]).toEqual([1, 1, 1, 3, 1]);
    const dead = await broker.fetch('events.dlq', 0, 0);
    expect(dead.map((record) => text(record.value))).toEqual(['bad', 'flaky']);
    const header = (index: number, key: string) =>
      text(dead[index]?.headers.find((h) => h.key === key)?.value ?? null);
    expect(header(0, 'tributary.error')).toBe('HTTP 400');
    expect(header(1, 'tributary.error')).toBe('HTTP 500');
    expect(header(1, 'tributary.source')).toBe('events/0/3');
    expect(connector.status().state).toBe('running');
  });

  it('without a dead-letter topic a 400 stops the partition at that record', async () => {
    await broker.createTopic('events', { partitions: 1 });
    respond = (body, _req, res) => res.writeHead(body.value === 'bad' ? 400 : 200).end();
    const { connector } = sink({ topics: ['events'] });
    await connector.start();
    await broker.produce(
      'events',
      ['a', 'bad', 'c'].map((value) => ({ key: utf8('k'), value: utf8(value) })),
    );
    await eventually(() => expect(connector.status().state).toBe('failed'), 10_000);
    expect(connector.status().error?.code).toBe('SINK_TARGET_REFUSED');
    expect(received.map((entry) => entry.body.value)).toEqual(['a', 'bad']);
  });

  it('a signature checks only with the right secret, body and time', () => {
    const body = '{"a":1}';
    const now = Math.floor(Date.now() / 1000);
    const header = webhookSignature(SECRET, body, now);
    expect(verifyWebhookSignature(SECRET, body, header)).toBe(true);
    expect(verifyWebhookSignature('other', body, header)).toBe(false);
    expect(verifyWebhookSignature(SECRET, '{"a":2}', header)).toBe(false);
    expect(verifyWebhookSignature(SECRET, body, webhookSignature(SECRET, body, now - 3600))).toBe(false);
    expect(verifyWebhookSignature(SECRET, body, `t=${now},v1=${'0'.repeat(64)}`)).toBe(false);
    expect(verifyWebhookSignature(SECRET, body, undefined)).toBe(false);
    expect(verifyWebhookSignature(SECRET, body, 'garbage')).toBe(false);
  });
});
