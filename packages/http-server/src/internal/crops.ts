/**
 * Face crops of images, encoded after the task is recorded as succeeded rather than before.
 *
 * Why: the crops of a group photo cost a good part of the detection itself (seven faces of a 500x375 photo: about
 * 20 ms beside 28), and a client waiting on the task does not need the bytes of a crop to see its result, only its
 * link. So an image task is detected without crops, its source bytes are kept under `sources/`, the task is
 * completed (links included), and the same worker then encodes the crops from the raster the detector still holds
 * (`detectImageDeferringCrops`: no second decode). A link requested before its crop is
 * written waits for that encoding (or, after a crash between the two steps, encodes it from the kept source): a
 * link always answers with the crop. Files go through the `BlobStore`, where a reader never sees half a JPEG and
 * two writers of the same crop are harmless; with the shared (PostgreSQL) store, a link answered by another
 * process finds the kept source there and encodes its crop itself.
 *
 * With `FACEDET_CROPS=lazy` the worker stops after keeping the source: the first link fetched makes every crop of
 * its task from one decode of it (`ensure` with the task's other crops), then drops it; a task whose links nobody
 * fetches costs no crops, and its source goes when its media expire.
 *
 * Videos keep the detector's own crops: they come from the best frame of each person, which is not kept.
 */
import { join } from "node:path"
import * as Crop from "@facedet/detector/Crop"
import { type Service as Detector, FaceDetector } from "@facedet/detector/FaceDetector"
import * as ImageDecoder from "@facedet/detector/ImageDecoder"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { BlobStore, type Service as Blobs } from "../BlobStore.js"
import * as Log from "./log.js"

/** One crop to produce. */
export interface CropJob {
  readonly taskId: string
  readonly box: readonly [number, number, number, number]
  /** Path of the JPEG in the file store. */
  readonly path: string
}

/** Path (in the file store) of a face's crop. */
export const cropPath = (taskId: string, faceId: number) => join("crops", taskId, `${faceId}.jpg`)

export interface CropWriter {
  /** Path (in the file store) where a task's image source is kept until its crops exist. */
  readonly sourcePath: (taskId: string) => string
  /** Keeps an image task's source bytes for the crops (written before the task completes). */
  readonly keepSource: (taskId: string, bytes: Uint8Array) => Effect.Effect<void, unknown>
  /**
   * Writes every crop of a task, then drops the kept source: from `encoded` (the crops of `jobs`, in order, which
   * the detector encodes from the raster it still holds), or else by decoding `bytes` again.
   */
  readonly writeAll: (
    taskId: string,
    bytes: Uint8Array,
    jobs: ReadonlyArray<CropJob>,
    encoded?: Effect.Effect<ReadonlyArray<Uint8Array>, unknown>
  ) => Effect.Effect<void>
  /**
   * True when `job`'s crop exists (now, or once the encoding in progress or started here finishes). Given its
   * task's other crops (`siblings`), a missing crop is made with all of them from one decode of the kept source,
   * as lazy crops are on their first fetch.
   */
  readonly ensure: (job: CropJob, siblings?: ReadonlyArray<CropJob>) => Effect.Effect<boolean>
}

export const make = (detector: Detector, blobs: Blobs): CropWriter => {
  const inFlight = new Map<string, Deferred.Deferred<boolean>>()
  const sourcePath = (taskId: string) => join("sources", taskId)

  /** Settles a crop's waiters and lets the next request start afresh. */
  const settle = (path: string, done: Deferred.Deferred<boolean>, written: boolean) => {
    if (inFlight.get(path) === done) inFlight.delete(path)
    Deferred.unsafeDone(done, Exit.succeed(written))
  }

  const encode = (
    job: CropJob,
    bytes: () => Effect.Effect<Option.Option<Uint8Array>, unknown>
  ): Effect.Effect<boolean> =>
    Effect.suspend(() => {
      const running = inFlight.get(job.path)
      if (running) return Deferred.await(running)
      const done = Deferred.unsafeMake<boolean>(FiberId.none)
      inFlight.set(job.path, done)
      const work = Effect.gen(function* () {
        if (Option.isSome(yield* blobs.size(job.path))) return true
        const source = yield* bytes()
        if (Option.isNone(source)) return false
        const jpeg = yield* detector.encodeCrop(source.value, job.box)
        yield* blobs.putAll([[job.path, jpeg]])
        return true
      }).pipe(
        Effect.catchAllCause((cause) => Effect.as(Log.failure(`crop ${job.path} could not be written`, cause), false)),
        Effect.onExit((exit) => Effect.sync(() => settle(job.path, done, Exit.isSuccess(exit) && exit.value)))
      )
      // The encoding is shared: the request that started it may go away (a client that hangs up) without taking
      // it from the others waiting for the same crop.
      return Effect.zipRight(Effect.forkDaemon(work), Deferred.await(done))
    })

  const o = detector.options
  const limits: ImageDecoder.Limits = { maxPixels: o.maxPixels, maxBytes: o.maxImageBytes }

  /**
   * Every crop of an image from one decode, as the detector's own `detectImage` makes them (the detector's public
   * `ImageDecoder` and `Crop`): one raster at the resolution the largest crop needs, one JPEG per face.
   */
  const encodeBatch = (bytes: Uint8Array, jobs: ReadonlyArray<CropJob>) =>
    Effect.gen(function* () {
      const info = yield* ImageDecoder.probe(bytes, limits)
      const rects = jobs.map((j) => Crop.rect(j.box, info.width, info.height))
      const scale = Math.min(1, Math.max(...rects.map((r) => o.cropSize / r[2])))
      const raster = yield* ImageDecoder.render(
        bytes,
        info,
        { width: Math.max(1, Math.round(info.width * scale)), height: Math.max(1, Math.round(info.height * scale)) },
        limits
      )
      return yield* Crop.encodeAll(
        raster,
        rects.map((r) => Crop.scaled(r, scale, raster)),
        { size: o.cropSize, quality: o.cropQuality }
      )
    })

  const readSource = (taskId: string) => () => blobs.read(sourcePath(taskId))

  const writeAll: CropWriter["writeAll"] = (taskId, bytes, jobs, encoded) =>
    Effect.gen(function* () {
      // Claim every crop not already being written, encode them from one decode, then release the waiters.
      const mine = jobs.filter((j) => !inFlight.has(j.path))
      const waiters = mine.map((j) => {
        const d = Deferred.unsafeMake<boolean>(FiberId.none)
        inFlight.set(j.path, d)
        return d
      })
      const batch =
        encoded === undefined
          ? encodeBatch(bytes, mine)
          : Effect.map(encoded, (all) => mine.map((j) => all[jobs.indexOf(j)]!))
      const written = yield* (mine.length === 0 ? Effect.succeed([]) : batch).pipe(
        Effect.flatMap((jpegs) => blobs.putAll(jpegs.map((jpeg, i) => [mine[i]!.path, jpeg] as const))),
        Effect.as(true),
        Effect.catchAllCause((cause) =>
          Effect.as(Log.failure(`the crops of task ${taskId} could not be written`, cause), false)
        ),
        // Interrupted (shutdown) or not, a link waiting for one of these crops gets an answer.
        Effect.onExit((exit) =>
          Effect.sync(() => {
            for (const [i, j] of mine.entries()) settle(j.path, waiters[i]!, Exit.isSuccess(exit) && exit.value)
          })
        )
      )
      // Crops claimed by a link request meanwhile are awaited (and, if the batch failed, every crop is tried once
      // more on its own); the source goes once all are on disk, and stays for the links otherwise.
      const rest = written ? jobs.filter((j) => !mine.includes(j)) : jobs
      const done = yield* Effect.forEach(rest, (job) => encode(job, () => Effect.succeed(Option.some(bytes))))
      if (done.every((ok) => ok)) yield* Effect.ignore(blobs.remove([sourcePath(taskId)]))
    })

  /** Every missing crop of a task from its kept source, in a fiber of its own (a client hanging up stops nothing). */
  const ensureAll = (job: CropJob, jobs: ReadonlyArray<CropJob>) =>
    Effect.gen(function* () {
      if (!inFlight.has(job.path) && Option.isNone(yield* Effect.orElseSucceed(blobs.size(job.path), Option.none))) {
        const source = yield* Effect.orElseSucceed(readSource(job.taskId)(), Option.none)
        if (Option.isSome(source))
          yield* Fiber.await(yield* Effect.forkDaemon(writeAll(job.taskId, source.value, jobs)))
      }
      return yield* encode(job, readSource(job.taskId))
    })

  return {
    sourcePath,
    keepSource: (taskId, bytes) => blobs.putAll([[sourcePath(taskId), bytes]]),
    writeAll,
    ensure: (job, siblings) =>
      siblings === undefined || siblings.length < 2 ? encode(job, readSource(job.taskId)) : ensureAll(job, siblings)
  }
}

/** The crop writer of the server being built, shared by its workers and its crop links. */
export class Crops extends Context.Tag("@facedet/http-server/Crops")<Crops, CropWriter>() {}

export const layer: Layer.Layer<Crops, never, FaceDetector | BlobStore> = Layer.effect(
  Crops,
  Effect.zipWith(FaceDetector, BlobStore, make)
)
