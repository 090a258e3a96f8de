/**
 * Sensor fan-in on an eventual collection, with a live dashboard in the terminal.
 *
 *     npm run example:iot                  (add -- --short for a quick run)
 *
 * 200 simulated sensors, spread over 4 gateways (each its own connection, like devices behind
 * different base stations), report temperature, humidity and battery about twice a second, for
 * about 10 s. Every report is a `patch` of the sensor's document and an `increment` of its
 * `readings` counter; each gateway also adds its reports to one shared `fleet` counter.
 *
 * The collection is `eventual`: any gateway writes without coordination, the SDK stamps each
 * write with the gateway's hybrid logical clock and sends it as a CRDT operation, and every
 * replica converges. Counters are PN-counters, so the shared counter written by 4 gateways at
 * once loses nothing.
 *
 * The dashboard is three live queries (all sensors, sensors above 30 °C, the fleet counter),
 * redrawn in place when the output is a terminal, one summary line a second otherwise. At the
 * end it checks that what it sees converged to what the gateways wrote: per-sensor counters add
 * up to every acknowledged reading, and so does the shared counter.
 */
import {
  type Collection,
  connect,
  type LiveQuery,
  type TributaryClient,
} from '../../src/client/node/index.js';
import { SHORT, sleep, startLocalServer, timeLimit } from '../shared/run.js';

const SENSORS = SHORT ? 40 : 200;
const GATEWAYS = SHORT ? 2 : 4;
const RUN_FOR_MS = SHORT ? 2_500 : 10_000;
const TICK_MS = 100;
const REPORT_EVERY_MS = 500;
const HOT = 30;

timeLimit(RUN_FOR_MS + 40_000, 'iot');
const server = await startLocalServer();
const admin = await connect({ url: server.url, clientName: 'iot-admin' });
// Readings are cheap to lose on a crash but not on a disconnect: fsync at most every 100 ms.
await admin.admin.createCollection('sensors', { mode: 'eventual', partitions: 4, fsync: 'interval' });
await admin.collection('sensors').put('fleet', { readings: 0 });

// ---- the gateways ----

interface Sensor {
  readonly key: string;
  temp: number;
  humidity: number;
  battery: number;
  /** Some sensors sit next to a heat source and drift up. */
  readonly heating: boolean;
  reported: boolean;
}

class Gateway {
  readonly sensors: Sensor[] = [];
  acked = 0;
  errors = 0;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    readonly client: TributaryClient,
    readonly collection: Collection,
    readonly id: number,
  ) {}

  start(): void {
    this.#timer = setInterval(() => this.#tick(), TICK_MS);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.collection.flush();
  }

  #tick(): void {
    let reports = 0;
    for (const sensor of this.sensors) {
      // Every sensor reports as soon as it starts, then about every REPORT_EVERY_MS.
      if (sensor.reported && Math.random() > TICK_MS / REPORT_EVERY_MS) continue;
      sensor.reported = true;
      sensor.temp = round(Math.min(45, Math.max(10, sensor.temp + drift(sensor.heating))));
      sensor.humidity = round(Math.min(90, Math.max(20, sensor.humidity + (Math.random() - 0.5))));
      sensor.battery = round(Math.max(0, sensor.battery - Math.random() * 0.05));
      const { key, temp, humidity, battery } = sensor;
      // Writes show locally at once and are confirmed in the background; no await needed.
      this.collection
        .patch(key, { temp, humidity, battery, gateway: this.id, at: Date.now() })
        .catch(() => this.errors++);
      this.collection.increment(key, 'readings', 1).then(
        () => this.acked++,
        () => this.errors++,
      );
      reports++;
    }
    if (reports > 0) this.collection.increment('fleet', 'readings', reports).catch(() => this.errors++);
  }
}

const drift = (heating: boolean) => (Math.random() - 0.5) * 0.6 + (heating ? 0.8 : 0);
const round = (n: number) => Math.round(n * 10) / 10;

const gateways: Gateway[] = [];
for (let g = 0; g < GATEWAYS; g++) {
  const client = await connect({ url: server.url, clientName: `gateway-${g + 1}` });
  gateways.push(new Gateway(client, client.collection('sensors'), g + 1));
}
for (let i = 0; i < SENSORS; i++) {
  gateways[i % GATEWAYS]!.sensors.push({
    key: `sensor-${String(i + 1).padStart(3, '0')}`,
    temp: round(18 + Math.random() * 8),
    humidity: round(40 + Math.random() * 20),
    battery: round(80 + Math.random() * 20),
    heating: i % 17 === 0,
    reported: false,
  });
}

// ---- the dashboard ----

const dashboard = await connect({ url: server.url, clientName: 'dashboard' });
const sensorsColl = dashboard.collection('sensors');
const all = sensorsColl.subscribe({ keyPrefix: 'sensor-' });
const hot = sensorsColl.subscribe({ keyPrefix: 'sensor-', where: [{ field: 'temp', op: '>', value: HOT }] });
const fleet = sensorsColl.subscribe({ keyPrefix: 'fleet' });
await Promise.all([all.ready, hot.ready, fleet.ready]);
let updates = 0;
all.on('change', ({ added, changed }) => {
  updates += added.length + changed.length;
});

const sumReadings = (live: LiveQuery) =>
  live.current().reduce((sum, item) => sum + ((item.value.readings as number | undefined) ?? 0), 0);
const fleetReadings = () => (fleet.get('fleet')?.value.readings as number | undefined) ?? 0;

function render(elapsedMs: number, rate: number): string[] {
  const items = all.current();
  const temps = items.map((i) => i.value.temp as number).filter((t) => typeof t === 'number');
  const average = temps.length === 0 ? 0 : temps.reduce((a, b) => a + b, 0) / temps.length;
  const hottest = [...hot.current()]
    .sort((a, b) => (b.value.temp as number) - (a.value.temp as number))
    .slice(0, 5)
    .map((i) => `${i.key} ${i.value.temp}°`)
    .join('  ');
  const buckets = [10, 15, 20, 25, 30, 35, 40].map((from) => ({
    from,
    count: temps.filter((t) => t >= from && t < from + 5).length,
  }));
  const scale = Math.max(1, ...buckets.map((b) => b.count)) / 40;
  return [
    `Tributary IoT dashboard  ${(elapsedMs / 1000).toFixed(1)} s / ${RUN_FOR_MS / 1000} s`,
    '',
    `sensors reporting  ${items.length}/${SENSORS}     updates/s ${rate}`,
    `readings           ${sumReadings(all)} (sum of sensor counters)   fleet counter ${fleetReadings()}`,
    `temperature        avg ${average.toFixed(1)} °C   min ${Math.min(...temps, Infinity)}   max ${Math.max(...temps, -Infinity)}`,
    `hot (> ${HOT} °C)      ${hot.current().length}   ${hottest}`,
    `unconfirmed writes ${gateways.map((g) => g.collection.pendingWrites).join(' / ')} (per gateway)`,
    '',
    ...buckets.map(
      (b) =>
        `${String(b.from).padStart(2)}-${b.from + 5} °C ${'#'.repeat(Math.round(b.count / scale)).padEnd(40)} ${b.count}`,
    ),
  ];
}

const tty = process.stdout.isTTY === true;
const started = Date.now();
let lastUpdates = 0;
let lastSummary = 0;
if (tty) process.stdout.write('\x1b[2J\x1b[?25l');
const redraw = setInterval(
  () => {
    const elapsed = Date.now() - started;
    const rate = Math.round(((updates - lastUpdates) * 1000) / (tty ? 250 : 1000));
    lastUpdates = updates;
    if (tty) {
      process.stdout.write(`\x1b[H${render(elapsed, rate).join('\x1b[K\n')}\x1b[K\x1b[J`);
    } else if (elapsed - lastSummary >= 900) {
      lastSummary = elapsed;
      console.log(
        `t=${(elapsed / 1000).toFixed(1)}s sensors=${all.current().length}/${SENSORS} ` +
          `readings=${sumReadings(all)} fleet=${fleetReadings()} hot=${hot.current().length} updates/s=${rate}`,
      );
    }
  },
  tty ? 250 : 1000,
);

// ---- run, stop, check ----

for (const gateway of gateways) gateway.start();
await sleep(RUN_FOR_MS);
await Promise.all(gateways.map((g) => g.stop()));
const acked = gateways.reduce((sum, g) => sum + g.acked, 0);
const errors = gateways.reduce((sum, g) => sum + g.errors, 0);
// Every write is confirmed; the dashboard converges as the last changes arrive.
const convergeBy = Date.now() + 10_000;
while ((sumReadings(all) !== acked || fleetReadings() !== acked) && Date.now() < convergeBy) await sleep(50);
clearInterval(redraw);
if (tty)
  process.stdout.write(`\x1b[H${render(Date.now() - started, 0).join('\x1b[K\n')}\x1b[K\x1b[J\x1b[?25h\n`);

const truth = await admin.collection('sensors').query({ keyPrefix: 'sensor-' });
const problems: string[] = [];
if (errors > 0) problems.push(`${errors} writes failed`);
if (all.current().length !== SENSORS)
  problems.push(`dashboard sees ${all.current().length} of ${SENSORS} sensors`);
if (sumReadings(all) !== acked)
  problems.push(`sensor counters add up to ${sumReadings(all)}, ${acked} acknowledged`);
if (fleetReadings() !== acked) problems.push(`fleet counter ${fleetReadings()}, ${acked} acknowledged`);
const differing = truth.items.filter(
  (item) => JSON.stringify(all.get(item.key)?.value) !== JSON.stringify(item.value),
);
if (differing.length > 0)
  problems.push(`${differing.length} sensors differ between the dashboard and the server`);

await Promise.all([...gateways.map((g) => g.client.close()), dashboard.close(), admin.close()]);
await server.close();
if (problems.length > 0) {
  console.error(`iot: FAILED\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(
  `iot: OK, ${SENSORS} sensors on ${GATEWAYS} gateways wrote ${acked} readings in ${RUN_FOR_MS / 1000} s; ` +
    `the dashboard converged: sensor counters sum to ${acked}, shared fleet counter = ${acked}, ` +
    `sensors above ${HOT} °C at the end: ${hot.current().length}`,
);
