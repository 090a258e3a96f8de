import { ErrorCode, type NatsError } from 'nats';

/** How long a gateway keeps asking while a JetStream cluster elects a leader. */
export const API_RETRY_DEADLINE_MS = 30_000;
const API_RETRY_PAUSE_MS = 200;

/**
 * Runs a JetStream API call that is safe to repeat (a lookup, a bind-or-create, a watch),
 * repeating it while the cluster cannot answer: during a leader election, or while a restarted
 * node rejoins, requests time out or find no responders for a few seconds. Any other error, or
 * the same one past `deadlineMs`, is thrown as it is.
 */
export async function retryWhileElecting<T>(
  call: () => Promise<T>,
  deadlineMs: number = API_RETRY_DEADLINE_MS,
): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    try {
      return await call();
    } catch (error) {
      if (!isElectionSymptom(error) || Date.now() + API_RETRY_PAUSE_MS > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, API_RETRY_PAUSE_MS));
    }
  }
}

/** A request no server answered in time, or that no server could take. */
export function isElectionSymptom(error: unknown): boolean {
  const code = (error as NatsError | undefined)?.code;
  return code === ErrorCode.Timeout || code === ErrorCode.NoResponders;
}
