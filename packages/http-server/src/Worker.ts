/**
 * The workers: a fixed number of fibers (default one per core) that claim queued tasks from the `JobStore`, fetch
 * the media, run the `FaceDetector`, write the crops and record the outcome.
 *
 * - **Claims and leases.** A claim is a lease renewed every third of its length by a heartbeat fiber racing the
 *   work; if a renewal finds the lease gone, the work is interrupted (the task belongs to someone else now).
 *   Every write presents the claim's fencing token, so a worker that lost its lease can never finish a task twice.
 * - **Wake-ups.** A create wakes one idle worker at once; idle workers also poll the store every second, which
 *   covers tasks requeued by the reaper or written by another process.
 * - **Hard timeouts.** Each task runs under its kind's deadline (download plus detection); past it the work is
 *   interrupted (the detector kills ffmpeg) and the task fails with `Detect.Timeout`.
 * - **Idempotent output.** Crops go to `crops/<task id>/<face id>.jpg` in the `BlobStore`, which never shows half a
 *   file and keeps the first complete one, so a retried task writes the same paths; only the attempt that completes
 *   registers links.
 * - **Reaper.** Tasks whose lease expired (a hung worker) are requeued, or failed with `Detect.WorkerLost` after
 *   `maxAttempts`.
 * - **Outages** of a shared store: claims pause (one log line), heartbeats and result writes retry while the store
 *   is unreachable; a result written after the lease moved on is refused by its fence.
 * - **Drain.** `drain(grace)` stops claiming, lets in-flight tasks finish for up to `grace`, then interrupts the
 *   rest and releases their leases so the next start picks them up at once.
 *
 * @since 0.1.0
 */
import { randomBytes } from "node:crypto"
import { rmSync } from "node:fs"
import { hostname } from "node:os"
import { join } from "node:path"
import type { TaskError } from "@facedet/core/DetectTask"
import * as TaskId from "@facedet/core/TaskId"
import { TaskErrorCode } from "@facedet/core/TaskErrorCode"
import type { DetectedFace, ImageDetection } from "@facedet/detector/Detection"
import type { DetectorError } from "@facedet/detector/DetectorError"
import * as DetectorErrors from "@facedet/detector/DetectorError"
import { FaceDetector } from "@facedet/detector/FaceDetector"
import * as ImageDecoder from "@facedet/detector/ImageDecoder"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type * as DataDir from "./internal/dataDir.js"
import * as Crops from "./internal/crops.js"
import * as Log from "./internal/log.js"
import * as Signals from "./internal/signals.js"
import * as BlobStore from "./BlobStore.js"
import type { Claim, MediaFile, StoredFace, Success, Task } from "./JobStore.js"
import { JobStore } from "./JobStore.js"
import type { MediaFetchError } from "./MediaFetcher.js"
import { MediaFetcher } from "./MediaFetcher.js"
import * as Metrics from "./Metrics.js"

/** Retries while a shared store is out of reach: every 500 ms, up to a minute. */
const outageRetry = Schedule.intersect(Schedule.spaced(Duration.millis(500)), Schedule.recurs(120))

/**
 * Pixels above which an image task is heavy (`Options.heavyConcurrency`). A 3000x2000 photo with its crops holds about
 * 36 MB while it is detected; 60 such tasks at once on 4 workers instead of 2 peaked 72 MB higher for 7 % more
 * throughput (README, "Per-task cost: the server's path").
 *
 * @since 0.1.0
 */
export const heavyImagePixels = 4_000_000

/**
 * Worker settings (from `ServerConfig`).
 *
 * @since 0.1.0
 */
export interface Options {
  /** Tasks processed at once. */
  readonly concurrency: number
  /**
   * Heavy tasks processed at once, at most (default `concurrency`): videos, and images over `heavyImagePixels`. Such
   * a task keeps a core busy and holds tens of megabytes, where a small image spends part of its time downloading and
   * committing.
   */
  readonly heavyConcurrency?: number
  readonly leaseMs: number
  readonly maxAttempts: number
  readonly imageTimeoutMs: number
  readonly videoTimeoutMs: number
  readonly mediaTtlMs: number
  /** When image crops are encoded (`ServerConfig.crops`). Default `eager`. */
  readonly crops?: "eager" | "lazy"
  readonly layout: DataDir.Layout
  /** How often idle workers look for work without a wake-up. Default 1000 ms. */
  readonly pollMs?: number
}

/**
 * What the workers read from the server's services.
 *
 * @since 0.1.0
 */
export type Requirements =
  | JobStore
  | FaceDetector
  | MediaFetcher
  | BlobStore.BlobStore
  | Crops.Crops
  | Metrics.Registry
  | Signals.Ended
  | Signals.Queued
  | Signals.Deliveries

/**
 * The running workers.
 *
 * @since 0.1.0
 */
export interface WorkerPool {
  /** Tasks being processed right now. */
  readonly inFlight: () => number
  /** Stops claiming; waits up to `graceMs` for in-flight tasks, then interrupts and releases the rest. */
  readonly drain: (graceMs: number) => Effect.Effect<{ readonly released: number }>
}

/**
 * A task outcome that is a failure of the task (not of the server): recorded as the task's `error`.
 *
 * @since 0.1.0
 */
export class TaskFailure extends Data.TaggedError("TaskFailure")<{ readonly error: TaskError }> {}

const fail = (code: string, message: string) => new TaskFailure({ error: { code, message } })

/**
 * The one message of every download failure. Distinct answers for "refused address", "connection refused",
 * "timed out" or "not an image" would let a user map ports and internal names through the server; the details go
 * to the log (`describeFetchFailure`), the user gets this and the code.
 *
 * @since 0.1.0
 */
export const downloadFailedMessage =
  "the media could not be downloaded from this URL (unreachable, not allowed, too slow, too large, or not a supported image or video); check the URL, or upload the file instead"

/**
 * The task error for a fetch failure: always `Media.DownloadFailed` with one message (see above).
 *
 * @since 0.1.0
 */
export const fromFetchError = (_e: MediaFetchError): TaskFailure =>
  fail(TaskErrorCode.DownloadFailed, downloadFailedMessage)

/**
 * What the log says about a fetch failure (the user's answer never does).
 *
 * @since 0.1.0
 */
export const describeFetchFailure = (e: MediaFetchError): string => `${e._tag}: ${e.message}`

/**
 * The task error for a detector failure. Messages are fixed per kind: the detector's own (ffmpeg's output, file
 * paths) go to the log only.
 *
 * @since 0.1.0
 */
export const fromDetectorError = (e: DetectorError): TaskFailure =>
  new TaskFailure({ error: DetectorErrors.taskError(e) })

type Media =
  | { readonly _tag: "Bytes"; readonly bytes: Uint8Array }
  | { readonly _tag: "File"; readonly path: string; readonly temporary: boolean }

const random = (n: number) => randomBytes(n)

/**
 * Starts `options.concurrency` workers and the lease reaper, for the lifetime of the scope.
 *
 * @since 0.1.0
 */
export const make = (options: Options): Effect.Effect<WorkerPool, never, Scope.Scope | Requirements> =>
  Effect.gen(function* () {
    const store = yield* JobStore
    const detector = yield* FaceDetector
    const fetcher = yield* MediaFetcher
    const blobs = yield* BlobStore.BlobStore
    const crops = yield* Crops.Crops
    const metrics = yield* Metrics.Registry
    const ended = yield* Signals.Ended
    const deliveries = yield* Signals.Deliveries
    const signal = yield* Signals.Queued
    const pollMs = options.pollMs ?? 1000
    const instance = `${hostname()}:${process.pid}:${TaskId.makeToken(random, 6)}`
    let stopping = false
    let inFlight = 0

    /** A task ended: its metrics, its long-polls, and its callback. */
    const onEnded = (task: Task, seconds: number | undefined) =>
      Effect.sync(() => {
        metrics.taskEnded(task.kind, task.state === "succeeded" ? "succeeded" : (task.error?.code ?? "failed"), seconds)
        ended.notify(task.id)
        if (task.callbackUrl !== undefined) deliveries.wake()
      })

    // Heavy tasks (videos, large images) take one of these besides their worker's permit.
    const heavySlots = yield* Effect.makeSemaphore(
      Math.max(1, Math.min(options.concurrency, options.heavyConcurrency ?? options.concurrency))
    )

    /**
     * A heavy slot until the task's scope closes (its crops written), if the image is large. Bytes that do not
     * decode are left to the detector to report.
     */
    const slotForImage = (bytes: Uint8Array): Effect.Effect<void, never, Scope.Scope> =>
      ImageDecoder.probe(bytes, { maxPixels: Number.POSITIVE_INFINITY, maxBytes: Number.POSITIVE_INFINITY }).pipe(
        Effect.map((info) => info.width * info.height > heavyImagePixels),
        Effect.orElseSucceed(() => false),
        Effect.flatMap((large) =>
          // The wait stays interruptible (a drain, the task's deadline), as in `Semaphore.withPermits`.
          large
            ? Effect.acquireRelease(Effect.interruptible(heavySlots.take(1)), () => heavySlots.release(1))
            : Effect.void
        ),
        Effect.asVoid
      )

    /** Runs `self`, timed as `stage` of `task` (`facedet_task_stage_seconds`), however it ends. */
    const timed = <A, E, R>(task: Task, stage: Metrics.Stage, self: Effect.Effect<A, E, R>) =>
      Effect.suspend(() => {
        const started = performance.now()
        return Effect.ensuring(
          self,
          Effect.sync(() => metrics.taskStage(task.kind, stage, (performance.now() - started) / 1000))
        )
      })

    /** A failed download or detection: logged (the task's error says less), then the task's failure. */
    const fetchFailure = (task: Task) => (e: MediaFetchError) =>
      Effect.zipRight(
        Log.failure(`task ${task.id}: download failed`, describeFetchFailure(e)),
        Effect.fail(fromFetchError(e))
      )
    const detectorFailure = (task: Task) => (e: DetectorError) =>
      Effect.zipRight(
        Log.failure(`task ${task.id}: detection failed`, `${e._tag}: ${e.message}`),
        Effect.fail(fromDetectorError(e))
      )

    const loadMedia = (task: Task): Effect.Effect<Media, TaskFailure> => {
      const source = task.source
      if (source._tag === "Upload") {
        return Effect.flatMap(
          Effect.orDie(store.getMedia(source.token)),
          Option.match({
            onNone: () =>
              Effect.fail(fail(TaskErrorCode.DownloadFailed, "the uploaded file has expired or is unknown")),
            onSome: (file) => {
              const gone = fail(TaskErrorCode.DownloadFailed, "the uploaded file is no longer available")
              const read: Effect.Effect<Option.Option<Media>, BlobStore.BlobError> = task.kind === "video"
                ? Effect.map(
                    blobs.localFile(file.path, options.layout.tmp),
                    Option.map((f): Media => ({ _tag: "File", path: f.path, temporary: f.temporary }))
                  )
                : Effect.map(
                    blobs.read(file.path),
                    Option.map((bytes): Media => ({ _tag: "Bytes", bytes }))
                  )
              return read.pipe(
                // The shared store out of reach: wait for it (within the task's deadline) rather than fail the task.
                Effect.retry({ schedule: outageRetry, while: (e) => e.unavailable === true }),
                Effect.mapError(() => gone),
                Effect.flatMap(Option.match({ onNone: () => Effect.fail(gone), onSome: Effect.succeed }))
              )
            }
          })
        )
      }
      if (task.kind === "image") {
        return fetcher.fetchBytes(source.url, { kind: "image" }).pipe(
          Effect.catchAll(fetchFailure(task)),
          Effect.map((r): Media => ({ _tag: "Bytes", bytes: r.bytes }))
        )
      }
      const path = join(options.layout.tmp, `${task.id}-${TaskId.makeToken(random, 8)}`)
      return fetcher.fetchToFile(source.url, { kind: "video", path }).pipe(
        Effect.catchAll(fetchFailure(task)),
        Effect.map((r): Media => ({ _tag: "File", path: r.path, temporary: true }))
      )
    }

    /** The stored form of a detected face, with a fresh link token. */
    const stored = (face: DetectedFace): StoredFace => ({
      id: face.id,
      token: TaskId.makeToken(random),
      box: face.box,
      score: face.score,
      landmarks: { ...face.landmarks },
      ...(face.firstSeenMs !== undefined ? { firstSeenMs: face.firstSeenMs } : {}),
      ...(face.lastSeenMs !== undefined ? { lastSeenMs: face.lastSeenMs } : {}),
      ...(face.appearances !== undefined ? { appearances: face.appearances } : {}),
      ...(face.embedding !== undefined ? { embedding: face.embedding } : {})
    })

    const noFace = (task: Task) =>
      fail(TaskErrorCode.NoFace, `no face detected in the source ${task.kind === "image" ? "image" : "video"}`)

    /** The faces of an image, and its crops from the raster still held (none with lazy crops: made on fetch). */
    const findFaces = (
      bytes: Uint8Array,
      embeddings: boolean
    ): Effect.Effect<
      { readonly detection: ImageDetection; readonly crops?: Effect.Effect<Array<Uint8Array>, DetectorError> },
      DetectorError
    > =>
      options.crops === "lazy"
        ? Effect.map(detector.detectImage(bytes, { crops: false, embeddings }), (detection) => ({ detection }))
        : detector.detectImageDeferringCrops(bytes, { embeddings })

    /**
     * An image: the task completes with its faces, then the crops are encoded from the raster still in memory and
     * written; the source is kept until they are (after a crash, a link encodes its crop from it). Lazy crops: the
     * source is kept and nothing else is done; the first link fetched makes them all.
     */
    const detectImage = (task: Task, bytes: Uint8Array) =>
      Effect.gen(function* () {
        const { detection, crops: encoded } = yield* timed(
          task,
          "detect",
          Effect.catchAll(findFaces(bytes, task.embeddings), detectorFailure(task))
        )
        if (detection.faces.length === 0) return yield* noFace(task)
        const faces = detection.faces.map(stored)
        // A shared store pays a transaction and a copy of the source for each step: there the crops are written
        // before the task completes, in one batch, and no source is kept.
        if (encoded !== undefined && blobs.kind === "postgres") {
          const jpegs = yield* timed(task, "crops", Effect.catchAll(encoded, detectorFailure(task)))
          const files = faces.map((f, i) => ({
            token: f.token,
            kind: "crop" as const,
            path: Crops.cropPath(task.id, f.id),
            contentType: "image/jpeg",
            size: jpegs[i]!.byteLength,
            taskId: task.id
          }))
          yield* storeCrops(files.map((f, i) => [f.path, jpegs[i]!] as const))
          const success: Success = { detectId: TaskId.makeDetectId(random), faces, files, ttlMs: options.mediaTtlMs }
          return { success, afterwards: Effect.void }
        }
        yield* Effect.mapError(crops.keepSource(task.id, bytes), (e) =>
          fail(TaskErrorCode.Internal, `the image could not be kept for its crops: ${Log.describe(e)}`)
        )
        const files: Array<Omit<MediaFile, "expiresAt">> = faces.map((f) => ({
          token: f.token,
          kind: "crop",
          path: Crops.cropPath(task.id, f.id),
          contentType: "image/jpeg",
          size: 0,
          taskId: task.id
        }))
        files.push({
          token: TaskId.makeToken(random),
          kind: "source",
          path: crops.sourcePath(task.id),
          contentType: "application/octet-stream",
          size: bytes.byteLength,
          taskId: task.id
        })
        const jobs = faces.map((f) => ({ taskId: task.id, box: f.box, path: Crops.cropPath(task.id, f.id) }))
        const success: Success = { detectId: TaskId.makeDetectId(random), faces, files, ttlMs: options.mediaTtlMs }
        return {
          success,
          afterwards:
            encoded === undefined ? Effect.void : timed(task, "crops", crops.writeAll(task.id, bytes, jobs, encoded))
        }
      })

    /** Writes crops before their task completes (videos; images on a shared store), waiting out an outage. */
    const storeCrops = (files: ReadonlyArray<readonly [string, Uint8Array]>) =>
      blobs.putAll(files).pipe(
        Effect.retry({ schedule: outageRetry, while: (e) => e.unavailable === true }),
        Effect.mapError((e) => fail(TaskErrorCode.Internal, `the face crops could not be stored: ${e.message}`))
      )

    /** A video or animated image: the detector's own crops (each person's best frame), written before completing. */
    const detectVideo = (task: Task, path: string) =>
      Effect.gen(function* () {
        const detection = yield* timed(
          task,
          "detect",
          Effect.catchAll(detector.detectVideo(path, { embeddings: task.embeddings }), detectorFailure(task))
        )
        if (detection.faces.length === 0) return yield* noFace(task)
        const faces: Array<StoredFace> = []
        const files: Array<Omit<MediaFile, "expiresAt">> = []
        const written: Array<readonly [string, Uint8Array]> = []
        for (const face of detection.faces) {
          if (!face.crop) return yield* fail(TaskErrorCode.Internal, `face ${face.id} has no crop`)
          const file = Crops.cropPath(task.id, face.id)
          written.push([file, face.crop])
          const s = stored(face)
          faces.push(s)
          files.push({
            token: s.token,
            kind: "crop",
            path: file,
            contentType: "image/jpeg",
            size: face.crop.byteLength,
            taskId: task.id
          })
        }
        yield* storeCrops(written)
        const success: Success = { detectId: TaskId.makeDetectId(random), faces, files, ttlMs: options.mediaTtlMs }
        return { success, afterwards: Effect.void }
      })

    /** Fetch and detect: the result to record (and work to do once it is recorded), or the task's failure. */
    // Not acquireUseRelease: its acquire step is uninterruptible, and a download must stay interruptible (drain,
    // timeouts). A video download removes its own file when interrupted; after it, `ensuring` does.
    // A large image waits for a heavy slot once downloaded (within its deadline), held until its crops are written.
    const work = (task: Task) =>
      // Images arrive as bytes (downloaded or read from an upload), videos as a file.
      Effect.flatMap(timed(task, "download", loadMedia(task)), (media) =>
        (media._tag === "Bytes"
          ? Effect.zipRight(slotForImage(media.bytes), detectImage(task, media.bytes))
          : detectVideo(task, media.path)
        ).pipe(
          Effect.ensuring(
            Effect.sync(() => {
              if (media._tag === "File" && media.temporary) rmSync(media.path, { force: true })
            })
          )
        )
      )

    // A store out of reach for a moment does not stop the work: the lease may still hold when it is back, and if it
    // does not, the fenced completion is refused and the task's new owner finishes it.
    const heartbeats = (claim: Claim) =>
      Effect.sleep(Duration.millis(options.leaseMs / 3)).pipe(
        Effect.zipRight(
          store.heartbeat(claim, options.leaseMs).pipe(
            Effect.catchIf(
              (e) => e._tag === "StoreError" && e.unavailable === true,
              () => Effect.void
            )
          )
        ),
        Effect.forever
      )

    /** Records an end, retrying while the store is out of reach (the lease, not this loop, bounds the wait). */
    const record = <A, E extends { readonly _tag: string }>(write: Effect.Effect<A, E>) =>
      Effect.retry(write, {
        schedule: outageRetry,
        while: (e) => e._tag === "StoreError" && (e as { unavailable?: boolean }).unavailable === true
      })

    const process1 = (claim: Claim) =>
      Effect.gen(function* () {
        const task = claim.task
        const started = performance.now()
        const now = yield* Clock.currentTimeMillis
        metrics.taskStage(task.kind, "queued", Math.max(0, now - task.createdAt) / 1000)
        const deadline = task.kind === "image" ? options.imageTimeoutMs : options.videoTimeoutMs
        const outcome = yield* work(task).pipe(
          Effect.timeoutFail({
            duration: Duration.millis(deadline),
            onTimeout: () =>
              fail(TaskErrorCode.DetectTimeout, `the task did not finish within ${Math.round(deadline / 1000)} s`)
          }),
          Effect.catchAllDefect((defect) =>
            Effect.zipRight(
              Log.failure(`task ${task.id}: unexpected failure`, defect),
              Effect.fail(fail(TaskErrorCode.Internal, "the server failed while processing this task"))
            )
          ),
          Effect.either,
          Effect.raceFirst(heartbeats(claim))
        )
        const seconds = (performance.now() - started) / 1000
        if (outcome._tag === "Left") {
          yield* onEnded(yield* record(store.fail(claim, outcome.left.error)), seconds)
          return
        }
        yield* onEnded(yield* timed(task, "record", record(store.complete(claim, outcome.right.success))), seconds)
        yield* outcome.right.afterwards
      }).pipe(
        Effect.scoped,
        Effect.catchTags({
          LeaseLost: (e) => Log.failure(`task ${e.taskId}: lease lost, leaving it to its new owner`, e),
          StoreError: (e) => Log.failure(`task ${claim.task.id}: store failure`, e)
        }),
        Effect.onInterrupt(() =>
          store.release(claim).pipe(
            Effect.tap(() => Effect.sync(() => released++)),
            Effect.ignore
          )
        )
      )

    let released = 0
    let claimsFailing = false

    // Every task holds one permit; an isolated task holds them all, so nothing runs beside it. Isolated tasks take
    // their turn under a lock after giving their own permit back, so two of them never wait for each other.
    const permits = yield* Effect.makeSemaphore(options.concurrency)
    const isolation = yield* Effect.makeSemaphore(1)
    let isolating = 0

    /**
     * Processes a claimed task once `n` permits of `semaphore` are its own, renewing its lease while it waits (a lost
     * lease ends the wait: the task is someone else's by then).
     */
    const withPermits = (claim: Claim, semaphore: Effect.Semaphore, n: number) =>
      Effect.gen(function* () {
        const got = yield* semaphore.take(n).pipe(
          Effect.as(true),
          Effect.raceFirst(
            Effect.as(
              Effect.orElseSucceed(heartbeats(claim), () => undefined),
              false
            )
          ),
          // A drain while it waits hands the task straight back, like one interrupted mid-work.
          Effect.onInterrupt(() => Effect.ignore(store.release(claim)))
        )
        if (!got) return
        yield* process1(claim).pipe(Effect.ensuring(semaphore.release(n)))
      })

    /** Gives back this worker's permit, then, alone: waits for every task in flight to end (renewing the lease). */
    const alone = (claim: Claim) =>
      Effect.gen(function* () {
        isolating++
        yield* permits.release(1)
        yield* isolation.withPermits(1)(withPermits(claim, permits, options.concurrency))
      }).pipe(Effect.ensuring(Effect.sync(() => isolating--)))

    const loop = (n: number) =>
      Effect.gen(function* () {
        const workerId = `${instance}:${n}`
        while (!stopping) {
          if (isolating > 0) {
            yield* signal.idle(pollMs)
            continue
          }
          yield* permits.take(1)
          const claim = yield* store.claim(workerId, options.leaseMs).pipe(
            Effect.tap(() =>
              Effect.suspend(() => {
                const was = claimsFailing
                claimsFailing = false
                return was ? Effect.logInfo("workers resume: the store answers again") : Effect.void
              })
            ),
            Effect.catchAll((e) =>
              Effect.suspend(() => {
                // Once per outage, not once per worker and poll: the workers pause until the store answers.
                const first = !claimsFailing
                claimsFailing = true
                return Effect.as(
                  first ? Log.failure("claiming a task failed; workers pause until the store answers", e) : Effect.void,
                  Option.none<Claim>()
                )
              })
            )
          )
          if (Option.isNone(claim)) {
            yield* permits.release(1)
            yield* signal.idle(pollMs)
            continue
          }
          inFlight++
          const task = claim.value.task
          const run = task.isolated
            ? alone(claim.value)
            : (task.kind === "video" ? withPermits(claim.value, heavySlots, 1) : process1(claim.value)).pipe(
                Effect.ensuring(permits.release(1))
              )
          yield* run.pipe(
            // A bug past the task's own error handling must not end this worker for good (the lease then runs out
            // and the reaper hands the task on).
            Effect.catchAllDefect((defect) => Log.failure(`task ${claim.value.task.id}: worker failure`, defect)),
            Effect.ensuring(Effect.sync(() => inFlight--))
          )
        }
      })

    const workers = yield* Effect.forEach(
      Array.from({ length: options.concurrency }, (_, n) => n),
      (n) => Effect.forkScoped(loop(n))
    )

    // The reaper: leases that ran out (a hung worker) go back to the queue, or fail after maxAttempts.
    yield* Effect.forkScoped(
      Effect.forever(
        Effect.sleep(Duration.millis(Math.max(250, options.leaseMs / 2))).pipe(
          Effect.zipRight(store.requeueExpired(options.maxAttempts)),
          Effect.tap((tasks) =>
            Effect.forEach(tasks, (t) => (t.state === "failed" ? onEnded(t, undefined) : Effect.sync(signal.wake)), {
              discard: true
            })
          ),
          Effect.catchAll((e) => Log.failure("requeueing expired leases failed", e))
        )
      )
    )

    const drain = (graceMs: number) =>
      Effect.gen(function* () {
        stopping = true
        signal.wakeAll()
        // disconnect: a timed-out wait must not wait for the fibers it was waiting on.
        const finished = yield* Fiber.awaitAll(workers).pipe(
          Effect.disconnect,
          Effect.timeout(Duration.millis(graceMs)),
          Effect.option
        )
        if (Option.isNone(finished)) yield* Fiber.interruptAll(workers)
        return { released }
      })

    return { inFlight: () => inFlight, drain } satisfies WorkerPool
  })

/**
 * The workers of the server being built, as a service.
 *
 * @since 0.1.0
 */
export class Workers extends Context.Tag("@facedet/http-server/Worker")<Workers, WorkerPool>() {}

/**
 * The workers, running while the layer lives.
 *
 * @since 0.1.0
 */
export const layer = (options: Options): Layer.Layer<Workers, never, Requirements> =>
  Layer.scoped(Workers, make(options))
