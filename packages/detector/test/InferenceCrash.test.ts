/**
 * Inference workers that die: the test hook (`inferenceFault`) makes the worker thread exit, or onnxruntime's run
 * throw, on jobs over rasters of one width. A job whose worker dies is run again on another worker and the dead one
 * is replaced; an input that kills `inferenceAttempts` workers fails with `InferenceFailed`, and the pool goes on
 * serving everything else.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import sharp from "sharp"
import type { ImageDetection } from "../src/Detection.js"
import * as FaceDetector from "../src/FaceDetector.js"
import * as Tiling from "../src/Tiling.js"
import * as Media from "./fixtures/media.js"

/** A photo whose search is one window on one level raster: the fault's target, by that raster's width. */
const poison = async () => {
  const bytes = new Uint8Array(await sharp(Media.photo(1)).resize({ width: 500 }).jpeg().toBuffer())
  const { height } = await sharp(bytes).metadata()
  const plan = Tiling.plan(500, height!)
  expect(plan.levels).toHaveLength(1)
  expect(plan.levels[0]!.tiles).toHaveLength(1)
  return { bytes, width: plan.levels[0]!.width }
}

/** A detector with a fault, for the length of `body`. */
const withDetector = <A, E>(
  fault: FaceDetector.InferenceFault,
  body: (detector: FaceDetector.Service) => Effect.Effect<A, E>
) =>
  Effect.scoped(Effect.flatMap(FaceDetector.make({ sessions: 2, inferenceAttempts: 3, inferenceFault: fault }), body))

describe("a crashed inference worker", { timeout: 120_000 }, () => {
  it.each(["exit", "throw"] as const)("(%s) costs a retry on a fresh worker, not the detection", (kind) =>
    Effect.runPromise(
      Effect.gen(function* () {
        const { bytes, width } = yield* Effect.promise(poison)
        const clean = yield* Effect.scoped(
          Effect.flatMap(FaceDetector.make({ sessions: 1 }), (d) => d.detectImage(bytes, { crops: false }))
        )
        const found = yield* withDetector({ kind, width, times: 1 }, (detector) =>
          Effect.gen(function* () {
            const first = yield* detector.detectImage(bytes, { crops: false })
            // The pool refilled: both sessions serve again, in parallel, the same photo and others.
            const after = yield* Effect.all(
              [bytes, bytes, Media.photo(2), Media.photo(3)].map((b) => detector.detectImage(b, { crops: false })),
              { concurrency: "unbounded" }
            )
            return { first, after }
          })
        )
        expect(found.first.faces).toEqual(clean.faces)
        expect(found.after[0]!.faces).toEqual(clean.faces)
        expect(found.after[2]!.faces.length).toBe(Media.peopleIn[2])
      })
    )
  )

  it("fails an input that kills every worker it meets with InferenceFailed, and serves the rest", () =>
    Effect.runPromise(
      Effect.gen(function* () {
        const { bytes, width } = yield* Effect.promise(poison)
        const { poisoned, healthy, again } = yield* withDetector({ kind: "exit", width, times: 1_000 }, (detector) =>
          Effect.gen(function* () {
            // Healthy work runs beside the poison, on the same two sessions.
            const [poisoned, healthy] = yield* Effect.all(
              [Effect.exit(detector.detectImage(bytes, { crops: false })), detector.detectImage(Media.photo(4))],
              { concurrency: "unbounded" }
            )
            const again = yield* detector.detectImage(Media.photo(5), { crops: false })
            return { poisoned, healthy, again }
          })
        )
        expect(Exit.isFailure(poisoned)).toBe(true)
        if (Exit.isFailure(poisoned) && poisoned.cause._tag === "Fail") {
          const error = poisoned.cause.error
          expect(error._tag).toBe("InferenceFailed")
          if (error._tag === "InferenceFailed") {
            expect(error.attempts).toBe(3)
            expect(error.message).toMatch(/failed on 3 workers: its worker thread stopped \(exit code 70\)/)
          }
        } else {
          expect.fail(`expected a typed failure, got ${String(poisoned)}`)
        }
        expect((healthy as ImageDetection).faces.length).toBe(Media.peopleIn[4])
        expect(again.faces.length).toBe(Media.peopleIn[5])
      })
    ))
})
