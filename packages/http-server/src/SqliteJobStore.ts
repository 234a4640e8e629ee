/**
 * The embedded `JobStore`: one SQLite file (`jobs.sqlite`) in the data directory, through `better-sqlite3`.
 *
 * Choices:
 * - **WAL with `synchronous = FULL`**: every commit is fsynced before `create` answers, so an accepted task survives
 *   a power cut, not only a process crash (`NORMAL` would only survive the latter). A commit costs one fsync of the
 *   WAL, well under the work of a detection. Claims and heartbeats alone skip the fsync: at open every `running`
 *   task goes back to the queue anyway, so losing one to a power cut changes nothing, and the next synced commit
 *   (the WAL is written in order) makes it durable too. The fsync blocks the event loop: one fewer per task.
 * - **One server per data directory**: the connection runs in `locking_mode = EXCLUSIVE` and takes the write lock
 *   at open, holding it until it closes. The operating system releases the lock when the process dies (even by
 *   `kill -9`), so there is no stale lock file to clean up, and a second server on the same directory fails at
 *   start with `DataDirLocked` instead of sharing the queue.
 * - **Orphans**: holding the lock proves that no other live process owns a lease, so at open every `running` task
 *   (its worker died with the previous process) goes back to the queue at once rather than after its lease.
 * - better-sqlite3 is synchronous; each call is a few microseconds on this small schema, so the store runs them on
 *   the event loop instead of paying a thread hop.
 *
 * @since 0.1.0
 */
import { mkdirSync } from "node:fs"
import { join } from "node:path"
import type { TaskError } from "@facedet/core/DetectTask"
import { TaskErrorCode } from "@facedet/core/TaskErrorCode"
import Database from "better-sqlite3"
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type { Claim, Created, CreateInput, DeliveryOutcome, MediaFile, Service, Success, Task } from "./JobStore.js"
import * as Stages from "./internal/stages.js"
import { type DeliveryRow, type MediaRow, type TaskRow as Row, toDelivery, toMedia, toTask } from "./internal/rows.js"
import {
  IdempotencyConflict,
  isDiskFull,
  JobStore,
  LeaseLost,
  OwnerQuotaExceeded,
  QueueFull,
  StoreError
} from "./JobStore.js"

/**
 * Options of the SQLite store.
 *
 * @since 0.1.0
 */
export interface Options {
  /** The data directory; the database is `<dataDir>/jobs.sqlite`. */
  readonly dataDir: string
  /** Attempts a task gets (see `release`). Default 3. */
  readonly maxAttempts?: number
}

/**
 * How many times a task's attempt is refunded when a drain releases it: a task that outlasts every shutdown's
 * grace period would otherwise be retried forever, start after start.
 *
 * @since 0.1.0
 */
export const releaseRefunds = 3

/**
 * Another live process holds this data directory's store.
 *
 * @since 0.1.0
 */
export class DataDirLocked extends Data.TaggedError("DataDirLocked")<{ readonly dataDir: string }> {
  override get message(): string {
    return `the data directory ${this.dataDir} is in use by another facedet server (one server per data directory; use another --data-dir)`
  }
}

/**
 * The database could not be opened or migrated.
 *
 * @since 0.1.0
 */
export class OpenFailed extends Data.TaggedError("OpenFailed")<{ readonly path: string; readonly cause: unknown }> {
  override get message(): string {
    const detail = this.cause instanceof Error ? this.cause.message : String(this.cause)
    return `cannot open the job store at ${this.path}: ${detail}`
  }
}

const schema = `
CREATE TABLE IF NOT EXISTS tasks (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  media_url TEXT NOT NULL,
  owner TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  fence INTEGER NOT NULL DEFAULT 0,
  lease_owner TEXT,
  lease_expires_at INTEGER,
  created_at INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER,
  detect_id TEXT,
  faces TEXT,
  error_code TEXT,
  error_message TEXT,
  media_expires_at INTEGER,
  idem_key TEXT,
  request_hash TEXT,
  completions INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS tasks_queue ON tasks (state, created_at);
CREATE INDEX IF NOT EXISTS tasks_owner ON tasks (state, owner);
CREATE INDEX IF NOT EXISTS tasks_lease ON tasks (state, lease_expires_at);
CREATE INDEX IF NOT EXISTS tasks_finished ON tasks (finished_at);
CREATE UNIQUE INDEX IF NOT EXISTS tasks_idem ON tasks (owner, idem_key) WHERE idem_key IS NOT NULL;
CREATE TABLE IF NOT EXISTS media (
  token TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  path TEXT NOT NULL,
  content_type TEXT NOT NULL,
  size INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  task_id TEXT
);
CREATE INDEX IF NOT EXISTS media_expiry ON media (expires_at);
CREATE TABLE IF NOT EXISTS webhooks (
  id TEXT PRIMARY KEY,
  task_id TEXT NOT NULL UNIQUE,
  owner TEXT NOT NULL,
  url TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_status INTEGER,
  last_error TEXT,
  next_attempt_at INTEGER,
  lease_until INTEGER,
  created_at INTEGER NOT NULL,
  settled_at INTEGER,
  body TEXT
);
CREATE INDEX IF NOT EXISTS webhooks_due ON webhooks (state, next_attempt_at);
CREATE TABLE IF NOT EXISTS webhook_secrets (
  owner TEXT NOT NULL,
  secret TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  retired_until INTEGER,
  PRIMARY KEY (owner, secret)
);
`

/** Columns added after the first release: (table, column, definition), applied when missing. */
const addedColumns: ReadonlyArray<readonly [string, string, string]> = [
  ["tasks", "callback_url", "TEXT"],
  ["tasks", "upload_token", "TEXT"],
  ["media", "owner", "TEXT"],
  ["tasks", "releases", "INTEGER NOT NULL DEFAULT 0"],
  ["tasks", "isolate", "INTEGER NOT NULL DEFAULT 0"],
  ["tasks", "embeddings", "INTEGER NOT NULL DEFAULT 0"]
]

const isBusy = (e: unknown): boolean =>
  typeof e === "object" && e !== null && "code" in e && (e.code === "SQLITE_BUSY" || e.code === "SQLITE_LOCKED")

/**
 * Opens (creating if needed) the store in `dataDir`; closed with the scope.
 *
 * @since 0.1.0
 */
export const make = (
  options: Options
): Effect.Effect<
  Service & { readonly requeueOrphans: (maxAttempts: number) => Effect.Effect<ReadonlyArray<Task>, StoreError> },
  DataDirLocked | OpenFailed,
  Scope.Scope
> =>
  Effect.gen(function* () {
    const path = join(options.dataDir, "jobs.sqlite")
    const db = yield* Effect.acquireRelease(
      Effect.try({
        try: () => {
          mkdirSync(options.dataDir, { recursive: true, mode: 0o700 })
          const db = new Database(path, { timeout: 0 })
          try {
            // EXCLUSIVE before WAL: the WAL index then lives in this process's memory, and the lock taken by the
            // first write below is held until close (released by the OS if the process dies).
            db.pragma("locking_mode = EXCLUSIVE")
            db.pragma("journal_mode = WAL")
            db.pragma("synchronous = FULL")
            // A checkpointed WAL is truncated back to this size instead of keeping its peak size on disk.
            db.pragma("journal_size_limit = 67108864")
            db.exec("BEGIN IMMEDIATE")
            db.exec(schema)
            for (const [table, column, definition] of addedColumns) {
              const columns = db.prepare<[], { name: string }>(`PRAGMA table_info(${table})`).all()
              if (!columns.some((c) => c.name === column)) {
                db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${definition}`)
              }
            }
            // The lock proves no other dispatcher is alive: deliveries it was attempting are due again now.
            db.exec("UPDATE webhooks SET lease_until = NULL WHERE lease_until IS NOT NULL")
            db.exec("COMMIT")
          } catch (e) {
            db.close()
            throw e
          }
          return db
        },
        catch: (cause) =>
          isBusy(cause) ? new DataDirLocked({ dataDir: options.dataDir }) : new OpenFailed({ path, cause })
      }),
      (db) => Effect.sync(() => db.close())
    )

    const stmt = {
      insert: db.prepare(
        `INSERT INTO tasks (id, kind, media_url, owner, state, created_at, idem_key, request_hash, callback_url,
           upload_token, embeddings)
         VALUES (@id, @kind, @mediaUrl, @owner, 'queued', @now, @idem, @hash, @callbackUrl, @uploadToken,
           @embeddings)`
      ),
      byIdem: db.prepare<[string, string], Row>("SELECT * FROM tasks WHERE owner = ? AND idem_key = ?"),
      get: db.prepare<[string], Row>("SELECT * FROM tasks WHERE id = ?"),
      active: db.prepare<[], { n: number }>("SELECT count(*) AS n FROM tasks WHERE state IN ('queued', 'running')"),
      activeOf: db.prepare<[string, string], { n: number }>(
        "SELECT (SELECT count(*) FROM tasks WHERE state = 'queued' AND owner = ?) + (SELECT count(*) FROM tasks WHERE state = 'running' AND owner = ?) AS n"
      ),
      uploadBytes: db.prepare<[string, number], { n: number }>(
        "SELECT coalesce(sum(size), 0) AS n FROM media WHERE kind = 'upload' AND owner = ? AND expires_at > ?"
      ),
      renameTasks: db.prepare("UPDATE tasks SET owner = @to WHERE owner = @from"),
      renameMedia: db.prepare("UPDATE media SET owner = @to WHERE owner = @from"),
      renameSecrets: db.prepare("UPDATE OR IGNORE webhook_secrets SET owner = @to WHERE owner = @from"),
      renameDeliveries: db.prepare("UPDATE webhooks SET owner = @to WHERE owner = @from"),
      depth: db.prepare<[], { state: string; n: number }>(
        "SELECT state, count(*) AS n FROM tasks WHERE state IN ('queued', 'running') GROUP BY state"
      ),
      claim: db.prepare<[{ worker: string; until: number; now: number }], Row>(
        `UPDATE tasks SET ${Stages.set("running")}, lease_owner = @worker, lease_expires_at = @until, fence = fence + 1,
           attempts = attempts + 1, started_at = coalesce(started_at, @now)
         WHERE id = (
           -- Fair across keys: each key's oldest queued task, then the key with the fewest tasks running.
           WITH heads AS (SELECT owner, min(rowid) AS rid FROM tasks WHERE ${Stages.into(["running"])} GROUP BY owner)
           SELECT t.id FROM heads h JOIN tasks t ON t.rowid = h.rid
           ORDER BY (SELECT count(*) FROM tasks r WHERE ${Stages.is("running", "r.state")} AND r.owner = h.owner), t.rowid
           LIMIT 1)
         RETURNING *`
      ),
      heartbeat: db.prepare(
        `UPDATE tasks SET lease_expires_at = @until
         WHERE id = @id AND ${Stages.is("running")} AND lease_owner = @worker AND fence = @fence`
      ),
      complete: db.prepare(
        `UPDATE tasks SET ${Stages.set("succeeded")}, finished_at = @now, detect_id = @detectId, faces = @faces,
           media_expires_at = @mediaExpiresAt, lease_owner = NULL, lease_expires_at = NULL, completions = completions + 1
         WHERE id = @id AND ${Stages.into(["succeeded"])} AND lease_owner = @worker AND fence = @fence`
      ),
      fail: db.prepare(
        `UPDATE tasks SET ${Stages.set("failed")}, finished_at = @now, error_code = @code, error_message = @message,
           lease_owner = NULL, lease_expires_at = NULL, completions = completions + 1
         WHERE id = @id AND ${Stages.into(["failed"])} AND lease_owner = @worker AND fence = @fence`
      ),
      release: db.prepare(
        `UPDATE tasks SET ${Stages.set("queued")}, lease_owner = NULL, lease_expires_at = NULL, releases = releases + 1,
           attempts = CASE WHEN releases < @refunds THEN max(attempts - 1, 0) ELSE attempts END
         WHERE id = @id AND ${Stages.into(["queued"])} AND lease_owner = @worker AND fence = @fence`
      ),
      releaseGiveUp: db.prepare(
        `UPDATE tasks SET ${Stages.set("failed")}, finished_at = @now, error_code = @code, error_message = @message,
           lease_owner = NULL, lease_expires_at = NULL, completions = completions + 1, releases = releases + 1
         WHERE id = @id AND ${Stages.into(["failed"])} AND lease_owner = @worker AND fence = @fence
           AND releases >= @refunds AND attempts >= @maxAttempts`
      ),
      expired: db.prepare<[number], Row>(`SELECT * FROM tasks WHERE ${Stages.is("running")} AND lease_expires_at <= ?`),
      requeue: db.prepare(
        `UPDATE tasks SET ${Stages.set("queued")}, lease_owner = NULL, lease_expires_at = NULL
         WHERE id = @id AND ${Stages.into(["queued"])} AND fence = @fence`
      ),
      // After a crash with several tasks in flight nobody knows which one killed the process: each gets its attempt
      // back and runs alone from now on, so the next crash names its culprit.
      requeueSuspect: db.prepare(
        `UPDATE tasks SET ${Stages.set("queued")}, lease_owner = NULL, lease_expires_at = NULL, isolate = 1,
           attempts = max(attempts - @refund, 0)
         WHERE id = @id AND ${Stages.into(["queued"])} AND fence = @fence`
      ),
      giveUp: db.prepare(
        `UPDATE tasks SET ${Stages.set("failed")}, finished_at = @now, error_code = @code, error_message = @message,
           lease_owner = NULL, lease_expires_at = NULL, completions = completions + 1
         WHERE id = @id AND ${Stages.into(["failed"])} AND fence = @fence`
      ),
      putMedia: db.prepare(
        `INSERT OR REPLACE INTO media (token, kind, path, content_type, size, expires_at, task_id, owner)
         VALUES (@token, @kind, @path, @contentType, @size, @expiresAt, @taskId, @owner)`
      ),
      getMedia: db.prepare<[string, number], MediaRow>("SELECT * FROM media WHERE token = ? AND expires_at > ?"),
      expiredMedia: db.prepare<[number, number], { token: string; path: string }>(
        "SELECT token, path FROM media WHERE expires_at <= ? LIMIT ?"
      ),
      deleteMediaToken: db.prepare<[string]>("DELETE FROM media WHERE token = ?"),
      // The outbox row of an ending task, in the ending transaction; `msg_` + the task id is stable across retries.
      outbox: db.prepare(
        `INSERT OR IGNORE INTO webhooks (id, task_id, owner, url, state, next_attempt_at, created_at)
         SELECT 'msg_' || id, id, owner, callback_url, 'pending', @now, @now FROM tasks
         WHERE id = @id AND callback_url IS NOT NULL`
      ),
      dueDeliveries: db.prepare<[{ now: number; limit: number }], DeliveryRow>(
        `SELECT * FROM webhooks WHERE state = 'pending' AND next_attempt_at <= @now
           AND (lease_until IS NULL OR lease_until <= @now)
         ORDER BY next_attempt_at LIMIT @limit`
      ),
      leaseDelivery: db.prepare("UPDATE webhooks SET lease_until = @until WHERE id = @id"),
      setBody: db.prepare("UPDATE webhooks SET body = @body WHERE id = @id AND body IS NULL"),
      settle: db.prepare(
        `UPDATE webhooks SET state = @state, attempts = attempts + 1, last_status = @status, last_error = @error,
           next_attempt_at = @at, lease_until = NULL, settled_at = @settledAt
         WHERE id = @id AND state = 'pending'`
      ),
      deliveryOf: db.prepare<[string], DeliveryRow>("SELECT * FROM webhooks WHERE task_id = ?"),
      secrets: db.prepare<[string, number], { secret: string }>(
        `SELECT secret FROM webhook_secrets WHERE owner = ? AND (retired_until IS NULL OR retired_until > ?)
         ORDER BY retired_until IS NOT NULL, created_at DESC`
      ),
      currentSecret: db.prepare<[string], { secret: string }>(
        "SELECT secret FROM webhook_secrets WHERE owner = ? AND retired_until IS NULL"
      ),
      retireSecrets: db.prepare(
        "UPDATE webhook_secrets SET retired_until = @until WHERE owner = @owner AND retired_until IS NULL"
      ),
      insertSecret: db.prepare(
        `INSERT INTO webhook_secrets (owner, secret, created_at) VALUES (@owner, @secret, @now)
         ON CONFLICT (owner, secret) DO UPDATE SET retired_until = NULL, created_at = @now`
      ),
      deleteRetiredSecrets: db.prepare(
        "DELETE FROM webhook_secrets WHERE retired_until IS NOT NULL AND retired_until <= ?"
      ),
      // Settled deliveries go with their task's record; a pending one outlives it (its body is already fixed or
      // it fails for lack of one).
      deleteDeliveries: db.prepare(
        "DELETE FROM webhooks WHERE state != 'pending' AND task_id NOT IN (SELECT id FROM tasks)"
      ),
      deleteTasks: db.prepare(
        `DELETE FROM tasks WHERE rowid IN (SELECT rowid FROM tasks WHERE state IN ('succeeded', 'failed')
           AND finished_at <= ? AND (media_expires_at IS NULL OR media_expires_at <= ?) LIMIT ?)`
      )
    }

    const run = <A>(operation: string, f: () => A): Effect.Effect<A, StoreError> =>
      // A full disk is an outage to wait out (answered 455), not a failing store.
      Effect.try({ try: f, catch: (cause) => new StoreError({ operation, cause, unavailable: isDiskFull(cause) }) })

    const create = (input: CreateInput) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const tx = db.transaction((): Created | QueueFull | OwnerQuotaExceeded | IdempotencyConflict => {
          if (input.idempotencyKey !== undefined) {
            const previous = stmt.byIdem.get(input.owner, input.idempotencyKey)
            if (previous) {
              return previous.request_hash === (input.requestHash ?? null)
                ? { task: toTask(previous), created: false }
                : new IdempotencyConflict({ key: input.idempotencyKey, taskId: previous.id })
            }
          }
          const depth = stmt.active.get()?.n ?? 0
          if (depth >= input.queueLimit) return new QueueFull({ limit: input.queueLimit, depth })
          if (input.ownerLimit !== undefined) {
            const active = stmt.activeOf.get(input.owner, input.owner)?.n ?? 0
            if (active >= input.ownerLimit) return new OwnerQuotaExceeded({ limit: input.ownerLimit, active })
          }
          stmt.insert.run({
            id: input.id,
            kind: input.kind,
            mediaUrl: input.mediaUrl,
            owner: input.owner,
            now,
            idem: input.idempotencyKey ?? null,
            hash: input.requestHash ?? null,
            callbackUrl: input.callbackUrl ?? null,
            uploadToken: input.uploadToken ?? null,
            embeddings: input.embeddings === true ? 1 : 0
          })
          return { task: toTask(stmt.get.get(input.id)!), created: true }
        })
        return Effect.flatMap(
          run("create", () => tx.immediate()),
          (result): Effect.Effect<Created, QueueFull | OwnerQuotaExceeded | IdempotencyConflict> =>
            "_tag" in result ? Effect.fail(result) : Effect.succeed(result)
        )
      })

    const get = (id: string) =>
      run("get", () => {
        const row = stmt.get.get(id)
        return row ? Option.some(toTask(row)) : Option.none()
      })

    /** Runs `f` without waiting for the disk (claims and heartbeats: see the module's notes). */
    const unsynced = <A>(f: () => A): A => {
      db.pragma("synchronous = NORMAL")
      try {
        return f()
      } finally {
        db.pragma("synchronous = FULL")
      }
    }

    const claim = (workerId: string, leaseMs: number) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        run("claim", () => {
          const row = unsynced(() => stmt.claim.get({ worker: workerId, until: now + leaseMs, now }))
          return row ? Option.some<Claim>({ task: toTask(row), workerId, fence: row.fence }) : Option.none<Claim>()
        })
      )

    /** Runs a fenced write: `LeaseLost` when no row matched. */
    const fenced = <A>(operation: string, c: Claim, f: () => number, after: () => A) =>
      Effect.flatMap(
        run(operation, () => (f() === 1 ? Option.some(after()) : Option.none())),
        Option.match({
          onNone: () => Effect.fail(new LeaseLost({ taskId: c.task.id, fence: c.fence })),
          onSome: Effect.succeed
        })
      )

    const who = (c: Claim) => ({ id: c.task.id, worker: c.workerId, fence: c.fence })

    const heartbeat = (c: Claim, leaseMs: number) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        fenced(
          "heartbeat",
          c,
          () => unsynced(() => stmt.heartbeat.run({ ...who(c), until: now + leaseMs }).changes),
          () => undefined
        )
      )

    const complete = (c: Claim, s: Success) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        fenced(
          "complete",
          c,
          db.transaction(() => {
            const changes = stmt.complete.run({
              ...who(c),
              now,
              detectId: s.detectId,
              faces: JSON.stringify(s.faces),
              mediaExpiresAt: now + s.ttlMs
            }).changes
            if (changes !== 1) return changes
            for (const file of s.files) {
              stmt.putMedia.run({
                ...file,
                expiresAt: now + s.ttlMs,
                taskId: file.taskId ?? c.task.id,
                owner: file.owner ?? null
              })
            }
            stmt.outbox.run({ id: c.task.id, now })
            return changes
          }),
          () => toTask(stmt.get.get(c.task.id)!)
        )
      )

    const fail = (c: Claim, error: TaskError) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        fenced(
          "fail",
          c,
          db.transaction(() => {
            const changes = stmt.fail.run({ ...who(c), now, code: error.code, message: error.message }).changes
            if (changes === 1) stmt.outbox.run({ id: c.task.id, now })
            return changes
          }),
          () => toTask(stmt.get.get(c.task.id)!)
        )
      )

    const maxAttempts = options.maxAttempts ?? 3
    // Past its refunds, a released attempt counts; a task out of attempts then fails instead of waiting for the
    // next start (and its callback, if any, is due).
    const release = (c: Claim) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        fenced(
          "release",
          c,
          db.transaction(() => {
            const gaveUp = stmt.releaseGiveUp.run({
              ...who(c),
              now,
              refunds: releaseRefunds,
              maxAttempts,
              code: TaskErrorCode.DetectTimeout,
              message: "the task did not finish before the server stopped, again and again; giving up"
            }).changes
            if (gaveUp === 1) {
              stmt.outbox.run({ id: c.task.id, now })
              return gaveUp
            }
            return stmt.release.run({ ...who(c), refunds: releaseRefunds }).changes
          }),
          () => undefined
        )
      )

    const requeueAt = (cutoff: number, now: number, maxAttempts: number, crashed: boolean): ReadonlyArray<Task> =>
      db
        .transaction(() => {
          const touched: Array<Task> = []
          const rows = stmt.expired.all(cutoff)
          // A process crash with one task in flight (or one running alone) charges that task; with several, none.
          const shared = crashed && rows.length > 1
          for (const row of rows) {
            if (shared) {
              stmt.requeueSuspect.run({ id: row.id, fence: row.fence, refund: 1 })
            } else if (row.attempts >= maxAttempts) {
              stmt.giveUp.run({
                id: row.id,
                fence: row.fence,
                now,
                code: TaskErrorCode.WorkerLost,
                message: `the worker processing this task stopped ${row.attempts} times (crash or timeout); giving up`
              })
              stmt.outbox.run({ id: row.id, now })
            } else if (crashed) {
              stmt.requeueSuspect.run({ id: row.id, fence: row.fence, refund: 0 })
            } else {
              stmt.requeue.run({ id: row.id, fence: row.fence })
            }
            touched.push(toTask(stmt.get.get(row.id)!))
          }
          return touched
        })
        .immediate()

    const requeueExpired = (maxAttempts: number) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        run("requeueExpired", () => requeueAt(now, now, maxAttempts, false))
      )

    const depth = run("depth", () => {
      let queued = 0
      let running = 0
      for (const r of stmt.depth.all()) {
        if (r.state === "queued") queued = r.n
        else running = r.n
      }
      return { queued, running }
    })

    const putMedia = (file: MediaFile) =>
      run("putMedia", () => {
        stmt.putMedia.run({ ...file, taskId: file.taskId ?? null, owner: file.owner ?? null })
      })

    const getMedia = (token: string) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        run("getMedia", () => {
          const row = stmt.getMedia.get(token, now)
          return row ? Option.some(toMedia(row)) : Option.none()
        })
      )

    // One bounded batch per call: a sweep after a long pause never holds the write lock (and the event loop) for
    // the whole backlog; the caller repeats while batches come back full.
    const sweep = (retentionMs: number, limit = 500) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        run("sweep", () =>
          db
            .transaction(() => {
              const expired = stmt.expiredMedia.all(now, limit)
              for (const r of expired) stmt.deleteMediaToken.run(r.token)
              const tasks = stmt.deleteTasks.run(now - retentionMs, now, limit).changes
              stmt.deleteDeliveries.run()
              stmt.deleteRetiredSecrets.run(now)
              return { tasks, files: expired.map((r) => r.path), more: expired.length === limit || tasks === limit }
            })
            .immediate()
        )
      )

    const claimDeliveries = (limit: number, leaseMs: number) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        run("claimDeliveries", () =>
          db
            .transaction(() => {
              const rows = stmt.dueDeliveries.all({ now, limit })
              for (const row of rows) stmt.leaseDelivery.run({ id: row.id, until: now + leaseMs })
              return rows.map(toDelivery)
            })
            .immediate()
        )
      )

    const settleDelivery = (id: string, outcome: DeliveryOutcome) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        run("settleDelivery", () => {
          stmt.settle.run({
            id,
            state: outcome._tag === "Delivered" ? "delivered" : outcome._tag === "Retry" ? "pending" : "failed",
            status: outcome.status ?? null,
            error: outcome._tag === "Delivered" ? null : outcome.error.slice(0, 500),
            at: outcome._tag === "Retry" ? outcome.at : null,
            settledAt: outcome._tag === "Retry" ? null : now
          })
        })
      )

    const rotateWebhookSecret = (owner: string, secret: string, graceMs: number) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        run("rotateWebhookSecret", () =>
          db
            .transaction(() => {
              if (stmt.currentSecret.get(owner)?.secret === secret) return false
              stmt.retireSecrets.run({ owner, until: now + graceMs })
              stmt.insertSecret.run({ owner, secret, now })
              return true
            })
            .immediate()
        )
      )

    const ensureWebhookSecret = (owner: string, generate: () => string) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        run("ensureWebhookSecret", () =>
          db
            .transaction(() => {
              const current = stmt.currentSecret.get(owner)
              if (current) return { secret: current.secret, created: false }
              const secret = generate()
              stmt.insertSecret.run({ owner, secret, now })
              return { secret, created: true }
            })
            .immediate()
        )
      )

    return {
      findIdempotent: (owner: string, key: string) =>
        run("findIdempotent", () => {
          const row = stmt.byIdem.get(owner, key)
          return row
            ? Option.some({ task: toTask(row), requestHash: row.request_hash ?? undefined })
            : Option.none<{ readonly task: Task; readonly requestHash: string | undefined }>()
        }),
      uploadBytes: (owner: string) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          run("uploadBytes", () => stmt.uploadBytes.get(owner, now)?.n ?? 0)
        ),
      renameOwner: (from: string, to: string) =>
        run("renameOwner", () =>
          db
            .transaction(() => {
              for (const st of [stmt.renameTasks, stmt.renameMedia, stmt.renameSecrets, stmt.renameDeliveries]) {
                st.run({ from, to })
              }
            })
            .immediate()
        ),
      claimDeliveries,
      setDeliveryBody: (id: string, body: string) =>
        run("setDeliveryBody", () => {
          stmt.setBody.run({ id, body })
        }),
      settleDelivery,
      delivery: (taskId: string) =>
        run("delivery", () => {
          const row = stmt.deliveryOf.get(taskId)
          return row ? Option.some(toDelivery(row)) : Option.none()
        }),
      webhookSecrets: (owner: string) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          run("webhookSecrets", () => stmt.secrets.all(owner, now).map((r) => r.secret))
        ),
      rotateWebhookSecret,
      ensureWebhookSecret,
      create,
      get,
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
      // Orphans of a dead process: the lock proves nobody else holds their leases, so every lease counts as expired.
      requeueOrphans: (maxAttempts: number) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          run("requeueOrphans", () => requeueAt(Number.MAX_SAFE_INTEGER, now, maxAttempts, true))
        )
    }
  })

/**
 * The SQLite store as a `JobStore` layer; tasks orphaned by a dead process are requeued at open.
 *
 * @since 0.1.0
 */
export const layer = (
  options: Options & { readonly maxAttempts?: number }
): Layer.Layer<JobStore, DataDirLocked | OpenFailed> =>
  Layer.scoped(
    JobStore,
    Effect.gen(function* () {
      const store = yield* make(options)
      yield* store
        .requeueOrphans(options.maxAttempts ?? 3)
        .pipe(Effect.mapError((e) => new OpenFailed({ path: join(options.dataDir, "jobs.sqlite"), cause: e })))
      return store
    })
  )

/**
 * Reads how many times each task was completed (succeeded or failed); for tests and audits of exactly-once.
 *
 * @since 0.1.0
 */
export const completionCounts = (dataDir: string): ReadonlyMap<string, number> => {
  const db = new Database(join(dataDir, "jobs.sqlite"), { readonly: true, fileMustExist: true })
  try {
    const rows = db.prepare<[], { id: string; completions: number }>("SELECT id, completions FROM tasks").all()
    return new Map(rows.map((r) => [r.id, r.completions]))
  } finally {
    db.close()
  }
}
