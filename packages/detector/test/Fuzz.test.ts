/**
 * Media fuzzing through the detector (seeded, so a failure replays with FACEDET_FUZZ_SEED): truncations, bit flips
 * and corrupted spans of real JPEG, PNG, WebP, GIF and AVIF files. Every case must end within a bounded time as a
 * detection or as one of the detector's typed errors: never a defect, never a hang. The counts per format are
 * printed; FACEDET_FUZZ_CASES raises them, and `pnpm fuzz` runs it again and again with new seeds, keeping any
 * failing input in FACEDET_FUZZ_SAVE_DIR.
 */
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, layer } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as FaceDetector from "../src/FaceDetector.js"
import * as Media from "./fixtures/media.js"

const seed = Number(process.env.FACEDET_FUZZ_SEED ?? 20261204)
const cases = Number(process.env.FACEDET_FUZZ_CASES ?? 40)
const saveDir = process.env.FACEDET_FUZZ_SAVE_DIR
const typed = new Set(["UnsupportedMedia", "CorruptMedia", "MediaTooLarge"])

/** A mutation of `bytes`: cut, bits flipped, or a span overwritten. */
const mutation = FastCheck.oneof(
  FastCheck.record({ kind: FastCheck.constant("cut" as const), at: FastCheck.double({ min: 0, max: 1, noNaN: true }) }),
  FastCheck.record({
    kind: FastCheck.constant("flip" as const),
    flips: FastCheck.array(
      FastCheck.tuple(FastCheck.double({ min: 0, max: 1, noNaN: true }), FastCheck.integer({ min: 1, max: 255 })),
      { minLength: 1, maxLength: 8 }
    )
  }),
  FastCheck.record({
    kind: FastCheck.constant("span" as const),
    at: FastCheck.double({ min: 0, max: 1, noNaN: true }),
    fill: FastCheck.uint8Array({ minLength: 1, maxLength: 256 })
  })
)

type Mutation = typeof mutation extends FastCheck.Arbitrary<infer M> ? M : never

const apply = (bytes: Uint8Array, m: Mutation): Uint8Array => {
  const out = Uint8Array.from(bytes)
  const at = (x: number) => Math.min(out.length - 1, Math.floor(x * out.length))
  switch (m.kind) {
    case "cut":
      return out.subarray(0, at(m.at))
    case "flip":
      for (const [x, bits] of m.flips) out[at(x)] = (out[at(x)] ?? 0) ^ bits
      return out
    case "span":
      out.set(m.fill.subarray(0, out.length - at(m.at)), at(m.at))
      return out
  }
}

layer(FaceDetector.layer({ sessions: 1 }), { timeout: 300_000 })("fuzzed media", (it) => {
  describe.each(["jpeg", "png", "webp", "gif", "avif"] as const)("%s", (format) => {
    it.effect(`${cases} mutations end as a detection or a typed error, each within 10 s`, () =>
      Effect.gen(function* () {
        const detector = yield* FaceDetector.FaceDetector
        const source = Media.photo(1)
        const base = format === "jpeg" ? source : yield* Effect.promise(() => Media.reencode(source, format, 320))
        // The unmutated file detects: a harness that broke every file would otherwise pass as "all typed errors".
        expect((yield* detector.detectImage(base)).faces.length).toBeGreaterThan(0)
        const samples = FastCheck.sample(mutation, { seed, numRuns: cases })
        const outcomes = { detected: 0, typed: 0 }
        for (const m of samples) {
          const bytes = apply(base, m)
          const exit = yield* detector
            .detectImage(bytes)
            .pipe(Effect.timeoutFail({ duration: Duration.seconds(10), onTimeout: () => "hang" as const }), Effect.exit)
          if (Exit.isSuccess(exit)) {
            outcomes.detected++
            continue
          }
          const failure = exit.cause._tag === "Fail" ? exit.cause.error : undefined
          const tag = typeof failure === "object" && failure !== null ? failure._tag : String(failure)
          // `pnpm fuzz` keeps the input that failed, to turn into a regression test.
          if (!typed.has(tag) && saveDir !== undefined) {
            mkdirSync(saveDir, { recursive: true })
            writeFileSync(join(saveDir, `${format}-seed${seed}-case${samples.indexOf(m)}.bin`), bytes)
          }
          expect(typed.has(tag), `${format} ${JSON.stringify(m).slice(0, 200)}: ${tag} ${String(exit.cause)}`).toBe(
            true
          )
          outcomes.typed++
        }
        process.stdout.write(
          `fuzz ${format}: ${cases} cases, ${outcomes.detected} detected, ${outcomes.typed} typed errors\n`
        )
      })
    )
  })
})
