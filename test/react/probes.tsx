/**
 * Components of the React hooks' tests: each renders what one hook returns as text (what a user
 * would see) and reports every committed state to `report`, so a test can check the sequence
 * of states a hook went through. Shared by the browser page (`page.tsx`) and the server-side
 * rendering test, which renders the same tree in Node.
 */
import { useLayoutEffect } from 'react';
import type { ConnectOptions, LiveQueryFilter } from '../../src/client/index.js';
import { text } from '../../src/client/index.js';
import type { TopicOptions } from '../../src/react/index.js';
import { TributaryProvider, useConnection, useDocument, useQuery, useTopic } from '../../src/react/index.js';

/** A committed state, as plain data. */
export interface Seen {
  readonly loading: boolean;
  readonly error: string | undefined;
  readonly pending: boolean;
  readonly rollback: string | undefined;
  /** The provider's connection status (`useConnection`). */
  readonly connection: string;
  /** `[key, value, pending]` per item (queries, documents), or `[offset, value]` per record (topics). */
  readonly items: readonly unknown[];
}

export type Report = (seen: Seen, handle: unknown) => void;

export type ProbeSpec =
  | { readonly kind: 'query'; readonly collection: string; readonly filter?: LiveQueryFilter }
  | { readonly kind: 'document'; readonly collection: string; readonly key: string }
  | { readonly kind: 'topic'; readonly topic: string; readonly options?: TopicOptions };

/** The tree the page mounts and the server renders: a provider that connects, and one probe. */
export function ProbeApp({
  connect,
  spec,
  report,
}: {
  connect: ConnectOptions;
  spec: ProbeSpec;
  report: Report;
}) {
  return (
    <TributaryProvider connect={connect}>
      <Probe spec={spec} report={report} />
    </TributaryProvider>
  );
}

/** One provider (one connection) with several probes; `report` gets each probe's name. */
export function ProbesApp({
  connect,
  specs,
  report,
}: {
  connect: ConnectOptions;
  specs: Readonly<Record<string, ProbeSpec>>;
  report: (name: string) => Report;
}) {
  return (
    <TributaryProvider connect={connect}>
      {Object.entries(specs).map(([name, spec]) => (
        <div key={name} id={name}>
          <Probe spec={spec} report={report(name)} />
        </div>
      ))}
    </TributaryProvider>
  );
}

export function Probe({ spec, report }: { spec: ProbeSpec; report: Report }) {
  if (spec.kind === 'query') return <QueryProbe spec={spec} report={report} />;
  if (spec.kind === 'document') return <DocumentProbe spec={spec} report={report} />;
  return <TopicProbe spec={spec} report={report} />;
}

function QueryProbe({ spec, report }: { spec: ProbeSpec & { kind: 'query' }; report: Report }) {
  const state = useQuery(spec.collection, spec.filter);
  const { status } = useConnection();
  const seen: Seen = {
    loading: state.loading,
    connection: status,
    error: state.error?.code,
    pending: state.pending,
    rollback: state.rollback?.error.code,
    items: state.items.map((item) => [item.key, item.value, item.pending]),
  };
  useLayoutEffect(() => report(seen, state.collection));
  return <Shown seen={seen} />;
}

function DocumentProbe({ spec, report }: { spec: ProbeSpec & { kind: 'document' }; report: Report }) {
  const state = useDocument(spec.collection, spec.key);
  const { status } = useConnection();
  const seen: Seen = {
    loading: state.loading,
    connection: status,
    error: state.error?.code,
    pending: state.pending,
    rollback: state.rollback?.error.code,
    items: state.item === undefined ? [] : [[state.item.key, state.item.value, state.item.pending]],
  };
  useLayoutEffect(() => report(seen, state.collection));
  return <Shown seen={seen} />;
}

function TopicProbe({ spec, report }: { spec: ProbeSpec & { kind: 'topic' }; report: Report }) {
  const state = useTopic(spec.topic, spec.options);
  const { status } = useConnection();
  const seen: Seen = {
    loading: state.loading,
    connection: status,
    error: state.error?.code,
    pending: false,
    rollback: undefined,
    items: state.records.map((record) => [record.offset, text(record.value)]),
  };
  useLayoutEffect(() => report(seen, undefined));
  return <Shown seen={seen} />;
}

function Shown({ seen }: { seen: Seen }) {
  const { status } = useConnection();
  return (
    <section>
      <p className="status">
        {`${seen.loading ? 'loading' : 'ready'} ${status}${seen.error === undefined ? '' : ` error ${seen.error}`}`}
      </p>
      <ul>
        {seen.items.map((item) => (
          <li key={JSON.stringify(item)}>{JSON.stringify(item)}</li>
        ))}
      </ul>
    </section>
  );
}
