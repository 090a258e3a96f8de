/**
 * IoT sensors publish over MQTT; a dashboard reads them live from the same durable log.
 *
 *     npm run example:iot                  (add -- --short for a quick run)
 *
 * 200 simulated sensors on 4 gateways (one MQTT connection each, mqtt.js, like devices behind
 * different base stations) publish temperature, humidity and battery about twice a second for
 * about 10 s, at QoS 1, to MQTT topics `sensors/<gateway>/<sensor>`. Tributary's MQTT front end
 * makes each message a record of the topic `sensors` whose key is the MQTT topic name, and sends
 * the PUBACK only once the record is in the log. One sensor's messages share a key, so they stay
 * in one partition, in order.
 *
 * The dashboard is not an MQTT client: it reads the `sensors` topic with the SDK, as a service or
 * a browser would. It starts a second after the sensors and reads from the beginning of the
 * topic, so it also gets what was published before it came (the log kept it), then follows live.
 *
 * At the end it checks what MQTT QoS 1 on a log promises: every reading a sensor got a PUBACK for
 * is on the dashboard, exactly once, and each sensor's readings arrived in the order it sent them.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { type ConsumerRecord, connect } from '../../src/client/node/index.js';
import { SHORT, sleep, startLocalServer, timeLimit } from '../shared/run.js';

const SENSORS = SHORT ? 40 : 200;
const GATEWAYS = SHORT ? 2 : 4;
const RUN_FOR_MS = SHORT ? 2_500 : 10_000;
const DASHBOARD_AFTER_MS = 1_000;
const TICK_MS = 100;
const REPORT_EVERY_MS = 500;
const HOT = 30;

timeLimit(RUN_FOR_MS + 40_000, 'iot');
const server = await startLocalServer({ mqtt: true });
const admin = await connect({ url: server.url, clientName: 'iot-admin' });
await admin.admin.createTopic('sensors', { partitions: 4 });

// ---- the sensors: plain MQTT devices ----

interface Reading {
  readonly seq: number;
  readonly temp: number;
  readonly humidity: number;
  readonly battery: number;
}

class Sensor {
  readonly topic: string;
  /** Readings the server acknowledged (PUBACK), by sequence number. */
  acked = 0;
  #seq = 0;
  #temp = round(18 + Math.random() * 8);
  #humidity = round(40 + Math.random() * 20);
  #battery = round(80 + Math.random() * 20);

  constructor(
    gateway: number,
    index: number,
    /** Some sensors sit next to a heat source and drift up. */
    readonly heating: boolean,
  ) {
    this.topic = `sensors/gateway-${gateway}/sensor-${String(index).padStart(3, '0')}`;
  }

  next(): Reading {
    this.#temp = round(
      Math.min(45, Math.max(10, this.#temp + (Math.random() - 0.5) * 0.6 + (this.heating ? 0.8 : 0))),
    );
    this.#humidity = round(Math.min(90, Math.max(20, this.#humidity + (Math.random() - 0.5))));
    this.#battery = round(Math.max(0, this.#battery - Math.random() * 0.05));
    return { seq: ++this.#seq, temp: this.#temp, humidity: this.#humidity, battery: this.#battery };
  }
}

const round = (n: number) => Math.round(n * 10) / 10;
const sensors: Sensor[] = [];
const gateways: { client: MqttClient; sensors: Sensor[] }[] = [];
for (let g = 1; g <= GATEWAYS; g++) {
  const client = await mqtt.connectAsync(server.mqttUrl, { clientId: `gateway-${g}`, reconnectPeriod: 0 });
  gateways.push({ client, sensors: [] });
}
for (let i = 1; i <= SENSORS; i++) {
  const gateway = gateways[i % GATEWAYS]!;
  const sensor = new Sensor((i % GATEWAYS) + 1, i, i % 17 === 0);
  gateway.sensors.push(sensor);
  sensors.push(sensor);
}

let failed = 0;
const publishing: Promise<void>[] = [];
function publishAll(): void {
  for (const { client, sensors } of gateways) {
    for (const sensor of sensors) {
      // About every REPORT_EVERY_MS, at random moments; the first report goes out at once.
      if (sensor.acked > 0 && Math.random() > TICK_MS / REPORT_EVERY_MS) continue;
      const reading = sensor.next();
      const acked = client.publishAsync(sensor.topic, JSON.stringify(reading), { qos: 1 }).then(
        () => void sensor.acked++,
        () => void failed++,
      );
      publishing.push(acked);
    }
  }
}

// ---- the dashboard: an SDK consumer of the topic the sensors publish to ----

interface SensorView {
  latest: Reading;
  received: number;
  outOfOrder: number;
}
const view = new Map<string, SensorView>();
let received = 0;
let beforeDashboard = 0;

function onRecord(record: ConsumerRecord): void {
  const topic = new TextDecoder().decode(record.key!); // the MQTT topic name
  const reading = JSON.parse(new TextDecoder().decode(record.value!)) as Reading;
  const seen = view.get(topic);
  if (seen === undefined) {
    view.set(topic, { latest: reading, received: 1, outOfOrder: reading.seq === 1 ? 0 : 1 });
  } else {
    if (reading.seq !== seen.latest.seq + 1) seen.outOfOrder++;
    seen.latest = reading;
    seen.received++;
  }
  received++;
  if (record.timestamp < dashboardStartedAt) beforeDashboard++;
}

function render(elapsedMs: number, rate: number): string[] {
  const readings = [...view.values()].map((v) => v.latest);
  const temps = readings.map((r) => r.temp);
  const average = temps.length === 0 ? 0 : temps.reduce((a, b) => a + b, 0) / temps.length;
  const hot = [...view.entries()]
    .filter(([, v]) => v.latest.temp > HOT)
    .sort(([, a], [, b]) => b.latest.temp - a.latest.temp);
  const battery = Math.min(...readings.map((r) => r.battery), Infinity);
  return [
    `Tributary IoT dashboard (MQTT sensors → topic "sensors" → SDK)  ${(elapsedMs / 1000).toFixed(1)} s`,
    '',
    `sensors reporting  ${view.size}/${SENSORS}     readings ${received}   readings/s ${rate}`,
    `temperature        avg ${average.toFixed(1)} °C   min ${Math.min(...temps, Infinity)}   max ${Math.max(...temps, -Infinity)}`,
    `lowest battery     ${battery} %`,
    `hot (> ${HOT} °C)      ${hot.length}   ${hot
      .slice(0, 4)
      .map(([topic, v]) => `${topic.split('/')[2]} ${v.latest.temp}°`)
      .join('  ')}`,
  ];
}

// ---- run, stop, check ----

const started = Date.now();
const sensorTimer = setInterval(publishAll, TICK_MS);
publishAll();
await sleep(DASHBOARD_AFTER_MS);

const dashboardStartedAt = Date.now();
const dashboard = await connect({ url: server.url, clientName: 'dashboard' });
const consumer = dashboard.consumer({ topic: 'sensors', from: 'earliest' });
consumer.on('records', (records) => {
  for (const record of records) onRecord(record);
});
await consumer.ready;

const tty = process.stdout.isTTY === true;
const frame = (elapsed: number, rate: number) =>
  process.stdout.write(`\x1b[H${render(elapsed, rate).join('\x1b[K\n')}\x1b[K\x1b[J`);
if (tty) process.stdout.write('\x1b[2J\x1b[?25l');
let lastReceived = 0;
const redraw = setInterval(
  () => {
    const rate = Math.round(((received - lastReceived) * 1000) / (tty ? 250 : 1000));
    lastReceived = received;
    const elapsed = Date.now() - started;
    if (tty) frame(elapsed, rate);
    else
      console.log(
        `t=${(elapsed / 1000).toFixed(1)}s sensors=${view.size}/${SENSORS} readings=${received} ` +
          `readings/s=${rate} hot=${[...view.values()].filter((v) => v.latest.temp > HOT).length}`,
      );
  },
  tty ? 250 : 1000,
);

await sleep(RUN_FOR_MS - DASHBOARD_AFTER_MS);
clearInterval(sensorTimer);
await Promise.all(publishing);
const acked = sensors.reduce((sum, s) => sum + s.acked, 0);
// Everything acknowledged is in the log; the dashboard catches up with the last of it.
const caughtUpBy = Date.now() + 10_000;
while (received < acked && Date.now() < caughtUpBy) await sleep(50);
clearInterval(redraw);
if (tty) {
  frame(Date.now() - started, 0);
  process.stdout.write('\x1b[?25h\n');
}

const problems: string[] = [];
if (failed > 0) problems.push(`${failed} publishes were not acknowledged`);
for (const sensor of sensors) {
  const seen = view.get(sensor.topic);
  if ((seen?.received ?? 0) !== sensor.acked)
    problems.push(`${sensor.topic}: ${sensor.acked} acknowledged, ${seen?.received ?? 0} on the dashboard`);
  else if ((seen?.outOfOrder ?? 0) > 0) problems.push(`${sensor.topic}: ${seen!.outOfOrder} out of order`);
}

await Promise.all(gateways.map(({ client }) => client.endAsync()));
await Promise.all([dashboard.close(), admin.close()]);
await server.close();
if (problems.length > 0) {
  console.error(`iot: FAILED\n  ${problems.slice(0, 10).join('\n  ')}`);
  process.exit(1);
}
console.log(
  `iot: OK, ${SENSORS} sensors on ${GATEWAYS} gateways published ${acked} readings over MQTT (QoS 1) in ` +
    `${RUN_FOR_MS / 1000} s; the dashboard read every acknowledged reading exactly once, in order per sensor ` +
    `(${beforeDashboard} of them published before it started)`,
);
