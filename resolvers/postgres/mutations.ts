/**
 * Writes to the source of truth. Input is validated completely before the first statement;
 * a foreign key that points nowhere becomes NOT_FOUND naming the argument, and nothing is written.
 *
 * After the commit, and before returning, a write evicts the cached responses that read what it
 * changed (so the writer's next read sees its write) and reports the change sequence its
 * transaction produced: the consistency token with which a later read waits for the other tiers.
 */
import { cacheTags } from '../../domain/cache-tags.ts';
import { loadPriceStats } from '../../domain/prices.ts';
import { badInput } from '../../lib/errors.ts';
import { formatDecimal, isDecimalString, multiplyDecimals, parseDecimal } from '../../lib/decimal.ts';
import { parseSlugId, parseUserId } from '../../lib/ids.ts';
import type { RecordTransactionInput, UpdateHoldingInput } from '../../schema/generated/resolvers-types.ts';
import type { Queryable } from '../../stores/postgres.ts';
import type { Context } from '../context.ts';
import { writeSequence } from '../../changelog/sequences.ts';
import { columns, type HoldingRow, type TransactionRow } from '../../domain/rows.ts';

const TX_HASH = /^0x[0-9a-f]{64}$/;

/** The input field each foreign-key column comes from, for NOT_FOUND errors. */
const INPUT_FIELDS = { user_id: 'input.userId', asset_id: 'input.assetId', protocol_id: 'input.protocolId' };

/** Maps a Postgres foreign-key violation (SQLSTATE 23503) to the argument that caused it. */
function foreignKeyError(error: unknown, fields: Record<string, string>): unknown {
  const pgError = error as { code?: string; constraint?: string };
  if (pgError.code !== '23503') return error;
  const column = Object.keys(fields).find((c) => pgError.constraint?.includes(`_${c}_`));
  const field = column ? fields[column]! : 'input';
  return badInput('NOT_FOUND', `${field} does not exist`, { field });
}

/** amount x the asset's latest price, refused when it overflows the money columns (20 integer digits). */
async function valueOf(ctx: Context, amount: bigint, assetId: string, field: string): Promise<string> {
  const value = multiplyDecimals(formatDecimal(amount), await priceOf(ctx, assetId));
  if (!isDecimalString(value)) {
    throw badInput('INVALID_DECIMAL', `${field} is too large: its USD value exceeds 20 integer digits`, { field });
  }
  return value;
}

/**
 * Runs a write of one row of `table` in a transaction and reads the change sequence its capture
 * trigger recorded (none when no captured column changed); then evicts `tags` and reports the
 * sequence. The row is found by its key through the change log's per-row index.
 */
async function write<T extends { id: string }>(
  ctx: Context,
  table: string,
  tags: readonly string[],
  statement: (tx: Queryable) => Promise<T>,
): Promise<T> {
  const { row, sequence } = await ctx.tiers.postgres.transaction(async (tx) => {
    const row = await statement(tx);
    return { row, sequence: await writeSequence(tx, table, row.id) };
  });
  await ctx.cache.invalidate(tags);
  if (sequence !== null) ctx.cache.wrote(sequence);
  return row;
}

async function priceOf(ctx: Context, assetId: string): Promise<string> {
  const stats = await loadPriceStats({ hot: ctx.tiers.hot, clickhouse: ctx.tiers.clickhouse, report: ctx.report }, [
    assetId,
  ]);
  return stats.get(assetId)?.price ?? '0';
}

/** Records a transaction of the caller, valued at amount x latest price. */
export async function recordTransaction(ctx: Context, input: RecordTransactionInput): Promise<TransactionRow> {
  const userId = parseUserId(input.userId, 'input.userId');
  const assetId = parseSlugId(input.assetId, 'input.assetId');
  const protocolId = input.protocolId ? parseSlugId(input.protocolId, 'input.protocolId') : null;
  const amount = parseDecimal(input.amount, 'input.amount');
  if (amount <= 0n) throw badInput('INVALID_DECIMAL', 'input.amount must be positive', { field: 'input.amount' });
  if (input.txHash && !TX_HASH.test(input.txHash)) {
    throw badInput('INVALID_ARGUMENT', 'input.txHash must be 0x followed by 64 lowercase hex digits', {
      field: 'input.txHash',
    });
  }
  const occurredAt = input.occurredAt ?? new Date();
  const valueUsd = await valueOf(ctx, amount, assetId, 'input.amount');
  const tags = [cacheTags.transactions(userId), ...(protocolId ? [cacheTags.volume(protocolId)] : [])];
  try {
    return await write(ctx, 'transaction_history', tags, async (tx) => {
      const [row] = await tx.query<TransactionRow>(
        `INSERT INTO transaction_history AS t (user_id, asset_id, protocol_id, type, amount, value_usd, tx_hash, occurred_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         RETURNING ${columns.transaction('t')}`,
        [userId, assetId, protocolId, input.type, formatDecimal(amount), valueUsd, input.txHash ?? null, occurredAt],
      );
      return row!;
    });
  } catch (error) {
    throw foreignKeyError(error, INPUT_FIELDS);
  }
}

/** Sets a position's quantity, creating the position if needed. */
export async function updateHolding(ctx: Context, input: UpdateHoldingInput): Promise<HoldingRow> {
  const userId = parseUserId(input.userId, 'input.userId');
  const assetId = parseSlugId(input.assetId, 'input.assetId');
  const protocolId = input.protocolId ? parseSlugId(input.protocolId, 'input.protocolId') : null;
  const quantity = parseDecimal(input.quantity, 'input.quantity');
  if (quantity < 0n)
    throw badInput('INVALID_DECIMAL', 'input.quantity must not be negative', { field: 'input.quantity' });
  const valueUsd = await valueOf(ctx, quantity, assetId, 'input.quantity');
  try {
    return await write(ctx, 'portfolio_holdings', [cacheTags.holdings(userId)], async (tx) => {
      const [row] = await tx.query<HoldingRow>(
        `INSERT INTO portfolio_holdings AS h (user_id, asset_id, protocol_id, quantity, value_usd)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT ON CONSTRAINT portfolio_holdings_position
         DO UPDATE SET quantity = EXCLUDED.quantity, value_usd = EXCLUDED.value_usd, updated_at = now()
         RETURNING ${columns.holding('h')}`,
        [userId, assetId, protocolId, formatDecimal(quantity), valueUsd],
      );
      return row!;
    });
  } catch (error) {
    throw foreignKeyError(error, INPUT_FIELDS);
  }
}
