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
 */
import {
  hopping,
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

export function generate(count: number, seed = 1): { key: string; value: string }[] {
  const random = prng(seed);
  const out: { key: string; value: string }[] = [];
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
  return out;
}

const source = () => topic<NexmarkEvent>(SOURCE, { eventTime: (e) => e.dateTime });
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

export interface Query {
  readonly name: string;
  readonly summary: string;
  /** The pipelines of the query, in order: each later one reads the topic the one before writes. */
  readonly pipelines: (name: string) => PipelineDefinition[];
  /** The same computation as a plain loop over the encoded events; returns the output count. */
  readonly floor: (events: readonly string[]) => number;
}

export const QUERIES: readonly Query[] = [
  {
    name: 'q0',
    summary: 'pass-through',
    pipelines: (name) => [
      pipeline(name)
        .from(source())
        .to(topic(`${name}.out`)),
    ],
    floor: (events) => {
      const out: string[] = [];
      for (const e of events) out.push(JSON.stringify(JSON.parse(e)));
      return out.length;
    },
  },
  {
    name: 'q1',
    summary: 'bids, price in euros (map)',
    pipelines: (name) => [
      pipeline(name)
        .from(source())
        .filter(isBid)
        .map((b) => ({ ...(b as Bid), price: Math.floor((b as Bid).price * 0.908) }))
        .to(topic(`${name}.out`)),
    ],
    floor: (events) => {
      const out: string[] = [];
      for (const s of events) {
        const e = JSON.parse(s) as NexmarkEvent;
        if (isBid(e)) out.push(JSON.stringify({ ...e, price: Math.floor(e.price * 0.908) }));
      }
      return out.length;
    },
  },
  {
    name: 'q2',
    summary: 'bids of auctions id % 123 = 0 (filter)',
    pipelines: (name) => [
      pipeline(name)
        .from(source())
        .filter((e) => isBid(e) && e.auction % 123 === 0)
        .map((b) => ({ auction: (b as Bid).auction, price: (b as Bid).price }))
        .to(topic(`${name}.out`)),
    ],
    floor: (events) => {
      const out: string[] = [];
      for (const s of events) {
        const e = JSON.parse(s) as NexmarkEvent;
        if (isBid(e) && e.auction % 123 === 0)
          out.push(JSON.stringify({ auction: e.auction, price: e.price }));
      }
      return out.length;
    },
  },
  {
    name: 'q5',
    summary: 'hot items: the auctions with the most bids per hopping 10 s / 2 s window',
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
    floor: (events) => {
      const hot = new Map<number, Hot>();
      const count = floorWindows(
        events,
        10_000,
        2_000,
        (acc: number) => acc + 1,
        0,
        (w) => {
          hot.set(w.start, hotter(hot.get(w.start) ?? null, w));
        },
      );
      return count + hot.size;
    },
  },
  {
    name: 'q7',
    summary: 'highest bid per 10 s tumbling window (per partition, then across partitions)',
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
    floor: (events) => {
      const best = new Map<number, Bid>();
      const count = floorWindows(
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
      return count + best.size;
    },
  },
  {
    name: 'q8',
    summary: 'new persons who opened an auction in the same 10 s tumbling window (window join)',
    pipelines: (name) => {
      const events = source();
      const persons = stream(events)
        .filter(isPerson)
        .keyBy((p) => String((p as Person).id));
      return [
        pipeline(name)
          .from(events)
          .filter(isAuction)
          .keyBy((a) => String((a as Auction).seller))
          .window(tumbling('10s'))
          .join(persons, (_auction, p, window) => ({
            id: (p as Person).id,
            name: (p as Person).name,
            start: window.start,
          }))
          .keyBy((r) => `${r.id}@${r.start}`)
          .window(tumbling('10s'))
          .distinct()
          .to(topic(`${name}.out`)),
      ];
    },
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
      return out.length;
    },
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
