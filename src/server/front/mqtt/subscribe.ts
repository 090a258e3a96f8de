/**
 * @module server/front/mqtt/subscribe
 * SUBSCRIBE and UNSUBSCRIBE: each filter checked (syntax, `read` on its topic, the per-session
 * limit), kept in the session, and answered once delivery for it is in place, so a message
 * published after the SUBACK reaches the new subscription. New subscriptions start at the
 * tail of the log (docs/mqtt.md, "Subscriptions").
 *
 * Refusals per filter: MQTT 5 reason codes (0x87 not authorized, 0x8F topic filter invalid,
 * 0x97 quota exceeded, 0x9E shared subscriptions not supported); MQTT 3.1.1 has only 0x80.
 */
import type { ISubackPacket, ISubscribePacket, IUnsubackPacket, IUnsubscribePacket, QoS } from 'mqtt-packet';
import type { MqttClient, MqttContext } from './context.js';
import type { Delivery } from './delivery.js';
import { ReasonCode, reasonCodeFor, reasonCodeOf } from './reason-codes.js';
import type { SessionSubscription } from './session.js';
import { MqttTopicError, parseTopicFilter, type TopicFilter } from './topics.js';

/** Whether `client` may read `topic` (the session's cached ACL decision). */
export function mayRead(client: MqttClient, topic: string): boolean {
  return client.auth.allowed('topic', topic, 'read');
}

export async function handleSubscribe(
  ctx: MqttContext,
  client: MqttClient,
  delivery: Delivery,
  packet: ISubscribePacket,
): Promise<{ readonly suback: ISubackPacket; readonly afterSuback: () => void }> {
  const identifier = packet.properties?.subscriptionIdentifier ?? null;
  const granted: number[] = [];
  const added: { subscription: SessionSubscription; isNew: boolean }[] = [];
  for (const wanted of packet.subscriptions) {
    const code = await subscribeOne(ctx, client, wanted, identifier, added);
    granted.push(client.version === 4 && code >= 0x80 ? 0x80 : code);
  }
  await delivery.subscriptionsChanged();
  await storeSession(ctx, client);
  const retained = ctx.extensions.retained;
  // Retained messages follow the SUBACK (the caller calls this once it is written).
  const afterSuback = (): void => {
    if (retained === undefined) return;
    for (const { subscription, isNew } of added) {
      retained.subscribed(client, subscription, isNew).catch((error: unknown) => {
        ctx.logger.warn({ err: error }, 'MQTT retained messages not sent');
      });
    }
  };
  return { suback: { cmd: 'suback', messageId: packet.messageId as number, granted }, afterSuback };
}

async function subscribeOne(
  ctx: MqttContext,
  client: MqttClient,
  wanted: ISubscribePacket['subscriptions'][number],
  identifier: number | null,
  added: { subscription: SessionSubscription; isNew: boolean }[],
): Promise<number> {
  const session = client.session;
  let filter: TopicFilter;
  try {
    filter = parseTopicFilter(wanted.topic);
  } catch (error) {
    if (!(error instanceof MqttTopicError)) throw error;
    return ReasonCode.TopicFilterInvalid;
  }
  const isNew = !session.subscriptions.has(wanted.topic);
  if (isNew && session.subscriptions.size >= ctx.limits.mqttSubscriptionsPerConnectionMax) {
    ctx.metrics.errors.inc({ frontend: 'mqtt', code: 'RESOURCE_EXHAUSTED' });
    return ReasonCode.QuotaExceeded;
  }
  // A literal first level names the one topic read; wildcard filters read what may be read.
  if (filter.topic !== null && !mayRead(client, filter.topic)) {
    // authorize() counts and audits the refusal.
    try {
      client.auth.authorize('topic', filter.topic, 'read');
    } catch {
      ctx.metrics.errors.inc({ frontend: 'mqtt', code: 'TOPIC_ACCESS_DENIED' });
    }
    return ReasonCode.NotAuthorized;
  }
  const subscription: SessionSubscription = {
    filter,
    qos: wanted.qos,
    noLocal: wanted.nl === true,
    retainAsPublished: wanted.rap === true,
    retainHandling: wanted.rh ?? 0,
    identifier,
  };
  if (filter.shareName !== null) {
    const shared = ctx.extensions.shared;
    if (shared === undefined) return ReasonCode.SharedSubscriptionsNotSupported;
    try {
      await shared.subscribe(client, subscription);
    } catch (error) {
      return reasonCodeFor('suback', reasonCodeOf(error));
    }
  }
  session.subscriptions.set(wanted.topic, subscription);
  added.push({ subscription, isNew });
  return wanted.qos satisfies QoS;
}

export async function handleUnsubscribe(
  ctx: MqttContext,
  client: MqttClient,
  delivery: Delivery,
  packet: IUnsubscribePacket,
): Promise<IUnsubackPacket> {
  const codes: number[] = [];
  for (const filter of packet.unsubscriptions) {
    const subscription = client.session.subscriptions.get(filter);
    if (subscription === undefined) {
      codes.push(ReasonCode.NoSubscriptionExisted);
      continue;
    }
    client.session.subscriptions.delete(filter);
    if (subscription.filter.shareName !== null) await ctx.extensions.shared?.unsubscribe(client, filter);
    codes.push(ReasonCode.Success);
  }
  await delivery.subscriptionsChanged();
  await storeSession(ctx, client);
  return {
    cmd: 'unsuback',
    messageId: packet.messageId as number,
    // 3.1.1's UNSUBACK carries no codes; mqtt-packet writes them for MQTT 5 only.
    granted: client.version === 5 ? codes : [],
  };
}

/** A session kept on the log stores its subscriptions before SUBACK / UNSUBACK answers. */
async function storeSession(ctx: MqttContext, client: MqttClient): Promise<void> {
  try {
    await client.session.durability?.save();
  } catch (error) {
    ctx.logger.warn({ err: error }, 'MQTT session not stored after a subscription change');
  }
}
