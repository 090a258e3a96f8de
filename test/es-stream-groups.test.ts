/**
 * Competing-consumer groups over the SDK against a real server: several members share a
 * category's events; one member, a separate process holding events it never acks, is SIGKILLed;
 * its events go to the live members after the ack timeout; every event is acked, the poison one
 * is parked after its retries. Also the ACL check on a group's target.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../src/client/node/index.js';
import { serverFixture } from './server-fixture.js';

const fixture = serverFixture('tributary-es-groups-', { initialDelayMs: 20, maxDelayMs: 100, jitter: 0 });

async function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('client.streams.groups', () => {
  it('shares events among members; a SIGKILLed member’s events go to the others; a poison event is parked', async () => {
    const server = await fixture.server();
    const a = await fixture.client(server);
    const b = await fixture.client(server);
    await a.streams.groups.createGroup('billing', {
      target: { category: 'order' },
      ackTimeoutMs: 1000,
      retriesMax: 2,
    });
    const total = 100;
    for (let i = 0; i < total; i++) {
      await a.streams.append(`order-${i % 9}`, [{ type: i === 42 ? 'Poison' : 'Placed', data: i }]);
    }
    // The doomed member takes its events first, then dies holding them.
    const child: ChildProcess = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/fixtures/es-group-member.ts', server.wsUrl, 'billing'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const held: number[] = [];
    child.stdout?.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n'))
        if (line.startsWith('got ')) held.push(Number(line.slice(4)));
    });
    await until(() => held.length > 0, 'the child member to get an event', 30_000);
    const info = await a.streams.groups.groupInfo('billing');
    expect(info.inFlight).toBeGreaterThanOrEqual(10); // its whole read of 10 is dealt to it
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));

    const handled = new Map<string, number[]>();
    const poisonTries: number[] = [];
    const member = (client: typeof a, name: string) => {
      const mine: number[] = [];
      handled.set(name, mine);
      return client.streams.groups.consume('billing', {
        member: name,
        max: 5,
        onEvent: (event: RecordedEvent, retries: number) => {
          if (event.type === 'Poison') {
            poisonTries.push(retries);
            throw new Error('cannot bill');
          }
          mine.push(event.data as number);
        },
      });
    };
    const members = [member(a, 'a'), member(b, 'b')];
    const count = () => [...handled.values()].reduce((n, list) => n + list.length, 0);
    await until(() => count() === total - 1, 'every good event to be handled');
    await until(() => poisonTries.length >= 2, 'the poison event’s retries');
    await Promise.all(members.map((m) => m.close()));
    const all = [...handled.values()].flat().sort((x, y) => x - y);
    // Each good event handled by exactly one live member (none lost, none twice), the dead member's among them.
    expect(all).toEqual(Array.from({ length: total }, (_, i) => i).filter((i) => i !== 42));
    expect((handled.get('a') ?? []).length).toBeGreaterThan(0);
    expect((handled.get('b') ?? []).length).toBeGreaterThan(0);
    for (const data of held) if (data !== 42) expect(all).toContain(data);
    const parked = await a.streams.groups.readParked('billing');
    expect(parked.map((p) => p.event.data)).toEqual([42]);
    expect(await a.streams.groups.groupInfo('billing')).toMatchObject({ pending: 0, inFlight: 0, parked: 1 });
  }, 90_000);
});
