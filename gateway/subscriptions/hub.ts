/**
 * The gateway's event hub: one bus subscription per gateway instance, without a consumer
 * group, so every instance receives every event and serves its own clients (instances behind
 * a load balancer do not split the stream). Events are routed by topic and key (a user id for
 * changes, an asset id for prices) to the bounded queues of the matching subscriptions only.
 * Delivery from the bus is at least once: a change whose sequence is not newer than the last
 * one seen for its row is a repeat and is dropped.
 */
import type { ChangeEvent, PriceEvent } from '../../domain/events.ts';
import { topics } from '../../domain/topics.ts';
import type { Logger } from '../../lib/logger.ts';
import type { BusMessage, BusSubscription, EventBus } from '../../stores/bus.ts';
import { createEventQueue, type OverflowPolicy } from './queue.ts';

export type HubTopic = 'portfolio' | 'transactions' | 'market';

export type HubEvent<K extends HubTopic> = K extends 'market' ? PriceEvent : ChangeEvent;

export interface EventHub {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** A bounded stream of the events of `topic` for any of `keys`. */
  stream<K extends HubTopic>(args: { topic: K; keys: readonly string[]; capacity: number; policy: OverflowPolicy<HubEvent<K>> }): AsyncIterableIterator<HubEvent<K>>;
  /** Subscriptions currently open (for stats and tests). */
  readonly size: number;
}

/** Rows whose last sequence is remembered for repeat detection. */
const SEEN_ROWS = 100_000;

export function createEventHub(options: { bus: EventBus; logger: Logger }): EventHub {
  const logger = options.logger.child('events');
  const listeners = new Map<string, Set<(event: unknown) => void>>();
  const lastSeq = new Map<string, bigint>();
  let subscription: BusSubscription | undefined;
  let size = 0;

  const route = (topic: HubTopic, key: string, event: unknown) => {
    for (const listener of listeners.get(`${topic}|${key}`) ?? []) listener(event);
  };

  const isRepeat = (topic: string, event: ChangeEvent): boolean => {
    const row = `${topic}|${event.key}`;
    const seq = BigInt(event.sequence);
    const last = lastSeq.get(row);
    if (last !== undefined && seq <= last) return true;
    lastSeq.delete(row);
    lastSeq.set(row, seq);
    if (lastSeq.size > SEEN_ROWS) lastSeq.delete(lastSeq.keys().next().value as string);
    return false;
  };

  async function onMessages(messages: readonly BusMessage[]): Promise<void> {
    for (const m of messages) {
      try {
        if (m.topic === topics.market) {
          const event = JSON.parse(m.value) as PriceEvent;
          route('market', event.assetId, event);
          continue;
        }
        const topic: HubTopic | undefined = m.topic === topics.portfolio ? 'portfolio' : m.topic === topics.transactions ? 'transactions' : undefined;
        if (!topic) continue;
        const event = JSON.parse(m.value) as ChangeEvent;
        if (isRepeat(topic, event)) continue;
        // A row that moved between users is news for both.
        const users = new Set([event.before?.['user_id'], event.after?.['user_id']].filter((u): u is string => typeof u === 'string'));
        for (const user of users) route(topic, user, event);
      } catch (error) {
        logger.warn('unreadable event skipped', { topic: m.topic, offset: m.offset, error });
      }
    }
  }

  return {
    async start() {
      subscription = await options.bus.subscribe({ topics: [topics.portfolio, topics.transactions, topics.market], onMessages });
    },
    async stop() {
      await subscription?.stop();
      subscription = undefined;
    },
    stream({ topic, keys, capacity, policy }) {
      const unregister: Array<() => void> = [];
      const queue = createEventQueue({
        capacity,
        policy: policy as OverflowPolicy<unknown>,
        onClose: () => {
          for (const off of unregister) off();
          size--;
        },
      });
      size++;
      for (const key of new Set(keys)) {
        const id = `${topic}|${key}`;
        let set = listeners.get(id);
        if (!set) listeners.set(id, (set = new Set()));
        const listener = (event: unknown) => queue.push(event);
        set.add(listener);
        unregister.push(() => {
          set.delete(listener);
          if (set.size === 0) listeners.delete(id);
        });
      }
      return queue as AsyncIterableIterator<HubEvent<typeof topic>>;
    },
    get size() {
      return size;
    },
  };
}
