/**
 * @module server/front/kafka/handlers/find-coordinators
 * FindCoordinator v4+ (KIP-699) asks for several keys at once: each key is answered by the
 * single-key handler (`find-coordinator.ts`), as if asked alone, and the answers are listed in
 * the order of the keys. Earlier versions go to the single-key handler unchanged.
 */
import type { FindCoordinatorResponseCoordinator } from '../../../../protocol/kafka/requests/index.js';
import { handleFindCoordinator } from './find-coordinator.js';
import type { Handler } from './types.js';

export const handleFindCoordinators: Handler<'FindCoordinator'> = async (ctx, request, scope) => {
  const keys = request.body.coordinatorKeys;
  if (request.header.apiVersion < 4 || keys === undefined) return handleFindCoordinator(ctx, request, scope);
  // Every key's handler starts now, in order (handlers are called in arrival order).
  const answers = keys.map((key) =>
    handleFindCoordinator(ctx, { ...request, body: { ...request.body, key } }, scope),
  );
  const coordinators: FindCoordinatorResponseCoordinator[] = [];
  let throttleTimeMs = 0;
  for (const [i, pending] of answers.entries()) {
    const answer = await pending;
    if (answer === null) continue;
    throttleTimeMs = Math.max(throttleTimeMs, answer.throttleTimeMs);
    const { nodeId, host, port, errorCode, errorMessage } = answer;
    coordinators.push({ key: keys[i]!, nodeId, host, port, errorCode, errorMessage });
  }
  return { throttleTimeMs, errorCode: 0, errorMessage: null, nodeId: -1, host: '', port: -1, coordinators };
};
