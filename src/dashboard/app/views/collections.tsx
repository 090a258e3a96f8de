/**
 * @module dashboard/app/views/collections
 * The live collections: a list (polled), one collection's live query over the SDK (the result
 * set as the server keeps it current, with a key prefix and one condition to narrow it), and a
 * document with its current value (live) and its history, read again whenever it changes.
 */
import { useEffect, useState } from 'preact/hooks';
import type { ComparisonOp, Json, LiveItem, LiveQueryFilter } from '../../../client/index.js';
import { seg } from '../api.js';
import { count, time } from '../format.js';
import { usePoll } from '../hooks.js';
import { href } from '../router.js';
import { useSession } from '../session.js';
import type { CollectionJson, HistoryJson } from '../types.js';
import { ErrorNote, errorText } from './parts.js';

const ROWS_MAX = 1000;
const OPS: readonly ComparisonOp[] = ['==', '!=', '<', '<=', '>', '>=', 'exists'];

export function CollectionsView() {
  const { api } = useSession();
  const polled = usePoll(
    async (signal) =>
      (await api.get<{ collections: CollectionJson[] }>('/v1/collections', signal)).collections,
    2000,
    'collections',
  );
  return (
    <section aria-labelledby="collections-title">
      <h1 id="collections-title">Collections</h1>
      <ErrorNote error={polled.error} />
      {polled.data === undefined ? (
        <p class="muted">Loading…</p>
      ) : polled.data.length === 0 ? (
        <p class="muted">No collections yet.</p>
      ) : (
        <table class="grid">
          <caption class="sr-only">Live collections</caption>
          <thead>
            <tr>
              <th scope="col">Collection</th>
              <th scope="col">Mode</th>
              <th scope="col" class="num">
                Partitions
              </th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {[...polled.data]
              .sort((a, b) => (a.name < b.name ? -1 : 1))
              .map((c) => (
                <tr key={c.name} data-collection={c.name}>
                  <th scope="row">
                    <a href={href({ view: 'collection', collection: c.name })}>{c.name}</a>
                  </th>
                  <td>{c.mode}</td>
                  <td class="num">{c.partitions}</td>
                  <td>{new Date(c.createdAt).toLocaleString('en-GB')}</td>
                </tr>
              ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** A live query's visible items, kept current by the SDK; `filter` as JSON is the dependency. */
function useLiveQuery(
  collection: string,
  filter: LiveQueryFilter,
): { items: readonly LiveItem[]; ready: boolean; error: unknown } {
  const session = useSession();
  const [state, setState] = useState<{ items: readonly LiveItem[]; ready: boolean; error: unknown }>({
    items: [],
    ready: false,
    error: undefined,
  });
  const filterKey = JSON.stringify(filter);
  // biome-ignore lint/correctness/useExhaustiveDependencies: the filter is compared by its JSON
  useEffect(() => {
    let closed = false;
    let close: (() => void) | undefined;
    setState({ items: [], ready: false, error: undefined });
    void (async () => {
      try {
        const client = await session.client();
        if (closed) return;
        const handle = client.collection(collection);
        const query = handle.subscribe(filter);
        const show = (): void => {
          if (!closed) setState({ items: query.current(), ready: true, error: undefined });
        };
        query.on('snapshot', show);
        query.on('change', show);
        query.on('error', (error) => {
          if (!closed) setState((old) => ({ ...old, error }));
        });
        close = () => {
          void query.close();
          void handle.close();
        };
        await query.ready;
        show();
      } catch (error) {
        if (!closed) setState((old) => ({ ...old, error }));
      }
    })();
    return () => {
      closed = true;
      close?.();
    };
  }, [session, collection, filterKey]);
  return state;
}

function parseValue(text: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch {
    return text;
  }
}

export function CollectionView({ collection }: { collection: string }) {
  const [prefix, setPrefix] = useState('');
  const [field, setField] = useState('');
  const [op, setOp] = useState<ComparisonOp>('==');
  const [value, setValue] = useState('');
  const [filter, setFilter] = useState<LiveQueryFilter>({});
  const live = useLiveQuery(collection, filter);
  const apply = (event: Event): void => {
    event.preventDefault();
    const next: { keyPrefix?: string; where?: { field: string; op: ComparisonOp; value: Json }[] } = {};
    if (prefix !== '') next.keyPrefix = prefix;
    if (field.trim() !== '') {
      next.where = [
        { field: field.trim(), op, value: op === 'exists' ? value !== 'false' : parseValue(value) },
      ];
    }
    setFilter(next);
  };
  const items = [...live.items]
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .slice(0, ROWS_MAX);
  return (
    <section aria-labelledby="collection-title">
      <p class="crumbs">
        <a href={href({ view: 'collections' })}>Collections</a> /
      </p>
      <h1 id="collection-title">{collection}</h1>
      <form class="toolbar" onSubmit={apply} aria-label="Live query">
        <label>
          Key prefix
          <input name="keyPrefix" value={prefix} onInput={(e) => setPrefix(e.currentTarget.value)} />
        </label>
        <label>
          Field
          <input
            name="field"
            value={field}
            placeholder="e.g. stock or address.city"
            onInput={(e) => setField(e.currentTarget.value)}
          />
        </label>
        <label>
          Operator
          <select name="op" value={op} onChange={(e) => setOp(e.currentTarget.value as ComparisonOp)}>
            {OPS.map((o) => (
              <option key={o} value={o}>
                {o}
              </option>
            ))}
          </select>
        </label>
        <label>
          Value (JSON)
          <input
            name="value"
            value={value}
            placeholder="5"
            onInput={(e) => setValue(e.currentTarget.value)}
          />
        </label>
        <button type="submit">Apply</button>
      </form>
      <p class="status" role="status" data-status={live.ready ? 'live' : 'connecting'}>
        {live.ready
          ? `Live: ${count(live.items.length)} document${live.items.length === 1 ? '' : 's'} match${
              live.items.length > ROWS_MAX ? ` (showing the first ${ROWS_MAX} by key)` : ''
            }.`
          : 'Subscribing…'}
      </p>
      <ErrorNote error={live.error} />
      <table class="grid">
        <caption class="sr-only">Documents of {collection} matching the live query</caption>
        <thead>
          <tr>
            <th scope="col">Key</th>
            <th scope="col" class="num">
              Version
            </th>
            <th scope="col">Document</th>
          </tr>
        </thead>
        <tbody>
          {items.map((item) => (
            <tr key={item.key} data-key={item.key}>
              <th scope="row">
                <a href={href({ view: 'document', collection, key: item.key })}>{item.key}</a>
              </th>
              <td class="num" data-field="version">
                {item.version}
              </td>
              <td>
                <pre data-field="value">{JSON.stringify(item.value, null, 2)}</pre>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

export function DocumentView({ collection, documentKey }: { collection: string; documentKey: string }) {
  const { api } = useSession();
  const live = useLiveQuery(collection, { where: [{ field: '$key', op: '==', value: documentKey }] });
  const current = live.items.find((item) => item.key === documentKey);
  const [history, setHistory] = useState<HistoryJson | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  // A new version (or a deletion: the item goes) reads the history again.
  const version = current === undefined ? (live.ready ? 'absent' : 'pending') : String(current.version);
  useEffect(() => {
    if (version === 'pending') return;
    const controller = new AbortController();
    api
      .get<HistoryJson>(
        `/v1/collections/${seg(collection)}/items/${seg(documentKey)}/history`,
        controller.signal,
      )
      .then(
        (answer) => {
          setHistory(answer);
          setError(undefined);
        },
        (failure: unknown) => {
          if (!controller.signal.aborted) setError(failure);
        },
      );
    return () => controller.abort();
  }, [api, collection, documentKey, version]);
  return (
    <section aria-labelledby="document-title">
      <p class="crumbs">
        <a href={href({ view: 'collections' })}>Collections</a> /{' '}
        <a href={href({ view: 'collection', collection })}>{collection}</a> /
      </p>
      <h1 id="document-title">{documentKey}</h1>
      <ErrorNote error={live.error} />
      <h2>Now</h2>
      <p class="status" role="status">
        {!live.ready
          ? 'Subscribing…'
          : current === undefined
            ? 'No such document (absent or deleted).'
            : `Version ${current.version}, live.`}
      </p>
      {current === undefined ? null : (
        <pre data-field="current">{JSON.stringify(current.value, null, 2)}</pre>
      )}
      <h2>History</h2>
      {error === undefined ? null : (
        <p class="error" role="alert">
          {errorText(error)}
        </p>
      )}
      {history === undefined ? (
        <p class="muted">Loading…</p>
      ) : (
        <>
          <p class="muted">
            {history.versions.length} version{history.versions.length === 1 ? '' : 's'} still in the log,
            newest first
            {history.complete ? '' : ` (read from offset ${history.scannedFrom} on)`}; compaction keeps only
            the latest of each key, so older versions may be gone.
          </p>
          <table class="grid">
            <caption class="sr-only">Versions of {documentKey}, newest first</caption>
            <thead>
              <tr>
                <th scope="col" class="num">
                  Version
                </th>
                <th scope="col">Time</th>
                <th scope="col">Document</th>
              </tr>
            </thead>
            <tbody>
              {history.versions.map((v) => (
                <tr key={v.version} data-version={v.version}>
                  <th scope="row" class="num">
                    {v.version}
                  </th>
                  <td class="mono">
                    {new Date(v.timestamp).toLocaleDateString('en-GB')} {time(v.timestamp)}
                  </td>
                  <td>
                    {v.value === null ? (
                      <span class="badge">deleted</span>
                    ) : (
                      <pre data-field="value">{JSON.stringify(v.value, null, 2)}</pre>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
