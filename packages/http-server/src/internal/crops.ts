/**
 * Face crops of images, encoded after the task is recorded as succeeded rather than before.
 *
 * Why: the crops of a group photo cost a good part of the detection itself (seven faces of a 500x375 photo: about
 * 20 ms beside 28), and a client waiting on the task does not need the bytes of a crop to see its result, only its
 * link. So an image task is detected without crops, its source bytes are kept under `sources/`, the task is
 * completed (links included), and the same worker then encodes the crops from the raster the detector still holds
 * (`detectImageDeferringCrops`: no second decode). A link requested before its crop is
 * written waits for that encoding (or, after a crash between the two steps, encodes it from the kept source): a
 * link always answers with the crop. Files are written through a temporary name and a rename, so a reader never
 * sees half a JPEG and two writers of the same crop are harmless.
 *
 * Videos keep the detector's own crops: they come from the best frame of each person, which is not kept.
 */
import { randomBytes } from "node:crypto"
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import * as TaskId from "@facedet/core/TaskId"
import * as Crop from "@facedet/detector/Crop"
import type { Service as Detector } from "@facedet/detector/FaceDetector"
import * as ImageDecoder from "@facedet/detector/ImageDecoder"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import type * as DataDir from "./dataDir.js"

/** One crop to produce. */
export interface CropJob {
  readonly taskId: string
  readonly box: readonly [number, number, number, number]
  /** Absolute path of the JPEG. */
  readonly path: string
}

export interface CropWriter {
  /** Path (relative to the data directory) where a task's image source is kept until its crops exist. */
  readonly sourcePath: (taskId: string) => string
  /** Keeps an image task's source bytes for the crops (written before the task completes). */
  readonly keepSource: (taskId: string, bytes: Uint8Array) => void
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
  /** True when the crop exists (now, or once the encoding in progress or started here finishes). */
  readonly ensure: (job: CropJob) => Effect.Effect<boolean>
}

/** Writes `bytes` to `path` atomically (temporary file and rename). */
export const writeAtomic = (path: string, bytes: Uint8Array): void => {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  const partial = `${path}.${TaskId.makeToken((n) => randomBytes(n), 8)}.part`
  writeFileSync(partial, bytes, { mode: 0o600 })
  renameSync(partial, path)
}

export const make = (
  detector: Detector,
  layout: DataDir.Layout,
  onError: (message: string, cause: unknown) => void
): CropWriter => {
  const inFlight = new Map<string, Deferred.Deferred<boolean>>()
  const sourcePath = (taskId: string) => join("sources", taskId)

  /** Settles a crop's waiters and lets the next request start afresh. */
  const settle = (path: string, done: Deferred.Deferred<boolean>, written: boolean) => {
    if (inFlight.get(path) === done) inFlight.delete(path)
    Deferred.unsafeDone(done, Exit.succeed(written))
  }

  const encode = (job: CropJob, bytes: () => Uint8Array | undefined): Effect.Effect<boolean> =>
    Effect.suspend(() => {
      if (existsSync(job.path)) return Effect.succeed(true)
      const running = inFlight.get(job.path)
      if (running) return Deferred.await(running)
      const done = Deferred.unsafeMake<boolean>(FiberId.none)
      inFlight.set(job.path, done)
      const work = Effect.suspend(() => {
        const source = bytes()
        if (source === undefined) return Effect.succeed(false)
        return detector.encodeCrop(source, job.box).pipe(
          Effect.map((jpeg) => {
            writeAtomic(job.path, jpeg)
            return true
          })
        )
      }).pipe(
        Effect.catchAllCause((cause) =>
          Effect.sync(() => {
            onError(`crop ${job.path} could not be written`, cause)
            return false
          })
        ),
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

  const readSource = (taskId: string) => (): Uint8Array | undefined => {
    try {
      return readFileSync(join(layout.root, sourcePath(taskId)))
    } catch {
      return undefined
    }
  }

  return {
    sourcePath,
    keepSource: (taskId, bytes) => writeAtomic(join(layout.root, sourcePath(taskId)), bytes),
    writeAll: (taskId, bytes, jobs, encoded) =>
      Effect.gen(function* () {
        // Claim every crop not already being written, encode them from one decode, then release the waiters.
        const mine = jobs.filter((j) => !inFlight.has(j.path) && !existsSync(j.path))
        const waiters = mine.map((j) => {
          const d = Deferred.unsafeMake<boolean>(FiberId.none)
          inFlight.set(j.path, d)
          return d
        })
        const batch =
          encoded === undefined
            ? encodeBatch(bytes, mine)
            : Effect.map(encoded, (all) => mine.map((j) => all[jobs.indexOf(j)]!))
        yield* (mine.length === 0 ? Effect.succeed([]) : batch).pipe(
          Effect.map((jpegs) => {
            for (const [i, jpeg] of jpegs.entries()) writeAtomic(mine[i]!.path, jpeg)
            return true
          }),
          Effect.catchAllCause((cause) =>
            Effect.sync(() => {
              onError(`the crops of task ${taskId} could not be written`, cause)
              return false
            })
          ),
          // Interrupted (shutdown) or not, a link waiting for one of these crops gets an answer.
          Effect.onExit((exit) =>
            Effect.sync(() => {
              for (const [i, j] of mine.entries()) settle(j.path, waiters[i]!, Exit.isSuccess(exit) && exit.value)
            })
          )
        )
        // Crops claimed by a link request meanwhile finish on their own; the source goes once all are on disk.
        yield* Effect.forEach(jobs, (job) => encode(job, () => bytes), { discard: true })
        rmSync(join(layout.root, sourcePath(taskId)), { force: true })
      }),
    ensure: (job) => encode(job, readSource(job.taskId))
  }
}
