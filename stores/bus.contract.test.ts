/**
 * The event bus's contract, on Kafka and on the in-process bus alike: per-key order, every
 * subscriber without a group sees every event, exact start offsets and replay, and a handler
 * that fails is reported and gets the same events again (at least once) — the embedded bus
 * used to drop them.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../lib/logger.ts';
import { services } from '../test/services.ts';
import { until } from '../test/stack.ts';
import { createEmbeddedBus, type BusMessage, type EventBus } from './bus.ts';
import { createKafkaBus } from './kafka-bus.ts';
import { noopObserver } from './observer.ts';

type Reported = Array<{ component: string; error: unknown }>;
const buses: Array<[string, (reported: Reported) => Promise<EventBus>]> = [
  [
    'embedded',
    async (reported) =>
      createEmbeddedBus({ observer: noopObserver, report: (component, error) => reported.push({ component, error }) }),
  ],
  [
    'kafka',
    async (reported) => {
      const id = `ys-test-bus-${randomBytes(4).toString('hex')}`;
      return createKafkaBus({
        brokers: services.kafkaBrokers,
        clientId: id,
        topicPrefix: `${id}.`,
        observer: noopObserver,
        logger: createLogger({ level: 'silent' }),
        report: (component, error) => reported.push({ component, error }),
      });
    },
  ],
];

describe.each(buses)('event bus (%s)', (_, open) => {
  it('delivers to every subscriber in order per key, from where it started, and replays a range', async () => {
    const bus = await open([]);
    const a: BusMessage[] = [];
    const b: BusMessage[] = [];
    try {
      const subA = await bus.subscribe({ topics: ['t'], onMessages: async (m) => void a.push(...m) });
      const subB = await bus.subscribe({ topics: ['t'], onMessages: async (m) => void b.push(...m) });
      await bus.publish('t', [
        { key: 'x', value: '1' },
        { key: 'y', value: '1' },
        { key: 'x', value: '2' },
        { key: 'x', value: '3' },
      ]);
      await until('both subscribers', () => a.length === 4 && b.length === 4);
      const xs = (list: BusMessage[]) => list.filter((m) => m.key === 'x').map((m) => m.value);
      expect(xs(a)).toEqual(['1', '2', '3']);
      expect(xs(b)).toEqual(['1', '2', '3']);
      // Replaying [start, start + n) of each partition gives back exactly what was delivered.
      const ranges = [...subA.startOffsets.get('t')!].map(([partition, from]) => ({
        topic: 't',
        partition,
        from,
        to: String(BigInt(from) + BigInt(a.filter((m) => m.partition === partition).length)),
      }));
      const replayed: BusMessage[] = [];
      await bus.replay(ranges, async (m) => void replayed.push(...m));
      expect(replayed.map((m) => `${m.key}${m.value}`).sort()).toEqual(a.map((m) => `${m.key}${m.value}`).sort());
      await subA.stop();
      await subB.stop();
      await bus.ping();
    } finally {
      await bus.close();
    }
  });

  it('tells how many messages a subscriber has not handled yet (the consumer lag), back to 0 once handled', async () => {
    const bus = await open([]);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let handled = 0;
    try {
      const sub = await bus.subscribe({
        topics: ['lag'],
        onMessages: async (messages) => {
          await held;
          handled += messages.length;
        },
      });
      expect(sub.lag()).toBe(0);
      await bus.publish(
        'lag',
        Array.from({ length: 5 }, (_, i) => ({ key: 'k', value: String(i) })),
      );
      await until('the lag seen', () => sub.lag() >= 1);
      release();
      await until('all handled', () => handled === 5 && sub.lag() === 0);
      await sub.stop();
    } finally {
      await bus.close();
    }
  });

  it('reports a failing handler and delivers the same events again (at least once)', async () => {
    const reported: Reported = [];
    const bus = await open(reported);
    const seen: string[] = [];
    let failures = 1;
    try {
      const sub = await bus.subscribe({
        topics: ['fail'],
        onMessages: async (messages) => {
          if (failures-- > 0) throw new Error('handler failed once');
          seen.push(...messages.map((m) => m.value));
        },
      });
      await bus.publish('fail', [{ key: 'k', value: 'v1' }]);
      await until('redelivery', () => seen.includes('v1'), 60_000);
      expect(reported.some((r) => r.component === 'bus.handler')).toBe(true);
      await sub.stop();
    } finally {
      await bus.close();
    }
  });
});
