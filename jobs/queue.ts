/**
 * The job queue in Postgres (ops.jobs): long operations (backfill, consistency validation,
 * reconciliation) are enqueued by the gateway or the CLI and run by a sync worker, which
 * reports progress and stores the result. Finished jobs stay as the history of runs.
 *
 * Claiming uses `FOR UPDATE SKIP LOCKED`, so several workers split the queue; a running job's
 * worker heartbeats, and a job whose worker stopped heartbeating (it crashed) is queued again.
 */
import type { Postgres } from '../stores/postgres.ts';

/** What a job does. */
export type JobKind = 'BACKFILL' | 'VALIDATE' | 'RECONCILE';
/** Where a job is in its life. */
export type JobStatus = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED';

/** Parameters per kind. */
export interface JobParams {
  readonly BACKFILL: { readonly table: string };
  readonly VALIDATE: { readonly tables?: readonly string[]; readonly full?: boolean };
  readonly RECONCILE: { readonly table: string; readonly dryRun: boolean };
}

/** A job as stored. */
export interface JobRecord {
  readonly id: string;
  readonly kind: JobKind;
  readonly params: Record<string, unknown>;
  readonly status: JobStatus;
  readonly progress: number;
  readonly result: unknown;
  readonly error: string | null;
  readonly requestedBy: string;
  readonly createdAt: Date;
  readonly startedAt: Date | null;
  readonly finishedAt: Date | null;
}

/** The channel a worker LISTENs on to start a new job at once rather than at its next poll. */
export const JOBS_CHANNEL = 'ops_jobs';

const COLUMNS = `id::text AS id, kind, params, status, progress, result, error, requested_by AS "requestedBy",
  created_at AS "createdAt", started_at AS "startedAt", finished_at AS "finishedAt"`;

/** The queue's statements over one Postgres connection source. */
export function createJobQueue(options: { db: Postgres }) {
  const { db } = options;
  return {
    /** Queues a job and wakes a listening worker; returns the stored job. */
    async enqueue<K extends JobKind>(kind: K, params: JobParams[K], requestedBy: string): Promise<JobRecord> {
      const [job] = await db.query<JobRecord>(
        `WITH j AS (INSERT INTO ops.jobs (kind, params, requested_by) VALUES ($1, $2, $3) RETURNING *)
         SELECT ${COLUMNS}, pg_notify('${JOBS_CHANNEL}', id::text) IS NULL AS _ FROM j`,
        [kind, JSON.stringify(params), requestedBy],
      );
      return strip(job!);
    },

    /**
     * Queues a job unless one of this kind from `requestedBy` was queued less than `intervalMs`
     * ago (scheduled work from several workers: one per interval). Returns the job, or null.
     */
    async enqueueIfDue<K extends JobKind>(
      kind: K,
      params: JobParams[K],
      requestedBy: string,
      intervalMs: number,
    ): Promise<JobRecord | null> {
      // The lock first, in its own statement: the check below then sees every job committed
      // by another worker that held the lock before us (READ COMMITTED: a snapshot per statement).
      const [job] = await db.transaction(async (tx) => {
        await tx.query(`SELECT pg_advisory_xact_lock(hashtext('ops.jobs:' || $1 || ':' || $2))`, [kind, requestedBy]);
        return tx.query<JobRecord>(
          `WITH j AS (
             INSERT INTO ops.jobs (kind, params, requested_by)
             SELECT $1, $2, $3
             WHERE NOT EXISTS (
               SELECT 1 FROM ops.jobs WHERE kind = $1 AND requested_by = $3
                 AND created_at > now() - make_interval(secs => $4::float8 / 1000))
             RETURNING *)
           SELECT ${COLUMNS}, pg_notify('${JOBS_CHANNEL}', id::text) IS NULL AS _ FROM j`,
          [kind, JSON.stringify(params), requestedBy, intervalMs],
        );
      });
      return job ? strip(job) : null;
    },

    /** One job, or null. */
    async get(id: string): Promise<JobRecord | null> {
      const [job] = await db.query<JobRecord>(`SELECT ${COLUMNS} FROM ops.jobs WHERE id = $1::bigint`, [id]);
      return job ?? null;
    },

    /** The newest finished job of a kind, or null. */
    async latestFinished(kind: JobKind): Promise<JobRecord | null> {
      const [job] = await db.query<JobRecord>(
        `SELECT ${COLUMNS} FROM ops.jobs j WHERE kind = $1 AND status IN ('SUCCEEDED', 'FAILED') ORDER BY j.id DESC LIMIT 1`,
        [kind],
      );
      return job ?? null;
    },

    /** The most recent jobs, newest first. */
    list(last: number): Promise<JobRecord[]> {
      return db.query<JobRecord>(`SELECT ${COLUMNS} FROM ops.jobs j ORDER BY j.id DESC LIMIT $1`, [last]);
    },

    /** Takes the oldest queued job for `workerId`, or null when none is queued. */
    async claim(workerId: string): Promise<JobRecord | null> {
      const [job] = await db.query<JobRecord>(
        `UPDATE ops.jobs SET status = 'RUNNING', worker_id = $1, started_at = now(), heartbeat_at = now(), progress = 0
         WHERE id = (SELECT id FROM ops.jobs WHERE status = 'QUEUED' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
         RETURNING ${COLUMNS}`,
        [workerId],
      );
      return job ?? null;
    },

    /** Records progress (0..1) and the worker's heartbeat. */
    async progress(id: string, progress: number): Promise<void> {
      await db.query(
        `UPDATE ops.jobs SET progress = $2, heartbeat_at = now() WHERE id = $1::bigint AND status = 'RUNNING'`,
        [id, Math.min(1, Math.max(0, progress))],
      );
    },

    /** Finishes a job with its result. */
    async succeed(id: string, result: unknown): Promise<void> {
      await db.query(
        `UPDATE ops.jobs SET status = 'SUCCEEDED', progress = 1, result = $2, finished_at = now() WHERE id = $1::bigint`,
        [id, JSON.stringify(result)],
      );
    },

    /** Finishes a job with an error message (shown to whoever asked). */
    async fail(id: string, message: string): Promise<void> {
      await db.query(
        `UPDATE ops.jobs SET status = 'FAILED', error = left($2, 2000), finished_at = now() WHERE id = $1::bigint`,
        [id, message],
      );
    },

    /** Gives a running job back to the queue (its worker is stopping). */
    async release(id: string, workerId: string): Promise<void> {
      await db.query(
        `UPDATE ops.jobs SET status = 'QUEUED', worker_id = NULL, started_at = NULL, progress = 0
         WHERE id = $1::bigint AND worker_id = $2 AND status = 'RUNNING'`,
        [id, workerId],
      );
    },

    /** Queues again the running jobs whose worker has not heartbeaten for `staleMs` (it died). */
    async requeueStale(staleMs: number): Promise<number> {
      const rows = await db.query<{ id: string }>(
        `UPDATE ops.jobs SET status = 'QUEUED', worker_id = NULL, started_at = NULL
         WHERE status = 'RUNNING' AND heartbeat_at < now() - make_interval(secs => $1::float8 / 1000)
         RETURNING id::text AS id`,
        [staleMs],
      );
      return rows.length;
    },
  };
}

/** The job queue's interface, as gateway and worker receive it. */
export type JobQueue = ReturnType<typeof createJobQueue>;

function strip(job: JobRecord & { _?: unknown }): JobRecord {
  const { _: _ignored, ...rest } = job;
  return rest;
}
