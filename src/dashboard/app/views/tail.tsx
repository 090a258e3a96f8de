/**
 * @module dashboard/app/views/tail
 * A live tail of one topic over the SDK (one consumer on the page's WebSocket): the newest
 * records first, at most {@link ROWS_MAX} kept. Pause freezes what is shown while records keep
 * arriving (counted, and shown on resume); the key filter and JSON decoding only change what
 * is shown, never what is received.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ConsumerRecord, StartPosition } from '../../../client/index.js';
import { payload, prettyJson, time } from '../format.js';
import { href } from '../router.js';
import { useSession } from '../session.js';
import { ErrorNote } from './parts.js';

export const ROWS_MAX = 500;

type Status = 'connecting' | 'live' | 'failed';

interface Row {
  readonly id: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
  readonly key: string;
  readonly keyBinary: boolean;
  readonly value: string;
  readonly valueBinary: boolean;
  readonly headers: string;
}

function toRow(record: ConsumerRecord): Row {
  const key = payload(record.key, 256);
  const value = payload(record.value);
  return {
    id: `${record.partition}:${record.offset}`,
    partition: record.partition,
    offset: record.offset,
    timestamp: record.timestamp,
    key: record.key === null ? '' : key.text,
    keyBinary: key.binary,
    value: value.text,
    valueBinary: value.binary,
    headers: record.headers.map((h) => `${h.key}=${payload(h.value, 128).text}`).join(', '),
  };
}

export function TailView({ topic }: { topic: string }) {
  const session = useSession();
  const [from, setFrom] = useState<'latest' | 'earliest'>('latest');
  const [status, setStatus] = useState<Status>('connecting');
  const [error, setError] = useState<unknown>(undefined);
  const [paused, setPaused] = useState(false);
  const [filter, setFilter] = useState('');
  const [decode, setDecode] = useState(true);
  const [shown, setShown] = useState<readonly Row[]>([]);
  const [waiting, setWaiting] = useState(0);
  const rows = useRef<Row[]>([]);
  const pausedRef = useRef(false);
  const arrivedWhilePaused = useRef(0);

  useEffect(() => {
    let closed = false;
    let close: (() => Promise<void>) | undefined;
    rows.current = [];
    setShown([]);
    setStatus('connecting');
    setError(undefined);
    void (async () => {
      try {
        const client = await session.client();
        if (closed) return;
        const consumer = client.consumer({ topic, from: from as StartPosition });
        close = () => consumer.close();
        consumer.on('error', (failure) => {
          setStatus('failed');
          setError(failure);
        });
        consumer.on('records', (records) => {
          const next = [...records].reverse().map(toRow);
          rows.current = [...next, ...rows.current].slice(0, ROWS_MAX);
          if (pausedRef.current) {
            arrivedWhilePaused.current += records.length;
            setWaiting(arrivedWhilePaused.current);
          } else {
            setShown(rows.current);
          }
        });
        await consumer.ready;
        if (!closed) setStatus('live');
      } catch (failure) {
        if (closed) return;
        setStatus('failed');
        setError(failure);
      }
    })();
    return () => {
      closed = true;
      void close?.();
    };
  }, [session, topic, from]);

  const togglePause = (): void => {
    const next = !paused;
    pausedRef.current = next;
    setPaused(next);
    if (!next) {
      arrivedWhilePaused.current = 0;
      setWaiting(0);
      setShown(rows.current);
    }
  };

  const needle = filter.trim();
  const visible = needle === '' ? shown : shown.filter((row) => row.key.includes(needle));
  return (
    <section aria-labelledby="tail-title">
      <p class="crumbs">
        <a href={href({ view: 'topics' })}>Topics</a> / <a href={href({ view: 'topic', topic })}>{topic}</a> /
      </p>
      <h1 id="tail-title">Live tail of {topic}</h1>
      <div class="toolbar">
        <button type="button" aria-pressed={paused} onClick={togglePause}>
          {paused ? 'Resume' : 'Pause'}
        </button>
        <label>
          Filter by key
          <input
            type="search"
            name="key-filter"
            value={filter}
            placeholder="part of a key"
            onInput={(e) => setFilter(e.currentTarget.value)}
          />
        </label>
        <label class="inline">
          <input
            type="checkbox"
            name="decode"
            checked={decode}
            onChange={(e) => setDecode(e.currentTarget.checked)}
          />
          Decode JSON
        </label>
        <label>
          Start
          <select
            name="from"
            value={from}
            onChange={(e) => setFrom(e.currentTarget.value === 'earliest' ? 'earliest' : 'latest')}
          >
            <option value="latest">new records only</option>
            <option value="earliest">from the earliest offset</option>
          </select>
        </label>
      </div>
      <p class="status" role="status" data-status={status}>
        {status === 'connecting'
          ? 'Connecting…'
          : status === 'failed'
            ? 'The tail stopped.'
            : paused
              ? `Paused: ${waiting} new record${waiting === 1 ? '' : 's'} not shown.`
              : `Live: showing the newest ${visible.length} of at most ${ROWS_MAX} records.`}
      </p>
      <ErrorNote error={error} />
      <table class="grid tail">
        <caption class="sr-only">Records of {topic}, newest first</caption>
        <thead>
          <tr>
            <th scope="col" class="num">
              Partition
            </th>
            <th scope="col" class="num">
              Offset
            </th>
            <th scope="col">Time</th>
            <th scope="col">Key</th>
            <th scope="col">Value</th>
            <th scope="col">Headers</th>
          </tr>
        </thead>
        <tbody>
          {visible.map((row) => (
            <tr key={row.id} data-offset={row.offset} data-partition={row.partition}>
              <td class="num">{row.partition}</td>
              <td class="num">{row.offset}</td>
              <td class="mono">{time(row.timestamp)}</td>
              <td class="mono">
                {row.key === '' ? <span class="muted">null</span> : row.key}
                {row.keyBinary ? <span class="badge">hex</span> : null}
              </td>
              <td>
                <pre data-field="value">
                  {(decode && !row.valueBinary && prettyJson(row.value)) || row.value}
                </pre>
                {row.valueBinary ? <span class="badge">hex</span> : null}
              </td>
              <td class="mono">{row.headers}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
