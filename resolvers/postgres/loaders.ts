/**
 * Request-scoped DataLoaders for the Postgres tier. Each batch is one statement with array
 * parameters (`= ANY($1)`, `unnest`), so N parents cost one round trip, not N.
 */
import DataLoader from 'dataloader';
import type { Postgres } from '../../stores/postgres.ts';
import { type BatchObserver, observed, orderByKeys } from '../batch.ts';
import {
  columns,
  type AssetRow,
  type HoldingRow,
  type ProtocolRow,
  type TransactionRow,
  type UserRow,
} from '../../domain/rows.ts';
import type { TransactionCursor } from './cursor.ts';

/** One requested page of a user's transactions. */
export interface TransactionPageKey {
  readonly userId: string;
  /** Rows to fetch: the page size plus one, to learn whether a next page exists. */
  readonly limit: number;
  readonly after: TransactionCursor | null;
}

const pageKeyString = (k: TransactionPageKey) =>
  `${k.userId}|${k.limit}|${k.after ? `${k.after.occurredAtUs}|${k.after.id}` : ''}`;

/** A page row with its time in exact microseconds, for the next cursor. */
export type TransactionPageRow = TransactionRow & { readonly occurredAtUs: string };

/** The Postgres loaders of one request. */
export function createPostgresLoaders(options: { onBatch?: BatchObserver; postgres: Postgres; batch: boolean }) {
  const { postgres, batch } = options;

  const users = new DataLoader<string, UserRow | null>(
    observed('postgres.users', options.onBatch, async (ids) =>
      orderByKeys(
        ids,
        await postgres.query<UserRow>(`SELECT ${columns.user('u')} FROM users u WHERE u.id = ANY($1::bigint[])`, [ids]),
        (r) => r.id,
      ),
    ),
    { batch },
  );

  const usersByHandle = new DataLoader<string, UserRow | null>(
    observed('postgres.usersByHandle', options.onBatch, async (handles) =>
      orderByKeys(
        handles,
        await postgres.query<UserRow>(`SELECT ${columns.user('u')} FROM users u WHERE u.handle = ANY($1::text[])`, [
          handles,
        ]),
        (r) => r.handle,
      ),
    ),
    { batch },
  );

  const assets = new DataLoader<string, AssetRow | null>(
    observed('postgres.assets', options.onBatch, async (ids) =>
      orderByKeys(
        ids,
        await postgres.query<AssetRow>(`SELECT ${columns.asset('a')} FROM assets a WHERE a.id = ANY($1::text[])`, [
          ids,
        ]),
        (r) => r.id,
      ),
    ),
    { batch },
  );

  const protocols = new DataLoader<string, ProtocolRow | null>(
    observed('postgres.protocols', options.onBatch, async (ids) =>
      orderByKeys(
        ids,
        await postgres.query<ProtocolRow>(
          `SELECT ${columns.protocol('p')} FROM protocols p WHERE p.id = ANY($1::text[])`,
          [ids],
        ),
        (r) => r.id,
      ),
    ),
    { batch },
  );

  /**
   * A user's holdings with the user, each asset and each protocol joined in the same statement:
   * the rows prime the user, asset and protocol loaders, so a whole portfolio costs one Postgres
   * round trip. `null` means no such user. Without batching (the benchmark's baseline) nothing
   * is primed.
   */
  const holdingsByUser = new DataLoader<string, HoldingRow[] | null>(
    observed('postgres.holdingsByUser', options.onBatch, async (userIds) => {
      // Flat columns, not json_build_object: cheaper for Postgres to produce and for pg to parse.
      const rows = await postgres.query<Record<string, any>>(
        `SELECT u.id::text AS u_id, u.handle AS u_handle, u.display_name AS u_name, u.created_at AS u_created,
                h.id::text AS h_id, h.asset_id AS h_asset, h.protocol_id AS h_protocol, h.quantity::text AS h_quantity,
                h.value_usd::text AS h_value, h.updated_at AS h_updated,
                a.symbol AS a_symbol, a.name AS a_name, a.chain AS a_chain, a.decimals AS a_decimals,
                p.name AS p_name, p.category AS p_category, p.chain AS p_chain, p.website AS p_website, p.tvl_usd::text AS p_tvl
         FROM users u
         LEFT JOIN portfolio_holdings h ON h.user_id = u.id
         LEFT JOIN assets a ON a.id = h.asset_id
         LEFT JOIN protocols p ON p.id = h.protocol_id
         WHERE u.id = ANY($1::bigint[])
         ORDER BY u.id, h.id`,
        [userIds],
      );
      const byUser = new Map<string, HoldingRow[]>();
      for (const r of rows) {
        let list = byUser.get(r.u_id);
        if (!list) {
          byUser.set(r.u_id, (list = []));
          if (batch)
            users.prime(r.u_id, { id: r.u_id, handle: r.u_handle, displayName: r.u_name, createdAt: r.u_created });
        }
        if (r.h_id === null) continue;
        list.push({
          id: r.h_id,
          userId: r.u_id,
          assetId: r.h_asset,
          protocolId: r.h_protocol,
          quantity: r.h_quantity,
          valueUsd: r.h_value,
          updatedAt: r.h_updated,
        });
        if (!batch) continue;
        assets.prime(r.h_asset, {
          id: r.h_asset,
          symbol: r.a_symbol,
          name: r.a_name,
          chain: r.a_chain,
          decimals: r.a_decimals,
        });
        if (r.h_protocol !== null) {
          protocols.prime(r.h_protocol, {
            id: r.h_protocol,
            name: r.p_name,
            category: r.p_category,
            chain: r.p_chain,
            website: r.p_website,
            tvlUsd: r.p_tvl,
          });
        }
      }
      return userIds.map((id) => byUser.get(id) ?? null);
    }),
    { batch },
  );

  /** Keyset pages for many users in one statement: a LATERAL subquery per requested page. */
  const transactionPages = new DataLoader<TransactionPageKey, TransactionPageRow[], string>(
    observed('postgres.transactionPages', options.onBatch, async (keys) => {
      // The cursor's time travels as exact microseconds both ways: extract(epoch) is numeric
      // (exact) and the interval arithmetic is integer microseconds.
      const rows = await postgres.query<TransactionPageRow & { k: number }>(
        `SELECT k.ord::int AS k, ${columns.transaction('t')},
                (extract(epoch FROM t.occurred_at) * 1000000)::bigint::text AS "occurredAtUs"
         FROM unnest($1::bigint[], $2::int[], $3::bigint[], $4::bigint[]) WITH ORDINALITY AS k(user_id, lim, after_us, after_id, ord)
         CROSS JOIN LATERAL (
           SELECT * FROM transaction_history t
           WHERE t.user_id = k.user_id
             AND (k.after_us IS NULL
                  OR (t.occurred_at, t.id) < (timestamptz 'epoch' + k.after_us * interval '1 microsecond', k.after_id))
           ORDER BY t.occurred_at DESC, t.id DESC
           LIMIT k.lim
         ) t
         ORDER BY k.ord, t.occurred_at DESC, t.id DESC`,
        [
          keys.map((k) => k.userId),
          keys.map((k) => k.limit),
          keys.map((k) => k.after?.occurredAtUs ?? null),
          keys.map((k) => k.after?.id ?? null),
        ],
      );
      const groups = keys.map(() => [] as TransactionPageRow[]);
      for (const { k, ...row } of rows) groups[k - 1]!.push(row);
      return groups;
    }),
    { batch, cacheKeyFn: pageKeyString },
  );

  return { users, usersByHandle, assets, protocols, holdingsByUser, transactionPages };
}

/** The Postgres loaders' types. */
export type PostgresLoaders = ReturnType<typeof createPostgresLoaders>;
