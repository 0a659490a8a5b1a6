/**
 * The Postgres tier's contract, on a server and on embedded PGlite alike: statements with
 * parameters, transactions that roll back, text it cannot store refused as INVALID_ARGUMENT,
 * and readiness. LISTEN is a server-only capability (PGlite delivers no NOTIFY): on a server a
 * notification arrives, and a LISTEN connection the server drops is reopened.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { AppError } from '../lib/errors.ts';
import { createLogger } from '../lib/logger.ts';
import { createDatabase, until } from '../test/stack.ts';
import { noopObserver } from './observer.ts';
import { createEmbeddedPostgres, createServerPostgres, type Postgres } from './postgres.ts';

const logger = createLogger({ level: 'silent' });
const databases: Array<Awaited<ReturnType<typeof createDatabase>>> = [];
const implementations: Array<[string, () => Promise<Postgres>]> = [
  ['embedded', () => createEmbeddedPostgres({ dataDir: ':memory:', observer: noopObserver, logger })],
  [
    'server',
    async () => {
      const db = await createDatabase();
      databases.push(db);
      return createServerPostgres({ url: db.url, poolMax: 4, observer: noopObserver, logger });
    },
  ],
];
afterAll(async () => {
  for (const db of databases) await db.drop();
});

describe.each(implementations)('postgres (%s)', (kind, open) => {
  it('runs statements, commits a transaction, rolls back one that throws', async () => {
    const pg = await open();
    try {
      await pg.ping();
      await pg.query('CREATE TABLE t (id int PRIMARY KEY, v numeric(38, 18))');
      await pg.transaction(async (tx) => {
        await tx.query('INSERT INTO t VALUES ($1, $2)', [1, '0.000000000000000001']);
      });
      await expect(
        pg.transaction(async (tx) => {
          await tx.query('INSERT INTO t VALUES ($1, $2)', [2, '2']);
          throw new Error('abort');
        }),
      ).rejects.toThrow('abort');
      // Money stays a string, exact to the 18th place.
      expect(await pg.query('SELECT id, v FROM t ORDER BY id')).toEqual([{ id: 1, v: '0.000000000000000001' }]);
    } finally {
      await pg.close();
    }
  });

  it('refuses text it cannot store (a NUL byte) as INVALID_ARGUMENT, not an internal error', async () => {
    const pg = await open();
    try {
      await pg.query('CREATE TABLE n (s text)');
      const error = await pg.query('INSERT INTO n VALUES ($1)', ['a\u0000b']).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).code).toBe('INVALID_ARGUMENT');
    } finally {
      await pg.close();
    }
  });

  it(
    kind === 'server'
      ? 'delivers NOTIFY to a LISTEN that reopens after its connection is killed'
      : 'says it has no NOTIFY',
    async () => {
      const pg = await open();
      try {
        if (kind !== 'server') {
          expect(pg.supportsNotify).toBe(false);
          return;
        }
        const heard: string[] = [];
        let reopened = 0;
        const listener = await pg.listen({
          channels: ['c1'],
          onNotify: (c) => heard.push(c),
          onReconnect: () => reopened++,
        });
        await pg.query(`SELECT pg_notify('c1', '')`);
        await until('a notification', () => heard.length === 1);
        await pg.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'LISTEN c1' AND pid <> pg_backend_pid()`,
        );
        await until('the LISTEN reopened', () => reopened === 1 && listener.listening, 20_000);
        await pg.query(`SELECT pg_notify('c1', '')`);
        await until('a notification after the reopen', () => heard.length === 2);
        expect(listener.reconnects).toBe(1);
        await listener.close();
      } finally {
        await pg.close();
      }
    },
  );
});
