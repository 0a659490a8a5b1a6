/**
 * The gateway's event hub: one bus subscription per gateway instance, without a consumer
 * group, so every instance receives every event and serves its own clients (instances behind
 * a load balancer do not split the stream). Events are routed by topic and key (a user id for
 * changes, an asset id for prices) to the bounded queues of the matching subscriptions only.
 *
 * Positions and resume: the hub knows exactly which part of each topic's log it has consumed
 * (it starts at known offsets and advances with every message), so every delivered event
 * carries a position: per partition, the next offset. A stream opened `after` a position is
 * served the log between that position and where the hub stands at that instant (read again
 * from Kafka's retained log), then the live events from that instant on: the two ranges
 * touch without overlapping, so there is no gap and no duplicate.
 *
 * Delivery from the bus is at least once: a change whose sequence is not newer than the last
 * one seen for its row is a repeat and is dropped.
 *
 * Besides subscriptions, `onEvent` sees every new event of every topic: the response cache
 * evicts by it.
 */
import type { ChangeEvent, Delivered, PriceEvent } from '../../domain/events.ts';
import { tableSpec, type TableSpec } from '../../domain/tables.ts';
import { MARKET_TOPIC } from '../../domain/topics.ts';
import type { Logger } from '../../lib/logger.ts';
import type { BusMessage, BusSubscription, EventBus, ReplayRange } from '../../stores/bus.ts';
import { decodePosition, encodePosition, type Vector } from './position.ts';
import { createEventQueue, type OverflowPolicy } from './queue.ts';

/** A stream's source: a captured table's changes, or the market's prices. */
export type HubTopic = 'market' | 'transaction_history' | 'portfolio_holdings';

/** What a stream of `K` yields. */
export type HubEvent<K extends HubTopic> = Delivered<K extends 'market' ? PriceEvent : ChangeEvent>;

/** A subscriber's stream. */
export interface StreamOptions<K extends HubTopic> {
  /** A table name (its change events) or 'market'. */
  readonly topic: K;
  readonly keys: readonly string[];
  readonly capacity: number;
  readonly policy: OverflowPolicy<HubEvent<K>>;
  /** Resume after this position (from an earlier event); absent: live events only. */
  readonly after?: string;
}

/** The gateway instance's one consumer of the bus. */
export interface EventHub {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** A bounded stream of the events of `topic` for any of `keys`. */
  stream<K extends HubTopic>(options: StreamOptions<K>): AsyncIterableIterator<HubEvent<K>>;
  /** Subscriptions currently open. */
  readonly size: number;
  /** Bus messages received by this instance and not yet handled (its consumer lag). */
  lag(): number;
}

/** Rows whose last sequence is remembered for repeat detection. */
const SEEN_ROWS = 100_000;

/** The keys (users or assets) an event is news for. */
function keysOf(topic: string, event: ChangeEvent | PriceEvent): string[] {
  if (topic === 'market') return [(event as PriceEvent).assetId];
  // From the registry: a row that moved between users is news for both.
  return tableSpec(topic)?.audience(event as ChangeEvent) ?? [];
}

/** Sees every new event of every topic (the response cache evicts by it). */
export type HubObserver = (
  event:
    | { readonly topic: 'market'; readonly event: PriceEvent }
    | { readonly topic: 'change'; readonly event: ChangeEvent },
) => void;

/**
 * Creates the hub over `bus`, consuming the topics of the captured `tables` (from the same
 * registry selection the worker publishes) and the market topic.
 */
export function createEventHub(options: {
  bus: EventBus;
  tables: readonly TableSpec[];
  logger: Logger;
  onEvent?: HubObserver;
}): EventHub {
  const logger = options.logger.child('events');
  /** Bus topic -> stream topic (a table name, or 'market'). */
  const byBusTopic = new Map<string, string>([
    ...options.tables.map((t) => [t.topic, t.name] as const),
    [MARKET_TOPIC, 'market'],
  ]);
  const busTopicOf = new Map([...byBusTopic].map(([bus, name]) => [name, bus]));
  const listeners = new Map<string, Set<(event: Delivered<unknown>) => void>>();
  const lastSeq = new Map<string, bigint>();
  /** Per stream topic, per partition: the next offset the hub will consume. */
  const next = new Map<string, Vector>();
  let subscription: BusSubscription | undefined;
  let size = 0;

  const isRepeat = (topic: string, event: ChangeEvent, seen: Map<string, bigint>): boolean => {
    const row = `${topic}|${event.key}`;
    const seq = BigInt(event.sequence);
    const last = seen.get(row);
    if (last !== undefined && seq <= last) return true;
    seen.delete(row);
    seen.set(row, seq);
    if (seen.size > SEEN_ROWS) seen.delete(seen.keys().next().value as string);
    return false;
  };

  const parse = (m: BusMessage): ChangeEvent | PriceEvent | undefined => {
    try {
      return JSON.parse(m.value) as ChangeEvent | PriceEvent;
    } catch (error) {
      logger.warn('unreadable event skipped', { topic: m.topic, offset: m.offset, error });
      return undefined;
    }
  };

  async function onMessages(messages: readonly BusMessage[]): Promise<void> {
    for (const m of messages) {
      const topic = byBusTopic.get(m.topic);
      if (!topic) continue;
      const vector = next.get(topic)!;
      vector.set(m.partition, BigInt(m.offset) + 1n);
      const event = parse(m);
      if (!event || (topic !== 'market' && isRepeat(topic, event as ChangeEvent, lastSeq))) continue;
      options.onEvent?.(
        topic === 'market' ? { topic, event: event as PriceEvent } : { topic: 'change', event: event as ChangeEvent },
      );
      // One delivered object for all its subscribers: they share the loaders of this event.
      let delivered: Delivered<unknown> | undefined;
      for (const key of keysOf(topic, event)) {
        const set = listeners.get(`${topic}|${key}`);
        if (!set) continue;
        delivered ??= { event, position: encodePosition(vector) };
        for (const listener of set) listener(delivered);
      }
    }
  }

  /** Reads the log between `after` and `upTo` again, keeps the events for `keys`, in sequence order, each with its exact position. */
  async function replay(
    topic: string,
    keys: ReadonlySet<string>,
    after: Vector,
    upTo: Vector,
  ): Promise<Array<Delivered<unknown>>> {
    const ranges: ReplayRange[] = [];
    for (const [partition, to] of upTo) {
      const from = after.get(partition) ?? to;
      if (to > from) ranges.push({ topic: busTopicOf.get(topic)!, partition, from: String(from), to: String(to) });
    }
    const found: Array<{ event: ChangeEvent | PriceEvent; partition: number; offset: bigint; seq: bigint }> = [];
    const seen = new Map<string, bigint>();
    await options.bus.replay(ranges, async (messages) => {
      for (const m of messages) {
        const event = parse(m);
        if (!event || !keysOf(topic, event).some((k) => keys.has(k))) continue;
        if (topic !== 'market' && isRepeat(topic, event as ChangeEvent, seen)) continue;
        const seq = topic === 'market' ? BigInt(m.offset) : BigInt((event as ChangeEvent).sequence);
        found.push({ event, partition: m.partition, offset: BigInt(m.offset), seq });
      }
    });
    found.sort((a, b) => (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0));
    // Served in sequence order, so an event's position is, per partition, the first offset
    // not yet served (the earliest later event of that partition, or the range end).
    const out: Array<Delivered<unknown>> = new Array(found.length);
    const frontier = new Map(upTo);
    for (let i = found.length - 1; i >= 0; i--) {
      out[i] = { event: found[i]!.event, position: encodePosition(new Map([...after, ...frontier])) };
      const { partition, offset } = found[i]!;
      // Within a partition, offsets follow sequences (one row, one partition, published in order);
      // if two rows' events ever disagree, the smaller offset wins: a repeat, never a gap.
      frontier.set(
        partition,
        offset < (frontier.get(partition) ?? offset) ? offset : (frontier.get(partition) ?? offset),
      );
    }
    return out;
  }

  return {
    async start() {
      subscription = await options.bus.subscribe({ topics: [...byBusTopic.keys()], onMessages });
      for (const [name, partitions] of subscription.startOffsets) {
        const topic = byBusTopic.get(name)!;
        const vector = next.get(topic) ?? new Map<number, bigint>();
        for (const [p, o] of partitions) if (!vector.has(p)) vector.set(p, BigInt(o));
        next.set(topic, vector);
      }
    },
    async stop() {
      await subscription?.stop();
      subscription = undefined;
    },
    stream<K extends HubTopic>({
      topic,
      keys,
      capacity,
      policy,
      after,
    }: StreamOptions<K>): AsyncIterableIterator<HubEvent<K>> {
      const resumeFrom = after === undefined ? undefined : decodePosition(after);
      const unregister: Array<() => void> = [];
      const live = createEventQueue<HubEvent<K>>({
        capacity,
        policy,
        onClose: () => {
          for (const off of unregister) off();
          size--;
        },
      });
      size++;
      // Registered and snapshotted in one synchronous step: live events start exactly at `upTo`.
      for (const key of new Set(keys)) {
        const id = `${topic}|${key}`;
        let set = listeners.get(id);
        if (!set) listeners.set(id, (set = new Set()));
        const listener = (event: Delivered<unknown>) => live.push(event as HubEvent<K>);
        set.add(listener);
        unregister.push(() => {
          set.delete(listener);
          if (set.size === 0) listeners.delete(id);
        });
      }
      if (!resumeFrom) return live;
      const upTo = new Map(next.get(topic) ?? []);
      const missed = replay(topic, new Set(keys), resumeFrom, upTo);
      let served: Array<HubEvent<K>> | undefined;
      return {
        async next() {
          served ??= (await missed) as Array<HubEvent<K>>;
          if (served.length > 0) return { value: served.shift()!, done: false };
          return live.next();
        },
        return: () => live.return!(),
        throw: (error) => live.throw!(error),
        [Symbol.asyncIterator]() {
          return this;
        },
      };
    },
    get size() {
      return size;
    },
    lag: () => subscription?.lag() ?? 0,
  };
}
