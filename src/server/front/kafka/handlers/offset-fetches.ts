/**
 * @module server/front/kafka/handlers/offset-fetches
 * OffsetFetch v8+ (KIP-709) asks for several groups at once: each group is answered by the
 * single-group handler (`offset-fetch.ts`), as if asked alone, in the order of the request.
 * Earlier versions go to the single-group handler unchanged.
 */
import type { OffsetFetchResponseGroup } from '../../../../protocol/kafka/requests/index.js';
import { handleOffsetFetch } from './offset-fetch.js';
import type { Handler } from './types.js';

export const handleOffsetFetches: Handler<'OffsetFetch'> = async (ctx, request, scope) => {
  const groups = request.body.groups;
  if (request.header.apiVersion < 8 || groups === undefined) return handleOffsetFetch(ctx, request, scope);
  const answers = groups.map(({ groupId, topics }) =>
    handleOffsetFetch(ctx, { ...request, body: { ...request.body, groupId, topics, groups: [] } }, scope),
  );
  const out: OffsetFetchResponseGroup[] = [];
  let throttleTimeMs = 0;
  for (const [i, pending] of answers.entries()) {
    const answer = await pending;
    if (answer === null) continue;
    throttleTimeMs = Math.max(throttleTimeMs, answer.throttleTimeMs);
    out.push({ groupId: groups[i]!.groupId, topics: answer.topics, errorCode: answer.errorCode });
  }
  return { throttleTimeMs, topics: [], errorCode: 0, groups: out };
};
