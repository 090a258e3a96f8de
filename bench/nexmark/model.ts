/**
 * Nexmark (persons, auctions, bids; the streaming benchmark of the NEXMark paper and Apache
 * Beam / Flink's suites), generated here with a seed, and the queries this bench runs: each as
 * a Tributary pipeline and as a plain loop over an in-memory array (the floor).
 *
 * The generator follows Nexmark's proportions (per 50 events: 1 person, 3 auctions, 46 bids)
 * with one event per millisecond of event time. Bids are keyed by their auction, persons by
 * their id and auctions by their seller (a person id), so per-auction state and the
 * person–auction join of q8 each stay in one partition.
 *
 * Queries that need all partitions' results (q5's hottest auctions, q7's highest bid) run as
 * two pipelines: the first computes per partition and writes its results keyed by window to a
 * topic, the second reads that topic and keeps the running best per window (the last record
 * of a window key is its answer).
 *
 * The input is bounded, and a window closes only when its task's watermark passes it, so each
 * partition ends with closing events (a person and an auction one hour after the last event;
 * neither is a bid, and the auction's seller is nobody): every window closes, and each query's
 * whole output can be compared with its floor's (`answer`).
 *
 * q8 joins two topics: persons (keyed by id) and auctions (keyed by seller) are also produced to
 * `nexmark.persons` and `nexmark.auctions`, co-partitioned, and its pipeline reads auctions as
 * its source and persons as the window join's second topic. Its input (and its floor's) is those
 * events only, 4 of every 50.
 */
import {
  hopping,
  type Keyed,
  type PipelineDefinition,
  pipeline,
  stream,
  topic,
  tumbling,
  type Windowed,
} from '../../src/processing/index.js';

export interface Person {
  readonly type: 'person';
  readonly id: number;
  readonly name: string;
  readonly city: string;
  readonly state: string;
  readonly dateTime: number;
}
export interface Auction {
  readonly type: 'auction';
  readonly id: number;
  readonly itemName: string;
  readonly initialBid: number;
  readonly seller: number;
  readonly category: number;
  readonly dateTime: number;
  readonly expires: number;
}
export interface Bid {
  readonly type: 'bid';
  readonly auction: number;
  readonly bidder: number;
  readonly price: number;
  readonly channel: string;
  readonly dateTime: number;
}
export type NexmarkEvent = Person | Auction | Bid;

export const SOURCE = 'nexmark';
/** q8's two co-partitioned inputs: the persons (keyed by id) and the auctions (keyed by seller). */
export const PERSONS = 'nexmark.persons';
export const AUCTIONS = 'nexmark.auctions';
/** How far after the last event the closing events are: past every window. */
const CLOSE_AFTER_MS = 3_600_000;
const T0 = Date.UTC(2026, 0, 1);
const STATES = ['OR', 'ID', 'CA', 'WA', 'AZ'];
const CHANNELS = ['Google', 'Facebook', 'Baidu', 'Apple'];

/** A small deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** An encoded event; `partition` is set for closing events only (the others go by key). */
export interface EncodedEvent {
  readonly key: string;
  readonly value: string;
  readonly partition?: number;
}

/**
 * `count` events, then per partition a closing person and a closing auction one hour later
 * (ids and sellers below 0: they join nothing), so every window of every partition closes.
 */
export function generate(count: number, partitions: number, seed = 1): EncodedEvent[] {
  const random = prng(seed);
  const out: EncodedEvent[] = [];
  let persons = 0;
  let auctions = 0;
  for (let i = 0; i < count; i++) {
    const dateTime = T0 + i;
    const slot = i % 50;
    let event: NexmarkEvent;
    if (slot === 0) {
      event = {
        type: 'person',
        id: persons++,
        name: `p${persons}`,
        city: `c${Math.floor(random() * 100)}`,
        state: STATES[Math.floor(random() * STATES.length)]!,
        dateTime,
      };
      out.push({ key: `person-${event.id}`, value: JSON.stringify(event) });
      continue;
    }
    if (slot <= 3) {
      event = {
        type: 'auction',
        id: auctions++,
        itemName: `item${auctions}`,
        initialBid: Math.floor(random() * 1000),
        seller: Math.max(0, persons - 1 - Math.floor(random() * Math.min(persons, 10))),
        category: Math.floor(random() * 10),
        dateTime,
        expires: dateTime + 10_000,
      };
      out.push({ key: `person-${event.seller}`, value: JSON.stringify(event) });
      continue;
    }
    // Bids go mostly to recent auctions (a hot set), as Nexmark's generator does.
    const recent = Math.min(auctions, 100);
    const auction = Math.max(0, auctions - 1 - Math.floor(random() * random() * recent));
    event = {
      type: 'bid',
      auction,
      bidder: Math.floor(random() * Math.max(1, persons)),
      price: 100 + Math.floor(random() * 10_000),
      channel: CHANNELS[Math.floor(random() * CHANNELS.length)]!,
      dateTime,
    };
    out.push({ key: `auction-${auction}`, value: JSON.stringify(event) });
  }
  const dateTime = T0 + count + CLOSE_AFTER_MS;
  for (let partition = 0; partition < partitions; partition++) {
    const person: Person = {
      type: 'person',
      id: -1 - partition,
      name: 'close',
      city: '',
      state: '',
      dateTime,
    };
    const auction: Auction = {
      type: 'auction',
      id: -1 - partition,
      itemName: 'close',
      initialBid: 0,
      seller: -1_000 - partition,
      category: 0,
      dateTime,
      expires: dateTime,
    };
    out.push({ key: `close-${partition}`, value: JSON.stringify(person), partition });
    out.push({ key: `close-${partition}`, value: JSON.stringify(auction), partition });
  }
  return out;
}

/** The events of `type`, in order: q8's inputs. */
export function eventsOfType(events: readonly EncodedEvent[], type: 'person' | 'auction'): EncodedEvent[] {
  return events.filter((e) => (JSON.parse(e.value) as NexmarkEvent).type === type);
}

const isBid = (e: NexmarkEvent): e is Bid => e.type === 'bid';
const isAuction = (e: NexmarkEvent): e is Auction => e.type === 'auction';
const isPerson = (e: NexmarkEvent): e is Person => e.type === 'person';

/** The hottest auctions of a window: the most bids, and every auction with that many. */
interface Hot {
  readonly start: number;
  readonly bids: number;
  readonly auctions: string[];
}

function hotter(acc: Hot | null, w: Windowed<number>): Hot {
  const auction = w.key;
  if (acc === null || w.value > acc.bids) return { start: w.start, bids: w.value, auctions: [auction] };
  if (w.value === acc.bids) return { ...acc, auctions: [...acc.auctions, auction].sort() };
  return acc;
}

/** A record of a query's output topic, as read back. */
export interface OutputRecord {
  readonly key: string | null;
  readonly value: string;
}

export interface Query {
  readonly name: string;
  readonly summary: string;
  /** The topics read: the source, and a window join's second topic. */
  readonly inputs: { readonly source: string; readonly side?: string };
  /** The pipelines of the query, in order: each later one reads the topic the one before writes. */
  readonly pipelines: (name: string) => PipelineDefinition[];
  /** The topic the last pipeline writes. */
  readonly output: (name: string) => string;
  /**
   * The same computation as a plain loop over the encoded events (of `inputs`, merged in event
   * time); returns its answer as sorted lines, comparable with `answer`.
   */
  readonly floor: (events: readonly string[]) => string[];
  /** The answer the pipeline's output topic holds (records per partition in offset order), as sorted lines. */
  readonly answer: (records: readonly OutputRecord[]) => string[];
}

/** Every value, sorted: an output whose order across partitions is not defined. */
const sortedValues = (records: readonly OutputRecord[]): string[] => records.map((r) => r.value).sort();

/** The last value of each key (an update stream's answer). */
function lastPerKey(records: readonly OutputRecord[]): Map<string, string> {
  const last = new Map<string, string>();
  for (const r of records) last.set(r.key ?? '', r.value);
  return last;
}

const source = () => topic<NexmarkEvent>(SOURCE, { eventTime: (e) => e.dateTime });
const ALL = { source: SOURCE } as const;

export const QUERIES: readonly Query[] = [
  {
    name: 'q0',
    summary: 'pass-through',
    inputs: ALL,
    pipelines: (name) => [
      pipeline(name)
        .from(source())
        .to(topic(`${name}.out`)),
    ],
    output: (name) => `${name}.out`,
    floor: (events) => {
      const out: string[] = [];
      for (const e of events) out.push(JSON.stringify(JSON.parse(e)));
      return out.sort();
    },
    answer: sortedValues,
  },
  {
    name: 'q1',
    summary: 'bids, price in euros (map)',
    inputs: ALL,
    pipelines: (name) => [
      pipeline(name)
        .from(source())
        .filter(isBid)
        .map((b) => ({ ...(b as Bid), price: Math.floor((b as Bid).price * 0.908) }))
        .to(topic(`${name}.out`)),
    ],
    output: (name) => `${name}.out`,
    floor: (events) => {
      const out: string[] = [];
      for (const s of events) {
        const e = JSON.parse(s) as NexmarkEvent;
        if (isBid(e)) out.push(JSON.stringify({ ...e, price: Math.floor(e.price * 0.908) }));
      }
      return out.sort();
    },
    answer: sortedValues,
  },
  {
    name: 'q2',
    summary: 'bids of auctions id % 123 = 0 (filter)',
    inputs: ALL,
    pipelines: (name) => [
      pipeline(name)
        .from(source())
        .filter((e) => isBid(e) && e.auction % 123 === 0)
        .map((b) => ({ auction: (b as Bid).auction, price: (b as Bid).price }))
        .to(topic(`${name}.out`)),
    ],
    output: (name) => `${name}.out`,
    floor: (events) => {
      const out: string[] = [];
      for (const s of events) {
        const e = JSON.parse(s) as NexmarkEvent;
        if (isBid(e) && e.auction % 123 === 0)
          out.push(JSON.stringify({ auction: e.auction, price: e.price }));
      }
      return out.sort();
    },
    answer: sortedValues,
  },
  {
    name: 'q5',
    summary: 'hot items: the auctions with the most bids per hopping 10 s / 2 s window',
    inputs: ALL,
    pipelines: (name) => [
      pipeline(name)
        .from(source())
        .filter(isBid)
        .keyBy((b) => String((b as Bid).auction))
        .window(hopping('10s', { advance: '2s' }))
        .count()
        .keyBy((w) => String(w.start))
        .to(topic(`${name}.counts`)),
      pipeline(`${name}-hot`)
        .from(topic<Windowed<number>>(`${name}.counts`))
        .keyBy((w) => String(w.start))
        .aggregate<Hot | null>({ init: () => null, add: hotter })
        .to(topic(`${name}.out`)),
    ],
    output: (name) => `${name}.out`,
    floor: (events) => {
      const hot = new Map<number, Hot>();
      floorWindows(
        events,
        10_000,
        2_000,
        (acc: number) => acc + 1,
        0,
        (w) => {
          hot.set(w.start, hotter(hot.get(w.start) ?? null, w));
        },
      );
      return [...hot.values()].map((h) => JSON.stringify(h)).sort();
    },
    // Per window, the last running value; `hotter` is order-free (ties: every auction, sorted).
    answer: (records) =>
      [...lastPerKey(records).values()]
        .map((v) => JSON.stringify((JSON.parse(v) as Keyed<Hot>).value))
        .sort(),
  },
  {
    name: 'q7',
    summary: 'highest bid per 10 s tumbling window (per partition, then across partitions)',
    inputs: ALL,
    pipelines: (name) => [
      pipeline(name)
        .from(source())
        .filter(isBid)
        .keyBy(() => 'all')
        .window(tumbling('10s'))
        .reduce((a, b) => ((a as Bid).price >= (b as Bid).price ? a : b))
        .keyBy((w) => String(w.start))
        .to(topic(`${name}.partial`)),
      pipeline(`${name}-max`)
        .from(topic<Windowed<Bid>>(`${name}.partial`))
        .keyBy((w) => String(w.start))
        .reduce((a, b) => (a.value.price >= b.value.price ? a : b))
        .to(topic(`${name}.out`)),
    ],
    output: (name) => `${name}.out`,
    floor: (events) => {
      const best = new Map<number, Bid>();
      floorWindows(
        events,
        10_000,
        10_000,
        (acc: Bid | null, b: Bid) => (acc === null || b.price > acc.price ? b : acc),
        null,
        (w) => {
          const old = best.get(w.start);
          if (w.value !== null && (old === undefined || w.value.price > old.price))
            best.set(w.start, w.value);
        },
        () => 'all',
      );
      return [...best].map(([start, bid]) => `${start} ${bid.price}`).sort();
    },
    // The window and its highest price: which of two equal bids of different partitions reaches
    // the second pipeline first is not defined.
    answer: (records) =>
      [...lastPerKey(records).values()]
        .map((v) => {
          const window = (JSON.parse(v) as Keyed<Windowed<Bid>>).value;
          return `${window.start} ${window.value.price}`;
        })
        .sort(),
  },
  {
    name: 'q8',
    summary: 'new persons who opened an auction in the same 10 s tumbling window (window join of two topics)',
    inputs: { source: AUCTIONS, side: PERSONS },
    pipelines: (name) => {
      const persons = stream(topic<Person>(PERSONS, { eventTime: (p) => p.dateTime })).keyBy((p) =>
        String(p.id),
      );
      return [
        pipeline(name)
          .from(topic<Auction>(AUCTIONS, { eventTime: (a) => a.dateTime }))
          .keyBy((a) => String(a.seller))
          .window(tumbling('10s'))
          .join(persons, (_auction, p, window) => ({ id: p.id, name: p.name, start: window.start }))
          .keyBy((r) => `${r.id}@${r.start}`)
          .window(tumbling('10s'))
          .distinct()
          .to(topic(`${name}.out`)),
      ];
    },
    output: (name) => `${name}.out`,
    floor: (events) => {
      const out: string[] = [];
      const persons = new Map<string, Person>();
      const sellers = new Set<string>();
      const emitted = new Set<string>();
      let window = Number.NEGATIVE_INFINITY;
      for (const s of events) {
        const e = JSON.parse(s) as NexmarkEvent;
        const start = e.dateTime - (e.dateTime % 10_000);
        if (start > window) {
          // Events come in event-time order here: a new window closes the previous ones.
          window = start;
          persons.clear();
          sellers.clear();
          emitted.clear();
        }
        const id = isPerson(e) ? e.id : isAuction(e) ? e.seller : undefined;
        if (id === undefined) continue;
        if (isPerson(e)) persons.set(String(id), e);
        else sellers.add(String(id));
        const person = persons.get(String(id));
        if (person !== undefined && sellers.has(String(id)) && !emitted.has(String(id))) {
          emitted.add(String(id));
          out.push(JSON.stringify({ id: person.id, name: person.name, start }));
        }
      }
      return out.sort();
    },
    answer: sortedValues,
  },
];

/** Windowed aggregation per key over bids, closing windows as event time passes (the floor of q5, q7). */
function floorWindows<A>(
  events: readonly string[],
  sizeMs: number,
  advanceMs: number,
  add: (acc: A, bid: Bid) => A,
  init: A,
  onClose: (window: Windowed<A>) => void = () => undefined,
  keyOf: (bid: Bid) => string = (b) => String(b.auction),
): number {
  const open = new Map<string, { end: number; start: number; key: string; acc: A }>();
  const out: string[] = [];
  let max = Number.NEGATIVE_INFINITY;
  let nextCloseAt = Number.POSITIVE_INFINITY; // scan open windows only when one is due
  for (const s of events) {
    const e = JSON.parse(s) as NexmarkEvent;
    if (e.dateTime > max) {
      max = e.dateTime;
      if (max >= nextCloseAt) {
        nextCloseAt = Number.POSITIVE_INFINITY;
        for (const [id, w] of open) {
          if (w.end <= max) {
            out.push(JSON.stringify({ key: w.key, start: w.start, end: w.end, value: w.acc }));
            onClose({ key: w.key, start: w.start, end: w.end, value: w.acc });
            open.delete(id);
          } else if (w.end < nextCloseAt) nextCloseAt = w.end;
        }
      }
    }
    if (!isBid(e)) continue;
    const key = keyOf(e);
    const last = e.dateTime - (e.dateTime % advanceMs);
    for (let start = last - sizeMs + advanceMs; start <= last; start += advanceMs) {
      const id = `${start}|${key}`;
      const w = open.get(id) ?? { start, end: start + sizeMs, key, acc: init };
      w.acc = add(w.acc, e);
      open.set(id, w);
      if (w.end < nextCloseAt) nextCloseAt = w.end;
    }
  }
  for (const w of open.values()) onClose({ key: w.key, start: w.start, end: w.end, value: w.acc });
  return out.length + open.size;
}
