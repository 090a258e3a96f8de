/**
 * @module bench/workers/senders
 * The publishing side of the load generators: windowed publish with acknowledgements, a paced
 * publisher at a fixed rate, a burst, and the bulk fill for the replay. All run in a
 * load-generator process, never in the orchestrator or a server.
 */
import { performance } from 'node:perf_hooks';
import { encodePayload, encodePayloadText, nowNs } from '../lib/payload.js';
import { sleep } from '../lib/procs.js';
import { rate, Samples } from '../lib/stats.js';
import type { Publisher, SystemClient } from '../systems/types.js';
import type {
  BurstTask,
  FillResult,
  FillTask,
  PacedTask,
  PublishResult,
  PublishTask,
  SendResult,
} from './tasks.js';

/** How long to wait for acknowledgements still outstanding when a run's time is up. */
const DRAIN_TIMEOUT_MS = 15_000;
/** A publish run whose first acknowledgement takes longer than this fails. */
const FIRST_ACK_TIMEOUT_MS = 15_000;
/** Paced publishers wake up this often and send what is due. */
const TICK_MS = 1;

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function closeAll(publishers: readonly Publisher[]): Promise<void> {
  await Promise.all(publishers.map((publisher) => publisher.close().catch(() => undefined)));
}

/** `publishers` connections, each keeping up to `window` unacknowledged messages in flight. */
export async function runPublish(client: SystemClient, task: PublishTask): Promise<PublishResult> {
  const publishers = await Promise.all(
    Array.from({ length: task.publishers }, (_, index) => client.openPublisher(task.target, index)),
  );
  const bytes = encodePayload(task.size, 0, 0, 0);
  const text = encodePayloadText(task.size, 0, 0, 0);
  const ackMs = new Samples();
  let sent = 0;
  let acked = 0;
  let errors = 0;
  let firstError: string | undefined;
  // The measured window opens after the warm-up and not before the first acknowledgement (so
  // connection setup and a slow first fsync are never inside it), and lasts `durationMs`. Until
  // the first ack, `end` is the latest the window may still open.
  const start = performance.now();
  let measureFrom = start + task.warmupMs;
  let end = measureFrom + FIRST_ACK_TIMEOUT_MS;
  let windowOpen = false;
  const openWindow = (firstAckAt: number): void => {
    windowOpen = true;
    measureFrom = Math.max(measureFrom, firstAckAt);
    end = measureFrom + task.durationMs;
  };

  const lane = (publisher: Publisher): Promise<void> =>
    new Promise((resolve) => {
      let inFlight = 0;
      const payload = publisher.text ? text : bytes;
      const pump = (): void => {
        let now = performance.now();
        while (inFlight < task.window && now < end && sent < task.maxMessages) {
          const sentAt = now;
          sent++;
          inFlight++;
          const ack = publisher.publish(payload);
          if (ack === undefined) {
            throw new Error('the publish workload needs a system that acknowledges writes');
          } else {
            ack.then(
              () => {
                inFlight--;
                const ackedAt = performance.now();
                if (!windowOpen) openWindow(ackedAt);
                if (ackedAt >= measureFrom && ackedAt <= end) acked++;
                // Every message sent in the window counts, also when its ack comes during the drain.
                if (sentAt >= measureFrom && sentAt <= end) ackMs.push(ackedAt - sentAt);
                pump();
              },
              (error: unknown) => {
                inFlight--;
                errors++;
                firstError ??= describe(error);
                pump();
              },
            );
          }
          now = performance.now();
        }
        if (inFlight === 0 && (now >= end || sent >= task.maxMessages)) resolve();
      };
      pump();
    });

  let confirmedAt: number | undefined;
  try {
    await withTimeout(
      Promise.all(publishers.map(lane)),
      task.warmupMs + FIRST_ACK_TIMEOUT_MS + task.durationMs + DRAIN_TIMEOUT_MS,
      'acknowledgements still outstanding',
    );
    if (windowOpen && publishers.some((publisher) => publisher.confirm !== undefined)) {
      // The promises only said "written": the window lasts until the server confirms it has all
      // (what was written after the window closed is not counted but still waited for).
      await withTimeout(Promise.all(publishers.map((p) => p.confirm?.())), DRAIN_TIMEOUT_MS, 'confirm');
      confirmedAt = performance.now();
    }
  } finally {
    await closeAll(publishers);
  }
  if (!windowOpen)
    throw new Error(`no acknowledgement within ${FIRST_ACK_TIMEOUT_MS} ms (${errors} errors: ${firstError})`);
  const measuredMs = (confirmedAt ?? Math.min(performance.now(), end)) - measureFrom;
  return {
    acked,
    measuredMs,
    msgsPerSec: rate(acked, measuredMs),
    payloadMBPerSec: rate(acked * task.size, measuredMs) / 1e6,
    ackMs: ackMs.summarize(),
    errors,
    ...(firstError === undefined ? {} : { firstError }),
  };
}

/** One publisher at `rate` msgs/s for `durationMs`; each payload carries its send time. */
export async function runPaced(client: SystemClient, task: PacedTask): Promise<SendResult> {
  const publisher = await client.openPublisher(task.target);
  const total = Math.round((task.rate * task.durationMs) / 1000);
  let sent = 0;
  let inFlight = 0;
  let errors = 0;
  let firstError: string | undefined;
  const ackMs = new Samples();
  const onError = (error: unknown): void => {
    inFlight--;
    errors++;
    firstError ??= describe(error);
  };
  const startNs = nowNs();
  try {
    while (sent < total) {
      const elapsedMs = (nowNs() - startNs) / 1e6;
      if (elapsedMs > task.durationMs + DRAIN_TIMEOUT_MS) break;
      const due = Math.min(total, Math.floor((elapsedMs * task.rate) / 1000) + 1);
      while (sent < due && inFlight < task.window) {
        const ns = nowNs();
        const payload = publisher.text
          ? encodePayloadText(task.size, task.run, sent, ns)
          : encodePayload(task.size, task.run, sent, ns);
        sent++;
        const ack = publisher.publish(payload);
        if (ack !== undefined) {
          inFlight++;
          ack.then(() => {
            inFlight--;
            ackMs.push((nowNs() - ns) / 1e6);
          }, onError);
        }
      }
      await sleep(TICK_MS);
    }
    const endNs = nowNs();
    await withTimeout(publisher.flush(), DRAIN_TIMEOUT_MS, 'flush');
    const drainDeadline = Date.now() + DRAIN_TIMEOUT_MS;
    while (inFlight > 0 && Date.now() < drainDeadline) await sleep(5);
    return {
      sent,
      startNs,
      endNs,
      achievedRate: rate(sent, (endNs - startNs) / 1e6),
      ...(ackMs.length > 0 ? { ackMs: ackMs.summarize() } : {}),
      errors,
      ...(firstError === undefined ? {} : { firstError }),
    };
  } finally {
    await publisher.close().catch(() => undefined);
  }
}

/** `count` messages as fast as the client takes them (at most `window` unacknowledged). */
export async function runBurst(client: SystemClient, task: BurstTask): Promise<SendResult> {
  const publisher = await client.openPublisher(task.target);
  let sent = 0;
  let inFlight = 0;
  let errors = 0;
  let firstError: string | undefined;
  const startNs = nowNs();
  const deadline = Date.now() + task.timeoutMs;
  try {
    await new Promise<void>((resolve) => {
      let scheduled = false;
      let finished = false;
      const finish = (): void => {
        finished = true;
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(finish, task.timeoutMs);
      const schedule = (): void => {
        if (scheduled || finished) return;
        scheduled = true;
        setImmediate(pump);
      };
      const onAck = (): void => {
        inFlight--;
        schedule();
      };
      const onError = (error: unknown): void => {
        errors++;
        firstError ??= describe(error);
        onAck();
      };
      // Sends at most 100 per turn of the event loop so sockets get written and acks read.
      const pump = (): void => {
        scheduled = false;
        if (finished) return;
        let batch = 0;
        while (sent < task.count && inFlight < task.window && batch < 100) {
          const ns = nowNs();
          const payload = publisher.text
            ? encodePayloadText(task.size, task.run, sent, ns)
            : encodePayload(task.size, task.run, sent, ns);
          sent++;
          batch++;
          const ack = publisher.publish(payload);
          if (ack !== undefined) {
            inFlight++;
            ack.then(onAck, onError);
          }
        }
        if ((sent >= task.count && inFlight === 0) || Date.now() > deadline) finish();
        else if (sent < task.count && inFlight < task.window) schedule();
        // otherwise the next acknowledgement schedules the pump
      };
      pump();
    });
    await withTimeout(publisher.flush(), DRAIN_TIMEOUT_MS, 'flush');
    const endNs = nowNs();
    return {
      sent,
      startNs,
      endNs,
      achievedRate: rate(sent, (endNs - startNs) / 1e6),
      errors,
      ...(firstError === undefined ? {} : { firstError }),
    };
  } finally {
    await publisher.close().catch(() => undefined);
  }
}

/** Loads `count` records for the replay: the system's own bulk path if it has one, else a wide window. */
export async function runFill(client: SystemClient, task: FillTask): Promise<FillResult> {
  const payloads = (index: number): Uint8Array => encodePayload(task.size, 1, index, 0);
  const start = performance.now();
  if (client.fill !== undefined) {
    await withTimeout(client.fill(task.target, payloads, task.count), task.timeoutMs, 'fill');
  } else {
    const result = await runBurst(client, {
      type: 'burst',
      system: task.system,
      target: task.target,
      size: task.size,
      run: 1,
      count: task.count,
      window: 2_000,
      timeoutMs: task.timeoutMs,
    });
    if (result.errors > 0) throw new Error(`fill: ${result.errors} publishes failed: ${result.firstError}`);
    if (result.sent < task.count)
      throw new Error(`fill: only ${result.sent} of ${task.count} within the time limit`);
  }
  return { records: task.count, elapsedMs: performance.now() - start };
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
