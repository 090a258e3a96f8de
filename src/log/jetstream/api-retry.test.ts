import { ErrorCode, NatsError } from 'nats';
import { describe, expect, it } from 'vitest';
import { isElectionSymptom, retryWhileElecting } from './api-retry.js';

const natsError = (code: string): NatsError => new NatsError(code, code);

describe('retryWhileElecting', () => {
  it('repeats a call that timed out or found no responders until it answers', async () => {
    const failures = [natsError(ErrorCode.Timeout), natsError(ErrorCode.NoResponders)];
    let calls = 0;
    const answer = await retryWhileElecting(async () => {
      calls++;
      const failure = failures.shift();
      if (failure !== undefined) throw failure;
      return 'info';
    }, 5_000);
    expect(answer).toBe('info');
    expect(calls).toBe(3);
  });

  it('throws any other error at once', async () => {
    let calls = 0;
    const refused = natsError(ErrorCode.PermissionsViolation);
    await expect(
      retryWhileElecting(async () => {
        calls++;
        throw refused;
      }, 5_000),
    ).rejects.toBe(refused);
    expect(calls).toBe(1);
  });

  it('gives up with the last error once the deadline has passed', async () => {
    let calls = 0;
    const started = Date.now();
    await expect(
      retryWhileElecting(async () => {
        calls++;
        throw natsError(ErrorCode.Timeout);
      }, 700),
    ).rejects.toMatchObject({ code: ErrorCode.Timeout });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(calls).toBeGreaterThan(1);
  });

  it('tells election symptoms from other failures', () => {
    expect(isElectionSymptom(natsError(ErrorCode.Timeout))).toBe(true);
    expect(isElectionSymptom(natsError(ErrorCode.NoResponders))).toBe(true);
    expect(isElectionSymptom(new Error('TIMEOUT'))).toBe(false);
    expect(isElectionSymptom(undefined)).toBe(false);
  });
});
