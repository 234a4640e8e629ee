/**
 * The embedded `JobStore`: one SQLite file (`jobs.sqlite`) in the data directory, through `better-sqlite3`.
 *
 * Choices:
 * - **WAL with `synchronous = FULL`**: every commit is fsynced before `create` answers, so an accepted task survives
 *   a power cut, not only a process crash (`NORMAL` would only survive the latter). A commit costs one fsync of the
 *   WAL, well under the work of a detection.
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
import type { Claim, Created, CreateInput, MediaFile, Service, StoredFace, Success, Task } from "./JobStore.js"
import { IdempotencyConflict, JobStore, LeaseLost, QueueFull, StoreError } from "./JobStore.js"

/** Options of the SQLite store. */
export interface Options {
  /** The data directory; the database is `<dataDir>/jobs.sqlite`. */
  readonly dataDir: string
}

/** Another live process holds this data directory's store. */
export class DataDirLocked extends Data.TaggedError("DataDirLocked")<{ readonly dataDir: string }> {
  override get message(): string {
    return `the data directory ${this.dataDir} is in use by another facedet server (one server per data directory; use another --data-dir)`
  }
}

/** The database could not be opened or migrated. */
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
`

interface Row {
  id: string
  kind: "image" | "video"
  media_url: string
  owner: string
  state: Task["state"]
  attempts: number
  fence: number
  created_at: number
  started_at: number | null
  finished_at: number | null
  detect_id: string | null
  faces: string | null
  error_code: string | null
  error_message: string | null
  media_expires_at: number | null
  request_hash: string | null
}

const toTask = (r: Row): Task => ({
  id: r.id,
  kind: r.kind,
  mediaUrl: r.media_url,
  owner: r.owner,
  state: r.state,
  attempts: r.attempts,
  createdAt: r.created_at,
  startedAt: r.started_at ?? undefined,
  finishedAt: r.finished_at ?? undefined,
  detectId: r.detect_id ?? undefined,
  faces: r.faces === null ? undefined : (JSON.parse(r.faces) as ReadonlyArray<StoredFace>),
  error: r.error_code === null ? undefined : { code: r.error_code, message: r.error_message ?? "" },
  mediaExpiresAt: r.media_expires_at ?? undefined
})

interface MediaRow {
  token: string
  kind: MediaFile["kind"]
  path: string
  content_type: string
  size: number
  expires_at: number
  task_id: string | null
}

const toMedia = (r: MediaRow): MediaFile => ({
  token: r.token,
  kind: r.kind,
  path: r.path,
  contentType: r.content_type,
  size: r.size,
  expiresAt: r.expires_at,
  taskId: r.task_id ?? undefined
})

const isBusy = (e: unknown): boolean =>
  typeof e === "object" && e !== null && "code" in e && (e.code === "SQLITE_BUSY" || e.code === "SQLITE_LOCKED")

/** Opens (creating if needed) the store in `dataDir`; closed with the scope. */
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
            db.exec("BEGIN IMMEDIATE")
            db.exec(schema)
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
        `INSERT INTO tasks (id, kind, media_url, owner, state, created_at, idem_key, request_hash)
         VALUES (@id, @kind, @mediaUrl, @owner, 'queued', @now, @idem, @hash)`
      ),
      byIdem: db.prepare<[string, string], Row>("SELECT * FROM tasks WHERE owner = ? AND idem_key = ?"),
      get: db.prepare<[string], Row>("SELECT * FROM tasks WHERE id = ?"),
      active: db.prepare<[], { n: number }>("SELECT count(*) AS n FROM tasks WHERE state IN ('queued', 'running')"),
      depth: db.prepare<[], { state: string; n: number }>(
        "SELECT state, count(*) AS n FROM tasks WHERE state IN ('queued', 'running') GROUP BY state"
      ),
      claim: db.prepare<[{ worker: string; until: number; now: number }], Row>(
        `UPDATE tasks SET state = 'running', lease_owner = @worker, lease_expires_at = @until, fence = fence + 1,
           attempts = attempts + 1, started_at = coalesce(started_at, @now)
         WHERE id = (SELECT id FROM tasks WHERE state = 'queued' ORDER BY created_at, rowid LIMIT 1)
         RETURNING *`
      ),
      heartbeat: db.prepare(
        `UPDATE tasks SET lease_expires_at = @until
         WHERE id = @id AND state = 'running' AND lease_owner = @worker AND fence = @fence`
      ),
      complete: db.prepare(
        `UPDATE tasks SET state = 'succeeded', finished_at = @now, detect_id = @detectId, faces = @faces,
           media_expires_at = @mediaExpiresAt, lease_owner = NULL, lease_expires_at = NULL, completions = completions + 1
         WHERE id = @id AND state = 'running' AND lease_owner = @worker AND fence = @fence`
      ),
      fail: db.prepare(
        `UPDATE tasks SET state = 'failed', finished_at = @now, error_code = @code, error_message = @message,
           lease_owner = NULL, lease_expires_at = NULL, completions = completions + 1
         WHERE id = @id AND state = 'running' AND lease_owner = @worker AND fence = @fence`
      ),
      release: db.prepare(
        `UPDATE tasks SET state = 'queued', lease_owner = NULL, lease_expires_at = NULL, attempts = max(attempts - 1, 0)
         WHERE id = @id AND state = 'running' AND lease_owner = @worker AND fence = @fence`
      ),
      expired: db.prepare<[number], Row>("SELECT * FROM tasks WHERE state = 'running' AND lease_expires_at <= ?"),
      requeue: db.prepare(
        `UPDATE tasks SET state = 'queued', lease_owner = NULL, lease_expires_at = NULL
         WHERE id = @id AND state = 'running' AND fence = @fence`
      ),
      giveUp: db.prepare(
        `UPDATE tasks SET state = 'failed', finished_at = @now, error_code = @code, error_message = @message,
           lease_owner = NULL, lease_expires_at = NULL, completions = completions + 1
         WHERE id = @id AND state = 'running' AND fence = @fence`
      ),
      putMedia: db.prepare(
        `INSERT OR REPLACE INTO media (token, kind, path, content_type, size, expires_at, task_id)
         VALUES (@token, @kind, @path, @contentType, @size, @expiresAt, @taskId)`
      ),
      getMedia: db.prepare<[string, number], MediaRow>("SELECT * FROM media WHERE token = ? AND expires_at > ?"),
      expiredMedia: db.prepare<[number], { path: string }>("SELECT path FROM media WHERE expires_at <= ?"),
      deleteMedia: db.prepare("DELETE FROM media WHERE expires_at <= ?"),
      deleteTasks: db.prepare(
        "DELETE FROM tasks WHERE state IN ('succeeded', 'failed') AND finished_at <= ? AND (media_expires_at IS NULL OR media_expires_at <= ?)"
      )
    }

    const run = <A>(operation: string, f: () => A): Effect.Effect<A, StoreError> =>
      Effect.try({ try: f, catch: (cause) => new StoreError({ operation, cause }) })

    const create = (input: CreateInput) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const tx = db.transaction((): Created | QueueFull | IdempotencyConflict => {
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
          stmt.insert.run({
            id: input.id,
            kind: input.kind,
            mediaUrl: input.mediaUrl,
            owner: input.owner,
            now,
            idem: input.idempotencyKey ?? null,
            hash: input.requestHash ?? null
          })
          return { task: toTask(stmt.get.get(input.id)!), created: true }
        })
        return Effect.flatMap(
          run("create", () => tx.immediate()),
          (result): Effect.Effect<Created, QueueFull | IdempotencyConflict> =>
            "_tag" in result ? Effect.fail(result) : Effect.succeed(result)
        )
      })

    const get = (id: string) =>
      run("get", () => {
        const row = stmt.get.get(id)
        return row ? Option.some(toTask(row)) : Option.none()
      })

    const claim = (workerId: string, leaseMs: number) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        run("claim", () => {
          const row = stmt.claim.get({ worker: workerId, until: now + leaseMs, now })
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
          () => stmt.heartbeat.run({ ...who(c), until: now + leaseMs }).changes,
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
              stmt.putMedia.run({ ...file, expiresAt: now + s.ttlMs, taskId: file.taskId ?? c.task.id })
            }
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
          () => stmt.fail.run({ ...who(c), now, code: error.code, message: error.message }).changes,
          () => toTask(stmt.get.get(c.task.id)!)
        )
      )

    const release = (c: Claim) =>
      fenced(
        "release",
        c,
        () => stmt.release.run(who(c)).changes,
        () => undefined
      )

    const requeueAt = (cutoff: number, now: number, maxAttempts: number): ReadonlyArray<Task> =>
      db
        .transaction(() => {
          const touched: Array<Task> = []
          for (const row of stmt.expired.all(cutoff)) {
            if (row.attempts >= maxAttempts) {
              stmt.giveUp.run({
                id: row.id,
                fence: row.fence,
                now,
                code: TaskErrorCode.Internal,
                message: `the worker processing this task stopped ${row.attempts} times (crash or timeout); giving up`
              })
            } else {
              stmt.requeue.run({ id: row.id, fence: row.fence })
            }
            touched.push(toTask(stmt.get.get(row.id)!))
          }
          return touched
        })
        .immediate()

    const requeueExpired = (maxAttempts: number) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => run("requeueExpired", () => requeueAt(now, now, maxAttempts)))

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
        stmt.putMedia.run({ ...file, taskId: file.taskId ?? null })
      })

    const getMedia = (token: string) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        run("getMedia", () => {
          const row = stmt.getMedia.get(token, now)
          return row ? Option.some(toMedia(row)) : Option.none()
        })
      )

    const sweep = (retentionMs: number) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        run("sweep", () =>
          db
            .transaction(() => {
              const files = stmt.expiredMedia.all(now).map((r) => r.path)
              stmt.deleteMedia.run(now)
              const tasks = stmt.deleteTasks.run(now - retentionMs, now).changes
              return { tasks, files }
            })
            .immediate()
        )
      )

    return {
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
          run("requeueOrphans", () => requeueAt(Number.MAX_SAFE_INTEGER, now, maxAttempts))
        )
    }
  })

/** The SQLite store as a `JobStore` layer; tasks orphaned by a dead process are requeued at open. */
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

/** Reads how many times each task was completed (succeeded or failed); for tests and audits of exactly-once. */
export const completionCounts = (dataDir: string): ReadonlyMap<string, number> => {
  const db = new Database(join(dataDir, "jobs.sqlite"), { readonly: true, fileMustExist: true })
  try {
    const rows = db.prepare<[], { id: string; completions: number }>("SELECT id, completions FROM tasks").all()
    return new Map(rows.map((r) => [r.id, r.completions]))
  } finally {
    db.close()
  }
}
