import { describe, expect, it } from 'vitest';
import { AppError } from '../../lib/errors.ts';
import { TABLES } from '../../domain/tables.ts';
import { createEmbeddedBus } from '../../stores/bus.ts';
import { createLogger } from '../../lib/logger.ts';
import { createEventHub } from './hub.ts';
import { createEventQueue } from './queue.ts';

const take = async <T>(it: AsyncIterator<T>, n: number) => {
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push((await it.next()).value as T);
  return out;
};

describe('subscription queues', () => {
  it('coalesce: keeps the newest event per key and never more than its capacity', async () => {
    const q = createEventQueue<{ k: string; v: number }>({
      capacity: 2,
      policy: { kind: 'coalesce', keyOf: (e) => e.k },
    });
    q.push({ k: 'ETH', v: 1 });
    q.push({ k: 'BTC', v: 1 });
    q.push({ k: 'ETH', v: 2 }); // replaces ETH in place
    q.push({ k: 'SOL', v: 1 }); // full: the oldest (ETH) goes
    expect(await take(q, 2)).toEqual([
      { k: 'BTC', v: 1 },
      { k: 'SOL', v: 1 },
    ]);
    expect(q.overflowed).toBe(2);
  });

  it('close: ends the stream with SLOW_CONSUMER once the client is a full queue behind', async () => {
    const q = createEventQueue<number>({ capacity: 3, policy: { kind: 'close' } });
    for (let i = 0; i < 5; i++) q.push(i);
    expect(await take(q, 3)).toEqual([0, 1, 2]);
    await expect(q.next()).rejects.toSatisfy((e: unknown) => e instanceof AppError && e.code === 'SLOW_CONSUMER');
  });

  it('a stream nobody reads does not hold up another stream of the same events', async () => {
    const bus = createEmbeddedBus({
      observer: () => {},
      report: (component, error) => {
        throw new Error(`${component}: ${String(error)}`);
      },
    });
    const hub = createEventHub({ bus, tables: TABLES, logger: createLogger({ level: 'silent' }) });
    await hub.start();
    const stalled = hub.stream({
      topic: 'market',
      keys: ['ETH'],
      capacity: 4,
      policy: { kind: 'coalesce', keyOf: (d) => d.event.assetId },
    });
    const live = hub.stream({ topic: 'market', keys: ['ETH'], capacity: 1_000, policy: { kind: 'close' } });
    const events = Array.from({ length: 500 }, (_, i) => ({
      key: 'ETH',
      value: JSON.stringify({ assetId: 'ETH', price: String(i), change24h: null, ts: new Date().toISOString() }),
    }));
    await bus.publish('defi.market', events);
    const got = await take(live, 500);
    expect(got.map((d) => d.event.price)).toEqual(events.map((_, i) => String(i)));
    // The stalled one holds only the newest state.
    expect((await stalled.next()).value.event.price).toBe('499');
    await stalled.return!();
    await live.return!();
    expect(hub.size).toBe(0);
    await hub.stop();
  });
});
