/**
 * The shared `JobStore`: any number of server processes, on any number of machines, over one PostgreSQL database
 * (`FACEDET_DATABASE_URL`). The rules are `JobStore`'s; what PostgreSQL adds to keep them with many writers:
 *
 * - **Claims** lock the chosen row `FOR UPDATE SKIP LOCKED`: two workers never wait on or take the same task. The
 *   choice stays fair across API keys (the oldest task of the key with the fewest tasks running).
 * - **Fencing**: every write of a worker names its claim (`lease_owner`, `fence`) in its `WHERE`; a worker whose
 *   lease ran out and was taken over changes nothing (`LeaseLost`).
 * - **One clock**: leases and expiries use the database's clock (`facedet_now_ms()`), never a machine's.
 * - **Creates**: the idempotency key is a unique index (a race is settled by `ON CONFLICT`, the loser reads the
 *   winner's row); the queue bound is counted under a transaction-level advisory lock, so two creates cannot both
 *   take the last place.
 * - **Wake-ups**: a trigger sends `NOTIFY facedet_queued` / `facedet_ended` at commit (see `PgSchema`).
 * - **Sweeps** run under a try-lock: one process sweeps at a time, the others skip that round.
 * - **Poison inputs**: a task whose worker is lost `maxAttempts` times ends `failed` with `Detect.WorkerLost`.
 *
 * Every call is bounded (`statementTimeoutMs`) and a database out of reach fails fast with
 * `StoreError { unavailable: true }`.
 *
 * @since 0.1.0
 */
import type { TaskError } from "@facedet/core/DetectTask"
import { TaskErrorCode } from "@facedet/core/TaskErrorCode"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stages from "./internal/stages.js"
import type { Claim, Created, CreateInput, DeliveryOutcome, MediaFile, Service, Success, Task } from "./JobStore.js"
import { type DeliveryRow, type MediaRow, type TaskRow as Row, toDelivery, toMedia, toTask } from "./internal/rows.js"
import { IdempotencyConflict, JobStore, LeaseLost, OwnerQuotaExceeded, QueueFull, StoreError } from "./JobStore.js"
import * as Postgres from "./Postgres.js"
import { releaseRefunds } from "./SqliteJobStore.js"

/**
 * Options of the PostgreSQL store.
 *
 * @since 0.1.0
 */
export interface Options {
  /** Attempts a task gets before it fails with `Detect.WorkerLost`. Default 3. */
  readonly maxAttempts?: number
  /** Longest a store call may take before it fails (default 10 s). */
  readonly statementTimeoutMs?: number
}

/** Advisory-lock keys (constants; any value works). */
const queueLock = 0x66640001
const sweepLock = 0x66640002

/**
 * A store failure; `unavailable` when the database is out of reach.
 *
 * @since 0.1.0
 */
export const storeError = (operation: string) => (cause: unknown) =>
  new StoreError({ operation, cause, unavailable: Postgres.isUnavailable(cause) })

/** The stage SQL of every move (see `internal/stages`), built once from core's machine rather than on each call. */
const sqlOf = {
  setRunning: Stages.set("running"),
  setSucceeded: Stages.set("succeeded"),
  setFailed: Stages.set("failed"),
  setQueued: Stages.set("queued"),
  isRunning: Stages.is("running"),
  claimable: Stages.into(["running"], "t.state"),
  toSucceeded: Stages.into(["succeeded"]),
  toFailed: Stages.into(["failed"]),
  toQueued: Stages.into(["queued"]),
  expirable: Stages.into(["queued", "failed"])
} as const

/**
 * The store over the `SqlClient` in context (a PostgreSQL one, migrated).
 *
 * @since 0.1.0
 */
export const make = (options: Options = {}): Effect.Effect<Service, never, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const maxAttempts = options.maxAttempts ?? 3
    const timeout = Duration.millis(options.statementTimeoutMs ?? 10_000)

    /** Runs one store operation: typed failure, bounded time. */
    const run = <A, E, R>(operation: string, effect: Effect.Effect<A, E, R>): Effect.Effect<A, StoreError, R> =>
      effect.pipe(
        Postgres.failOnSqlDefect,
        Effect.timeoutFail({
          duration: timeout,
          onTimeout: () => new Error(`no answer from PostgreSQL within ${Duration.format(timeout)}`)
        }),
        Effect.mapError(storeError(operation))
      )

    const one = <A>(rows: ReadonlyArray<A>): Option.Option<A> => Option.fromNullable(rows[0])

    const create = (input: CreateInput) =>
      Effect.flatMap(
        run(
          "create",
          sql.withTransaction(
            Effect.gen(function* () {
              const replay = (previous: Row) =>
                previous.request_hash === (input.requestHash ?? null)
                  ? ({ task: toTask(previous), created: false } satisfies Created)
                  : new IdempotencyConflict({ key: input.idempotencyKey!, taskId: previous.id })
              if (input.idempotencyKey !== undefined) {
                const previous = yield* sql<Row>`SELECT * FROM tasks
                  WHERE owner = ${input.owner} AND idem_key = ${input.idempotencyKey}`
                if (previous[0] !== undefined) return replay(previous[0])
              }
              yield* sql`SELECT pg_advisory_xact_lock(${queueLock})`
              const [counts] = yield* sql<{ active: number; mine: number }>`SELECT
                  count(*)::int AS active, count(*) FILTER (WHERE owner = ${input.owner})::int AS mine
                FROM tasks WHERE state IN ('queued', 'running')`
              const depth = counts?.active ?? 0
              if (depth >= input.queueLimit) return new QueueFull({ limit: input.queueLimit, depth })
              if (input.ownerLimit !== undefined && (counts?.mine ?? 0) >= input.ownerLimit) {
                return new OwnerQuotaExceeded({ limit: input.ownerLimit, active: counts?.mine ?? 0 })
              }
              const inserted = yield* sql<Row>`INSERT INTO tasks (id, kind, media_url, owner, state, created_at,
                  idem_key, request_hash, callback_url, upload_token, embeddings)
                VALUES (${input.id}, ${input.kind}, ${input.mediaUrl}, ${input.owner}, 'queued', facedet_now_ms(),
                  ${input.idempotencyKey ?? null}, ${input.requestHash ?? null}, ${input.callbackUrl ?? null},
                  ${input.uploadToken ?? null}, ${input.embeddings === true})
                ON CONFLICT (owner, idem_key) WHERE idem_key IS NOT NULL DO NOTHING
                RETURNING *`
              if (inserted[0] !== undefined) return { task: toTask(inserted[0]), created: true } satisfies Created
              // Another process inserted the same key between our read and our insert: its row is the answer.
              const winner = yield* sql<Row>`SELECT * FROM tasks
                WHERE owner = ${input.owner} AND idem_key = ${input.idempotencyKey ?? null}`
              return replay(winner[0]!)
            })
          )
        ),
        (result): Effect.Effect<Created, QueueFull | OwnerQuotaExceeded | IdempotencyConflict> =>
          "_tag" in result ? Effect.fail(result) : Effect.succeed(result)
      )

    const get = (id: string) =>
      run("get", Effect.map(sql<Row>`SELECT * FROM tasks WHERE id = ${id}`, one)).pipe(Effect.map(Option.map(toTask)))

    const claim = (workerId: string, leaseMs: number) =>
      run(
        "claim",
        sql<Row>`UPDATE tasks SET ${sql.literal(sqlOf.setRunning)}, lease_owner = ${workerId},
            lease_expires_at = facedet_now_ms() + ${leaseMs}, fence = fence + 1, attempts = attempts + 1,
            started_at = coalesce(started_at, facedet_now_ms())
          WHERE id = (
            -- Fair across keys: the key with the fewest tasks running first, then the oldest task.
            WITH busy AS (SELECT owner, count(*) AS n FROM tasks WHERE ${sql.literal(sqlOf.isRunning)} GROUP BY owner)
            SELECT t.id FROM tasks t LEFT JOIN busy b ON b.owner = t.owner
            WHERE ${sql.literal(sqlOf.claimable)}
            ORDER BY coalesce(b.n, 0), t.seq
            LIMIT 1
            FOR UPDATE OF t SKIP LOCKED)
          RETURNING *`
      ).pipe(Effect.map((rows) => Option.map(one(rows), (r): Claim => ({ task: toTask(r), workerId, fence: r.fence }))))

    /** A fenced write: `LeaseLost` when it matched no row. */
    const fenced = <A>(operation: string, c: Claim, effect: Effect.Effect<Option.Option<A>, unknown>) =>
      Effect.flatMap(
        run(operation, effect),
        Option.match({
          onNone: () => Effect.fail(new LeaseLost({ taskId: c.task.id, fence: c.fence })),
          onSome: Effect.succeed
        })
      )

    /** The claim's row, in a stage `guard` allows (core's machine; see `internal/stages`). */
    const held = (c: Claim, guard: string = sqlOf.isRunning) =>
      sql`id = ${c.task.id} AND ${sql.literal(guard)} AND lease_owner = ${c.workerId} AND fence = ${c.fence}`

    /** The outbox row of an ending task, in the ending transaction; `msg_` + the task id is stable across retries. */
    const outbox = (id: string) =>
      sql`INSERT INTO webhooks (id, task_id, owner, url, state, next_attempt_at, created_at)
        SELECT 'msg_' || id, id, owner, callback_url, 'pending', facedet_now_ms(), facedet_now_ms() FROM tasks
        WHERE id = ${id} AND callback_url IS NOT NULL
        ON CONFLICT DO NOTHING`

    const heartbeat = (c: Claim, leaseMs: number) =>
      fenced(
        "heartbeat",
        c,
        Effect.map(
          sql`UPDATE tasks SET lease_expires_at = facedet_now_ms() + ${leaseMs} WHERE ${held(c)} RETURNING id`,
          (rows) => (rows.length === 1 ? Option.some(undefined) : Option.none())
        )
      )

    const complete = (c: Claim, s: Success) =>
      fenced(
        "complete",
        c,
        sql.withTransaction(
          Effect.gen(function* () {
            const rows =
              yield* sql<Row>`UPDATE tasks SET ${sql.literal(sqlOf.setSucceeded)}, finished_at = facedet_now_ms(),
                detect_id = ${s.detectId}, faces = ${JSON.stringify(s.faces)}::json,
                media_expires_at = facedet_now_ms() + ${s.ttlMs}, lease_owner = NULL, lease_expires_at = NULL,
                completions = completions + 1
              WHERE ${held(c, sqlOf.toSucceeded)} RETURNING *`
            const row = rows[0]
            if (row === undefined) return Option.none<Task>()
            if (s.files.length > 0) {
              yield* sql`INSERT INTO media ${sql.insert(
                s.files.map((f) => ({
                  token: f.token,
                  kind: f.kind,
                  path: f.path,
                  content_type: f.contentType,
                  size: f.size,
                  expires_at: row.media_expires_at!,
                  task_id: f.taskId ?? c.task.id,
                  owner: f.owner ?? null
                }))
              )} ON CONFLICT (token) DO NOTHING`
            }
            if (row.callback_url !== null) yield* outbox(c.task.id)
            return Option.some(toTask(row))
          })
        )
      )

    const fail = (c: Claim, error: TaskError) =>
      fenced(
        "fail",
        c,
        sql.withTransaction(
          Effect.gen(function* () {
            const rows =
              yield* sql<Row>`UPDATE tasks SET ${sql.literal(sqlOf.setFailed)}, finished_at = facedet_now_ms(),
                error_code = ${error.code}, error_message = ${error.message}, lease_owner = NULL,
                lease_expires_at = NULL, completions = completions + 1
              WHERE ${held(c, sqlOf.toFailed)} RETURNING *`
            const row = rows[0]
            if (row === undefined) return Option.none<Task>()
            if (row.callback_url !== null) yield* outbox(c.task.id)
            return Option.some(toTask(row))
          })
        )
      )

    // Past its refunds, a released attempt counts; a task out of attempts then fails rather than cycling.
    const release = (c: Claim) =>
      fenced(
        "release",
        c,
        sql.withTransaction(
          Effect.gen(function* () {
            const gaveUp =
              yield* sql<Row>`UPDATE tasks SET ${sql.literal(sqlOf.setFailed)}, finished_at = facedet_now_ms(),
                error_code = ${TaskErrorCode.DetectTimeout},
                error_message = 'the task did not finish before the server stopped, again and again; giving up',
                lease_owner = NULL, lease_expires_at = NULL, completions = completions + 1, releases = releases + 1
              WHERE ${held(c, sqlOf.toFailed)} AND releases >= ${releaseRefunds} AND attempts >= ${maxAttempts} RETURNING *`
            if (gaveUp[0] !== undefined) {
              if (gaveUp[0].callback_url !== null) yield* outbox(c.task.id)
              return Option.some(undefined)
            }
            const released = yield* sql`UPDATE tasks SET ${sql.literal(sqlOf.setQueued)}, lease_owner = NULL,
                lease_expires_at = NULL, releases = releases + 1,
                attempts = CASE WHEN releases < ${releaseRefunds} THEN greatest(attempts - 1, 0) ELSE attempts END
              WHERE ${held(c, sqlOf.toQueued)} RETURNING id`
            return released.length === 1 ? Option.some(undefined) : Option.none()
          })
        )
      )

    const requeueExpired = (max: number) =>
      run(
        "requeueExpired",
        sql.withTransaction(
          Effect.gen(function* () {
            // Rows another reaper holds are skipped: it is handling them.
            const rows = yield* sql<Row>`WITH expired AS (
                SELECT id FROM tasks WHERE ${sql.literal(sqlOf.expirable)}
                  AND lease_expires_at <= facedet_now_ms()
                FOR UPDATE SKIP LOCKED)
              UPDATE tasks t SET
                state = CASE WHEN t.attempts >= ${max} THEN 'failed' ELSE 'queued' END,
                finished_at = CASE WHEN t.attempts >= ${max} THEN facedet_now_ms() END,
                error_code = CASE WHEN t.attempts >= ${max} THEN ${TaskErrorCode.WorkerLost} END,
                error_message = CASE WHEN t.attempts >= ${max}
                  THEN 'the worker processing this task stopped ' || t.attempts || ' times (crash or timeout); giving up'
                  END,
                completions = t.completions + CASE WHEN t.attempts >= ${max} THEN 1 ELSE 0 END,
                lease_owner = NULL, lease_expires_at = NULL
              FROM expired WHERE t.id = expired.id
              RETURNING t.*`
            for (const row of rows) if (row.state === "failed" && row.callback_url !== null) yield* outbox(row.id)
            return rows.map(toTask)
          })
        )
      )

    const depth = run(
      "depth",
      sql<{ state: string; n: number }>`SELECT state, count(*)::int AS n FROM tasks
        WHERE state IN ('queued', 'running') GROUP BY state`
    ).pipe(
      Effect.map((rows) => ({
        queued: rows.find((r) => r.state === "queued")?.n ?? 0,
        running: rows.find((r) => r.state === "running")?.n ?? 0
      }))
    )

    const putMedia = (file: MediaFile) =>
      run(
        "putMedia",
        sql`INSERT INTO media (token, kind, path, content_type, size, expires_at, task_id, owner)
          VALUES (${file.token}, ${file.kind}, ${file.path}, ${file.contentType}, ${file.size}, ${file.expiresAt},
            ${file.taskId ?? null}, ${file.owner ?? null})
          ON CONFLICT (token) DO UPDATE SET kind = EXCLUDED.kind, path = EXCLUDED.path,
            content_type = EXCLUDED.content_type, size = EXCLUDED.size, expires_at = EXCLUDED.expires_at,
            task_id = EXCLUDED.task_id, owner = EXCLUDED.owner`
      ).pipe(Effect.asVoid)

    const getMedia = (token: string) =>
      run("getMedia", sql<MediaRow>`SELECT * FROM media WHERE token = ${token} AND expires_at > facedet_now_ms()`).pipe(
        Effect.map((rows) => Option.map(one(rows), toMedia))
      )

    // One sweeper at a time (a try-lock: the others skip this round), one bounded batch per call.
    const sweep = (retentionMs: number, limit = 500) =>
      run(
        "sweep",
        sql.withTransaction(
          Effect.gen(function* () {
            const [lock] = yield* sql<{ ok: boolean }>`SELECT pg_try_advisory_xact_lock(${sweepLock}) AS ok`
            if (!lock?.ok) return { tasks: 0, files: [] as ReadonlyArray<string>, more: false }
            const expired = yield* sql<{ path: string }>`DELETE FROM media WHERE token IN (
                SELECT token FROM media WHERE expires_at <= facedet_now_ms() LIMIT ${limit})
              RETURNING path`
            const tasks = yield* sql`DELETE FROM tasks WHERE id IN (
                SELECT id FROM tasks WHERE state IN ('succeeded', 'failed')
                  AND finished_at <= facedet_now_ms() - ${retentionMs}
                  AND (media_expires_at IS NULL OR media_expires_at <= facedet_now_ms())
                LIMIT ${limit})
              RETURNING id`
            // Settled deliveries go with their task's record; a pending one outlives it.
            yield* sql`DELETE FROM webhooks w WHERE state <> 'pending'
              AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.id = w.task_id)`
            yield* sql`DELETE FROM webhook_secrets
              WHERE retired_until IS NOT NULL AND retired_until <= facedet_now_ms()`
            yield* sql`DELETE FROM rate_buckets WHERE at < facedet_now_ms() - 3600000`
            return {
              tasks: tasks.length,
              files: expired.map((r) => r.path),
              more: expired.length === limit || tasks.length === limit
            }
          })
        )
      )

    const claimDeliveries = (limit: number, leaseMs: number) =>
      run(
        "claimDeliveries",
        sql<DeliveryRow>`UPDATE webhooks SET lease_until = facedet_now_ms() + ${leaseMs}
          WHERE id IN (
            SELECT id FROM webhooks WHERE state = 'pending' AND next_attempt_at <= facedet_now_ms()
              AND (lease_until IS NULL OR lease_until <= facedet_now_ms())
            ORDER BY next_attempt_at LIMIT ${limit}
            FOR UPDATE SKIP LOCKED)
          RETURNING *`
      ).pipe(Effect.map((rows) => rows.map(toDelivery)))

    const settleDelivery = (id: string, outcome: DeliveryOutcome) =>
      run(
        "settleDelivery",
        sql`UPDATE webhooks SET
            state = ${outcome._tag === "Delivered" ? "delivered" : outcome._tag === "Retry" ? "pending" : "failed"},
            attempts = attempts + 1, last_status = ${outcome.status ?? null},
            last_error = ${outcome._tag === "Delivered" ? null : outcome.error.slice(0, 500)},
            next_attempt_at = ${outcome._tag === "Retry" ? outcome.at : null}, lease_until = NULL,
            settled_at = ${outcome._tag === "Retry" ? null : sql`facedet_now_ms()`}
          WHERE id = ${id} AND state = 'pending'`
      ).pipe(Effect.asVoid)

    /** The key's current secret, inside a transaction that holds the key's lock (rotations across processes wait). */
    const lockedCurrentSecret = (owner: string) =>
      Effect.zipRight(
        sql`SELECT pg_advisory_xact_lock(hashtext(${`secret:${owner}`}))`,
        Effect.map(
          sql<{ secret: string }>`SELECT secret FROM webhook_secrets WHERE owner = ${owner} AND retired_until IS NULL`,
          (rows) => rows[0]?.secret
        )
      )

    const rotateWebhookSecret = (owner: string, secret: string, graceMs: number) =>
      run(
        "rotateWebhookSecret",
        sql.withTransaction(
          Effect.gen(function* () {
            if ((yield* lockedCurrentSecret(owner)) === secret) return false
            yield* sql`UPDATE webhook_secrets SET retired_until = facedet_now_ms() + ${graceMs}
              WHERE owner = ${owner} AND retired_until IS NULL`
            yield* sql`INSERT INTO webhook_secrets (owner, secret, created_at)
              VALUES (${owner}, ${secret}, facedet_now_ms())
              ON CONFLICT (owner, secret) DO UPDATE SET retired_until = NULL, created_at = facedet_now_ms()`
            return true
          })
        )
      )

    const ensureWebhookSecret = (owner: string, generate: () => string) =>
      run(
        "ensureWebhookSecret",
        sql.withTransaction(
          Effect.gen(function* () {
            const current = yield* lockedCurrentSecret(owner)
            if (current !== undefined) return { secret: current, created: false }
            const secret = generate()
            yield* sql`INSERT INTO webhook_secrets (owner, secret, created_at)
              VALUES (${owner}, ${secret}, facedet_now_ms())`
            return { secret, created: true }
          })
        )
      )

    return {
      create,
      get,
      findIdempotent: (owner: string, key: string) =>
        run("findIdempotent", sql<Row>`SELECT * FROM tasks WHERE owner = ${owner} AND idem_key = ${key}`).pipe(
          Effect.map((rows) =>
            Option.map(one(rows), (r) => ({ task: toTask(r), requestHash: r.request_hash ?? undefined }))
          )
        ),
      claim,
      heartbeat,
      complete,
      fail,
      release,
      requeueExpired,
      depth,
      putMedia,
      getMedia,
      sweep,
      uploadBytes: (owner: string) =>
        run(
          "uploadBytes",
          sql<{ n: number }>`SELECT coalesce(sum(size), 0)::bigint AS n FROM media
            WHERE kind = 'upload' AND owner = ${owner} AND expires_at > facedet_now_ms()`
        ).pipe(Effect.map((rows) => rows[0]?.n ?? 0)),
      renameOwner: (from: string, to: string) =>
        run(
          "renameOwner",
          sql.withTransaction(
            Effect.all([
              sql`UPDATE tasks SET owner = ${to} WHERE owner = ${from}`,
              sql`UPDATE media SET owner = ${to} WHERE owner = ${from}`,
              sql`UPDATE webhook_secrets s SET owner = ${to} WHERE owner = ${from}
                AND NOT EXISTS (SELECT 1 FROM webhook_secrets o WHERE o.owner = ${to} AND o.secret = s.secret)`,
              sql`UPDATE webhooks SET owner = ${to} WHERE owner = ${from}`
            ])
          )
        ).pipe(Effect.asVoid),
      claimDeliveries,
      setDeliveryBody: (id: string, body: string) =>
        run("setDeliveryBody", sql`UPDATE webhooks SET body = ${body} WHERE id = ${id} AND body IS NULL`).pipe(
          Effect.asVoid
        ),
      settleDelivery,
      delivery: (taskId: string) =>
        run("delivery", sql<DeliveryRow>`SELECT * FROM webhooks WHERE task_id = ${taskId}`).pipe(
          Effect.map((rows) => Option.map(one(rows), toDelivery))
        ),
      webhookSecrets: (owner: string) =>
        run(
          "webhookSecrets",
          sql<{ secret: string }>`SELECT secret FROM webhook_secrets
            WHERE owner = ${owner} AND (retired_until IS NULL OR retired_until > facedet_now_ms())
            ORDER BY retired_until IS NOT NULL, created_at DESC`
        ).pipe(Effect.map((rows) => rows.map((r) => r.secret))),
      rotateWebhookSecret,
      ensureWebhookSecret
    } satisfies Service
  })

/**
 * The PostgreSQL store as a `JobStore` layer over a migrated `SqlClient`.
 *
 * @since 0.1.0
 */
export const layer = (options: Options = {}): Layer.Layer<JobStore, never, SqlClient.SqlClient> =>
  Layer.effect(JobStore, make(options))

/**
 * How many times each task was completed (succeeded or failed); for tests and audits of exactly-once.
 *
 * @since 0.1.0
 */
export const completionCounts = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{ id: string; completions: number }>`SELECT id, completions FROM tasks`
  return new Map(rows.map((r) => [r.id, r.completions])) as ReadonlyMap<string, number>
})
