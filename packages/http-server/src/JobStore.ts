/**
 * The durable queue and record of detection tasks, and of the files they own (face crops, uploads).
 *
 * Two adapters: the embedded SQLite one (`SqliteJobStore`, one server process per data directory) and the PostgreSQL
 * one (`PgJobStore`) for several processes sharing a database. Both follow the same rules (one contract test holds
 * them to it), so the workers and the HTTP API never know which one runs:
 *
 * - `create` persists a task before the caller answers, and checks the queue bound and the idempotency key in the
 *   same transaction.
 * - `claim` hands a queued task to one worker with a lease and a fencing token (`fence`, incremented on every
 *   claim). PostgreSQL: `UPDATE ... WHERE id = (SELECT ... FOR UPDATE SKIP LOCKED LIMIT 1) RETURNING`; SQLite: the
 *   same inside one write transaction.
 * - Every later write (`heartbeat`, `complete`, `fail`, `release`) names the claim and succeeds only while the
 *   lease is still that claim's; otherwise it fails with `LeaseLost`, so a worker that lost its lease (paused,
 *   partitioned, presumed dead) can never overwrite the task's new owner or finish it twice.
 * - `requeueExpired` returns tasks whose lease ran out (their worker died) to the queue, or fails them once they
 *   used up their attempts. Timestamps come from the adapter's clock (Effect's `Clock` for SQLite; the database's
 *   `now()` for PostgreSQL, so the leases of several machines are judged by one clock).
 *
 * What the PostgreSQL adapter adds to keep these promises with several processes: the idempotency key is a
 * unique index on `(owner, idempotency key)` (an `INSERT ... ON CONFLICT` race is then settled by the database, and
 * the loser reads the winner's row); the queue bound counts rows under a transaction-level advisory lock (under
 * READ COMMITTED, two creates could otherwise both see room for one); `requeueExpired` selects expired rows
 * `FOR UPDATE SKIP LOCKED` and rewrites each only if its `fence` is unchanged, like every fenced write here. The
 * wake-ups (a create waking a worker, an end waking a long-poll; across processes through `LISTEN`/`NOTIFY`) are
 * hints: workers still poll and long-polls re-read, so a lost one costs time, never a task.
 *
 * @since 0.1.0
 */
import type { TaskError } from "@facedet/core/DetectTask"
import * as TaskStatus from "@facedet/core/TaskStatus"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import * as Causes from "./internal/causes.js"
import type { MediaKind } from "@facedet/core/MediaFormat"

/**
 * What a task detects faces in.
 *
 * @since 0.1.0
 */
export type Kind = MediaKind

/**
 * Where a task is. `queued` tasks wait for a worker (`running` ones have one); a task that was claimed once and is
 * queued again (its worker died) keeps showing `processing` on the wire, since statuses never go backwards.
 *
 * @since 0.1.0
 */
export type State = TaskStatus.Stage

/**
 * A task's wire status, by core's machine: a task claimed once stays `processing` even if queued again.
 *
 * @since 0.1.0
 */
export const status = (task: Task): TaskStatus.TaskStatus =>
  TaskStatus.ofStage(task.state, task.startedAt !== undefined)

/**
 * Whether a task has ended (`succeeded` or `failed`): its record no longer changes.
 *
 * @since 0.1.0
 */
export const isEnded = (task: Task): boolean => TaskStatus.isTerminal(task.state)

/**
 * Where a task's media comes from.
 *
 * @since 0.1.0
 */
export type MediaSource =
  | { readonly _tag: "Upload"; readonly token: string }
  | { readonly _tag: "Remote"; readonly url: string }

/**
 * A face as stored with a succeeded task; `token` names its crop file (the link is built from it).
 *
 * @since 0.1.0
 */
export interface StoredFace {
  readonly id: number
  readonly token: string
  readonly box: readonly [number, number, number, number]
  readonly score: number
  readonly landmarks: Readonly<Record<string, readonly [number, number]>>
  readonly firstSeenMs?: number
  readonly lastSeenMs?: number
  /** Video: `[startMs, endMs]` stretches (absent on tasks stored before people were joined across cuts). */
  readonly appearances?: ReadonlyArray<readonly [number, number]>
  /** Only when the task asked for embeddings (`embeddings: true`). */
  readonly embedding?: ReadonlyArray<number>
}

/**
 * A detection task. Times are epoch milliseconds.
 *
 * @since 0.1.0
 */
export interface Task {
  readonly id: string
  readonly kind: Kind
  readonly mediaUrl: string
  /** Which API key created it (a key id, never the key). */
  readonly owner: string
  readonly state: State
  readonly attempts: number
  readonly createdAt: number
  /** When a worker first claimed it. */
  readonly startedAt: number | undefined
  readonly finishedAt: number | undefined
  /** The detect_id of a succeeded task. */
  readonly detectId: string | undefined
  readonly faces: ReadonlyArray<StoredFace> | undefined
  readonly error: TaskError | undefined
  /** Succeeded tasks: when the detect_id and crops expire. */
  readonly mediaExpiresAt: number | undefined
  /** Where a callback goes when the task ends (`callback_url`). */
  readonly callbackUrl: string | undefined
  /** The create asked for each face's embedding (`embeddings: true`). */
  readonly embeddings: boolean
  /**
   * Where the media comes from, decided once at create: one of this server's uploads (read from the file store,
   * never fetched; the server's address may have changed since) or a URL to download.
   */
  readonly source: MediaSource
  /**
   * Runs alone: it was in flight when a process crashed beside other tasks, so if it is the one that kills the
   * process, the next crash is charged to it (and only it).
   */
  readonly isolated: boolean
}

/**
 * A worker's hold on a task: every write about the task must present it.
 *
 * @since 0.1.0
 */
export interface Claim {
  readonly task: Task
  readonly workerId: string
  /** Fencing token: increases with every claim of this task. */
  readonly fence: number
}

/**
 * A new task.
 *
 * @since 0.1.0
 */
export interface CreateInput {
  readonly id: string
  readonly kind: Kind
  readonly mediaUrl: string
  readonly owner: string
  /** `Idempotency-Key`, scoped to `owner`; kept as long as the task record. */
  readonly idempotencyKey?: string | undefined
  /** A digest of the request body, compared when the idempotency key is reused. */
  readonly requestHash?: string | undefined
  /** Past this many queued or running tasks, `create` fails with `QueueFull`. */
  readonly queueLimit: number
  /** `callback_url`: the task's end writes a delivery to the outbox in the same transaction. */
  readonly callbackUrl?: string | undefined
  /** The upload token when the media is an upload of this server. */
  readonly uploadToken?: string | undefined
  /** `embeddings: true`: the result gives each face's embedding. Default false. */
  readonly embeddings?: boolean | undefined
  /** Past this many queued or running tasks of this owner, `create` fails with `OwnerQuotaExceeded`. */
  readonly ownerLimit?: number | undefined
}

/**
 * The outcome of a create: the task, and whether it is new or an idempotent replay.
 *
 * @since 0.1.0
 */
export interface Created {
  readonly task: Task
  readonly created: boolean
}

/**
 * A file the store tracks until it expires: a face crop or an upload (reachable by an unguessable token), or the
 * kept source of an image task (not reachable; swept with its crops).
 *
 * @since 0.1.0
 */
export interface MediaFile {
  readonly token: string
  readonly kind: "crop" | "upload" | "source"
  /** Path relative to the data directory. */
  readonly path: string
  readonly contentType: string
  /** Bytes; 0 when the file is written after it is registered (image crops). */
  readonly size: number
  readonly expiresAt: number
  /** The task that produced it (crops). */
  readonly taskId?: string | undefined
  /** The API key (id) that uploaded it (uploads): only that key may detect it. */
  readonly owner?: string | undefined
}

/**
 * A successful detection to record.
 *
 * @since 0.1.0
 */
export interface Success {
  readonly detectId: string
  readonly faces: ReadonlyArray<StoredFace>
  /** The files of the result (crops, a kept source), registered in the same transaction as the result. */
  readonly files: ReadonlyArray<Omit<MediaFile, "expiresAt">>
  /** How long the detect_id and its crops live. */
  readonly ttlMs: number
}

/**
 * Counts for the metrics and the queue bound.
 *
 * @since 0.1.0
 */
export interface Depth {
  readonly queued: number
  readonly running: number
}

/**
 * What a sweep removed; `files` are paths (relative to the data directory) the caller deletes from disk.
 *
 * @since 0.1.0
 */
export interface Swept {
  readonly tasks: number
  readonly files: ReadonlyArray<string>
  /** The batch was full: more may be due (sweep again). */
  readonly more?: boolean
}

/**
 * A callback of an ended task: a row of the outbox, written in the transaction that ended the task (`complete`,
 * `fail`, or the reaper giving up), so an end is never recorded without its delivery. Its `id` is the
 * `webhook-id`, the same for every attempt.
 *
 * @since 0.1.0
 */
export interface Delivery {
  readonly id: string
  readonly taskId: string
  readonly owner: string
  readonly url: string
  readonly state: "pending" | "delivered" | "failed"
  /** Attempts made so far. */
  readonly attempts: number
  /** HTTP status of the last attempt (undefined: none yet, or no answer). */
  readonly lastStatus: number | undefined
  /** Why the last attempt failed, for the log and the metrics (never shown to other keys). */
  readonly lastError: string | undefined
  /** When a pending delivery is due. */
  readonly nextAttemptAt: number | undefined
  /** When the task ended (the retry horizon and the latency count from here). */
  readonly createdAt: number
  /** The exact body, fixed at the first attempt so every retry sends (and signs) the same bytes. */
  readonly body: string | undefined
}

/**
 * How an attempt ended.
 *
 * @since 0.1.0
 */
export type DeliveryOutcome =
  | { readonly _tag: "Delivered"; readonly status: number }
  | { readonly _tag: "Retry"; readonly status: number | undefined; readonly error: string; readonly at: number }
  | { readonly _tag: "Failed"; readonly status: number | undefined; readonly error: string }

/**
 * The store itself failed (disk, corruption, a closed store): never the user's fault, logged. `unavailable` marks a
 * store out of reach (PostgreSQL down or unreachable): a 503 to retry rather than a 500.
 *
 * @since 0.1.0
 */
export class StoreError extends Data.TaggedError("StoreError")<{
  readonly operation: string
  readonly cause: unknown
  readonly unavailable?: boolean
}> {
  override get message(): string {
    const detail = this.cause instanceof Error ? this.cause.message : String(this.cause)
    return `job store ${this.operation} failed: ${detail}`
  }
}

const diskFullCodes = new Set(["SQLITE_FULL", "ENOSPC", "53100"])

/**
 * Whether a failure is a full disk (SQLite's `SQLITE_FULL`, a file write's `ENOSPC`): an outage, not a bug.
 *
 * @since 0.1.0
 */
export const isDiskFull = (cause: unknown): boolean =>
  Causes.chain(cause).some((c) => diskFullCodes.has(Causes.codeOf(c)))

/**
 * The queue holds `limit` tasks already; try again later.
 *
 * @since 0.1.0
 */
export class QueueFull extends Data.TaggedError("QueueFull")<{ readonly limit: number; readonly depth: number }> {
  override get message(): string {
    return `the queue is full (${this.depth} tasks waiting or running, limit ${this.limit}); try again later`
  }
}

/**
 * This API key has `limit` tasks queued or running already (one key must not fill the shared queue).
 *
 * @since 0.1.0
 */
export class OwnerQuotaExceeded extends Data.TaggedError("OwnerQuotaExceeded")<{
  readonly limit: number
  readonly active: number
}> {
  override get message(): string {
    return `this API key has ${this.active} tasks waiting or running (limit ${this.limit}); wait for some to end`
  }
}

/**
 * The idempotency key was used before with a different request body.
 *
 * @since 0.1.0
 */
export class IdempotencyConflict extends Data.TaggedError("IdempotencyConflict")<{
  readonly key: string
  readonly taskId: string
}> {
  override get message(): string {
    return "this Idempotency-Key was already used with a different request body"
  }
}

/**
 * The claim no longer holds the task (its lease expired and another worker took it, or the task ended).
 *
 * @since 0.1.0
 */
export class LeaseLost extends Data.TaggedError("LeaseLost")<{ readonly taskId: string; readonly fence: number }> {
  override get message(): string {
    return `task ${this.taskId}: lease ${this.fence} is no longer held`
  }
}

/**
 * The store's operations.
 *
 * @since 0.1.0
 */
export interface Service {
  readonly create: (
    input: CreateInput
  ) => Effect.Effect<Created, QueueFull | OwnerQuotaExceeded | IdempotencyConflict | StoreError>
  readonly get: (id: string) => Effect.Effect<Option.Option<Task>, StoreError>
  /** The task an API key created with this `Idempotency-Key`, and the digest of that request. */
  readonly findIdempotent: (
    owner: string,
    key: string
  ) => Effect.Effect<Option.Option<{ readonly task: Task; readonly requestHash: string | undefined }>, StoreError>
  /**
   * The next queued task, leased to `workerId` for `leaseMs`: fair across API keys (the oldest task of the key with
   * the fewest tasks running), so one key's backlog never starves the others.
   */
  readonly claim: (workerId: string, leaseMs: number) => Effect.Effect<Option.Option<Claim>, StoreError>
  /** Extends the lease. */
  readonly heartbeat: (claim: Claim, leaseMs: number) => Effect.Effect<void, LeaseLost | StoreError>
  readonly complete: (claim: Claim, success: Success) => Effect.Effect<Task, LeaseLost | StoreError>
  readonly fail: (claim: Claim, error: TaskError) => Effect.Effect<Task, LeaseLost | StoreError>
  /** Gives the task back to the queue without counting the attempt against it (graceful shutdown). */
  readonly release: (claim: Claim) => Effect.Effect<void, LeaseLost | StoreError>
  /**
   * Requeues tasks whose lease expired (or fails them with `Detect.WorkerLost` when they used `maxAttempts`); returns
   * the tasks it touched.
   */
  readonly requeueExpired: (maxAttempts: number) => Effect.Effect<ReadonlyArray<Task>, StoreError>
  readonly depth: Effect.Effect<Depth, StoreError>
  readonly putMedia: (file: MediaFile) => Effect.Effect<void, StoreError>
  /** A file that has not expired. */
  readonly getMedia: (token: string) => Effect.Effect<Option.Option<MediaFile>, StoreError>
  /**
   * Deletes expired files' records and task records that ended more than `retentionMs` ago; returns the file paths
   * to remove from disk.
   */
  readonly sweep: (retentionMs: number, limit?: number) => Effect.Effect<Swept, StoreError>
  /** Bytes of live (unexpired) uploads of an API key, for its upload quota. */
  readonly uploadBytes: (owner: string) => Effect.Effect<number, StoreError>
  /** Renames an API key's id on every record (ids widened from 32 to 128 bits). */
  readonly renameOwner: (from: string, to: string) => Effect.Effect<void, StoreError>
  /**
   * Up to `limit` pending deliveries that are due and not held by another dispatcher, each leased for `leaseMs`
   * (a dispatcher that dies mid-attempt leaves the delivery to the next one after the lease).
   */
  readonly claimDeliveries: (limit: number, leaseMs: number) => Effect.Effect<ReadonlyArray<Delivery>, StoreError>
  /** Fixes a delivery's body before its first attempt. */
  readonly setDeliveryBody: (id: string, body: string) => Effect.Effect<void, StoreError>
  /** Records an attempt: delivered, due again at `at`, or failed for good; frees the lease. */
  readonly settleDelivery: (id: string, outcome: DeliveryOutcome) => Effect.Effect<void, StoreError>
  /** The delivery of a task's callback, once the task ended. */
  readonly delivery: (taskId: string) => Effect.Effect<Option.Option<Delivery>, StoreError>
  /** The signing secrets of an API key's callbacks: the current one first, then those retired less than 24 h ago. */
  readonly webhookSecrets: (owner: string) => Effect.Effect<ReadonlyArray<string>, StoreError>
  /**
   * Makes `secret` the key's current signing secret; the previous one stays valid for `graceMs` (signatures carry
   * both meanwhile). `false` when it already was the current one.
   */
  readonly rotateWebhookSecret: (owner: string, secret: string, graceMs: number) => Effect.Effect<boolean, StoreError>
  /**
   * The key's current secret, creating it with `generate` when the key has none; `created` says whether this call
   * made it (its only chance to be shown).
   */
  readonly ensureWebhookSecret: (
    owner: string,
    generate: () => string
  ) => Effect.Effect<{ readonly secret: string; readonly created: boolean }, StoreError>
}

/**
 * The job store.
 *
 * @since 0.1.0
 */
export class JobStore extends Context.Tag("@facedet/http-server/JobStore")<JobStore, Service>() {}
