/**
 * Image crops written after their task completes: one decode for all of a task's crops, a link that asks first
 * waits for the same encoding instead of starting another, and after a crash between completion and encoding the
 * crop is made from the kept source.
 */
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import * as FaceDetector from "@facedet/detector/FaceDetector"
import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Logger from "effect/Logger"
import * as BlobStore from "../src/BlobStore.js"
import * as Crops from "../src/internal/crops.js"
import * as DataDir from "../src/internal/dataDir.js"
import { photo, tempDir } from "./support.js"

const setup = (
  gate: Effect.Effect<void> = Effect.void,
  wrap: (files: BlobStore.Service) => BlobStore.Service = (files) => files
) => {
  const layout = DataDir.layout(tempDir())
  DataDir.prepare(layout)
  let encodeCrops = 0
  const detector: FaceDetector.Service = {
    detectImage: () => Effect.die("unused"),
    detectVideo: () => Effect.die("unused"),
    detectImageDeferringCrops: () => Effect.die("unused"),
    embedChips: () => Effect.die("unused"),
    encodeCrop: () =>
      Effect.zipRight(
        gate,
        Effect.sync(() => {
          encodeCrops++
          return new Uint8Array([0xff, 0xd8, 0xff, 0xd9])
        })
      ),
    options: FaceDetector.resolve({ sessions: 1 })
  }
  // What the writer logs (its failures), captured in place of the default logger.
  const errors: Array<string> = []
  const logged = Logger.replace(
    Logger.defaultLogger,
    Logger.make(({ message }) => void errors.push(String(message)))
  )
  const writer = Crops.make(detector, wrap(BlobStore.fileSystem(layout)))
  return { layout, writer, errors, logged, encodeCrops: () => encodeCrops }
}

const boxes = [
  [100, 80, 120, 120],
  [400, 60, 100, 100]
] as const

describe("crops", () => {
  it.effect("writes every crop of a task from one decode, then drops the kept source", () =>
    Effect.gen(function* () {
      const { layout, writer, errors, logged, encodeCrops } = setup()
      const bytes = photo(1)
      yield* writer.keepSource("t1", bytes)
      const jobs = boxes.map((box, i) => ({ taskId: "t1", box, path: join("crops", "t1", `${i}.jpg`) }))
      yield* Effect.provide(writer.writeAll("t1", bytes, jobs), logged)
      for (const job of jobs) {
        const jpeg = readFileSync(join(layout.root, job.path))
        expect([jpeg[0], jpeg[1]]).toEqual([0xff, 0xd8])
        expect(jpeg.length).toBeGreaterThan(1000)
      }
      // The batch used the decoder once, not the per-crop encoder.
      expect(encodeCrops()).toBe(0)
      expect(existsSync(join(layout.root, writer.sourcePath("t1")))).toBe(false)
      expect(errors).toEqual([])
    })
  )

  it.effect("a batch that fails is made again crop by crop from the source's bytes", () =>
    Effect.gen(function* () {
      const { layout, writer, errors, logged, encodeCrops } = setup()
      const bytes = photo(1)
      yield* writer.keepSource("t6", bytes)
      const jobs = boxes.map((box, i) => ({ taskId: "t6", box, path: Crops.cropPath("t6", i) }))
      yield* Effect.provide(writer.writeAll("t6", bytes, jobs, Effect.fail("the detector's raster is gone")), logged)
      for (const job of jobs) expect(existsSync(join(layout.root, job.path))).toBe(true)
      expect(encodeCrops()).toBe(2)
      expect(existsSync(join(layout.root, writer.sourcePath("t6")))).toBe(false)
      expect(errors).toHaveLength(1)
    })
  )

  it.effect("crops that cannot be written keep the source, so their links can still make them", () =>
    Effect.gen(function* () {
      // A store that takes the source but refuses every crop (a full disk after the source was kept).
      const { layout, writer, errors, logged } = setup(Effect.void, (files) => ({
        ...files,
        putAll: (all) =>
          all.some(([path]) => path.startsWith("crops/"))
            ? Effect.fail(new BlobStore.BlobError({ operation: "write", path: all[0]![0], cause: "disk full" }))
            : files.putAll(all)
      }))
      const bytes = photo(1)
      yield* writer.keepSource("t7", bytes)
      const jobs = boxes.map((box, i) => ({ taskId: "t7", box, path: Crops.cropPath("t7", i) }))
      yield* Effect.provide(writer.writeAll("t7", bytes, jobs), logged)
      for (const job of jobs) expect(existsSync(join(layout.root, job.path))).toBe(false)
      expect(existsSync(join(layout.root, writer.sourcePath("t7")))).toBe(true)
      expect(errors.length).toBeGreaterThan(0)
    })
  )

  it.effect("a link given its siblings makes every crop of the task from one decode (lazy crops)", () =>
    Effect.gen(function* () {
      const { layout, writer, encodeCrops } = setup()
      yield* writer.keepSource("t5", photo(1))
      const jobs = boxes.map((box, i) => ({ taskId: "t5", box, path: Crops.cropPath("t5", i) }))
      const results = yield* Effect.all([writer.ensure(jobs[1]!, jobs), writer.ensure(jobs[0]!, jobs)], {
        concurrency: 2
      })
      expect(results).toEqual([true, true])
      for (const job of jobs) expect(readFileSync(join(layout.root, job.path)).length).toBeGreaterThan(1000)
      // One batch (the decoder), not the per-crop encoder; the source went with it.
      expect(encodeCrops()).toBe(0)
      expect(existsSync(join(layout.root, writer.sourcePath("t5")))).toBe(false)
    })
  )

  it.effect("after a crash between completion and encoding, a link makes its crop from the kept source, once", () =>
    Effect.gen(function* () {
      const { layout, writer, encodeCrops } = setup()
      yield* writer.keepSource("t2", photo(2))
      const job = { taskId: "t2", box: boxes[0], path: join("crops", "t2", "0.jpg") }
      const results = yield* Effect.all([writer.ensure(job), writer.ensure(job)], { concurrency: 2 })
      expect(results).toEqual([true, true])
      expect(existsSync(join(layout.root, job.path))).toBe(true)
      expect(encodeCrops()).toBe(1)
      expect(yield* writer.ensure(job)).toBe(true)
      expect(encodeCrops()).toBe(1)
    })
  )

  it.effect("a crop whose source is gone is reported missing, not invented", () =>
    Effect.gen(function* () {
      const { writer } = setup()
      expect(yield* writer.ensure({ taskId: "t3", box: boxes[0], path: join("crops", "t3", "0.jpg") })).toBe(false)
    })
  )

  it.effect("a requester that hangs up does not strand the others waiting for the same crop", () =>
    Effect.gen(function* () {
      const open = yield* Deferred.make<void>()
      const { layout, writer, encodeCrops } = setup(Deferred.await(open))
      yield* writer.keepSource("t4", photo(2))
      const job = { taskId: "t4", box: boxes[0], path: join("crops", "t4", "0.jpg") }
      const first = yield* Effect.fork(writer.ensure(job))
      yield* Effect.yieldNow()
      const second = yield* Effect.fork(writer.ensure(job))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(first)
      yield* Deferred.succeed(open, undefined)
      expect(yield* Fiber.join(second)).toBe(true)
      expect(existsSync(join(layout.root, job.path))).toBe(true)
      expect(encodeCrops()).toBe(1)
    })
  )
})
