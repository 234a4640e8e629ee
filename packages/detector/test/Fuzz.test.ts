/**
 * Media fuzzing through the detector (seeded, so a failure replays with FACEDET_FUZZ_SEED): truncations, bit flips
 * and corrupted spans of real JPEG, PNG, WebP, GIF and AVIF files. Every case must end within a bounded time as a
 * detection or as one of the detector's typed errors: never a defect, never a hang. The counts per format are
 * printed; FACEDET_FUZZ_CASES raises them, and `pnpm fuzz` runs it again and again with new seeds, keeping any
 * failing input in FACEDET_FUZZ_SAVE_DIR.
 */
import { describe, expect, layer } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FaceDetector from "../src/FaceDetector.js"
import * as Media from "./fixtures/media.js"
import * as Fuzz from "@facedet/testkit/Mutation"

const { seed, cases, saveDir } = Fuzz.settings(40)
const typed = new Set(["UnsupportedMedia", "CorruptMedia", "MediaTooLarge"])

// The live clock: the bounds on each case are real time.
layer(FaceDetector.layer({ sessions: 1 }), { timeout: 300_000, excludeTestServices: true })("fuzzed media", (it) => {
  describe.each(["jpeg", "png", "webp", "gif", "avif"] as const)("%s", (format) => {
    it.effect(
      `${cases} mutations end as a detection or a typed error, each within 10 s`,
      () =>
        Effect.gen(function* () {
          const detector = yield* FaceDetector.FaceDetector
          const source = Media.photo(1)
          const base = format === "jpeg" ? source : yield* Effect.promise(() => Media.reencode(source, format, 320))
          // The unmutated file detects: a harness that broke every file would otherwise pass as "all typed errors".
          expect((yield* detector.detectImage(base)).faces.length).toBeGreaterThan(0)
          const samples = Fuzz.sample(seed, cases)
          const outcomes = { detected: 0, typed: 0 }
          for (const m of samples) {
            const bytes = Fuzz.apply(base, m)
            const exit = yield* detector
              .detectImage(bytes)
              .pipe(
                Effect.timeoutFail({ duration: Duration.seconds(10), onTimeout: () => "hang" as const }),
                Effect.exit
              )
            if (Exit.isSuccess(exit)) {
              outcomes.detected++
              continue
            }
            const failure = exit.cause._tag === "Fail" ? exit.cause.error : undefined
            const tag = typeof failure === "object" && failure !== null ? failure._tag : String(failure)
            // `pnpm fuzz` keeps the input that failed, to turn into a regression test.
            if (!typed.has(tag)) Fuzz.save(saveDir, `${format}-seed${seed}-case${samples.indexOf(m)}.bin`, bytes)
            expect(typed.has(tag), `${format} ${JSON.stringify(m).slice(0, 200)}: ${tag} ${String(exit.cause)}`).toBe(
              true
            )
            outcomes.typed++
          }
          process.stdout.write(
            `fuzz ${format}: ${cases} cases, ${outcomes.detected} detected, ${outcomes.typed} typed errors\n`
          )
        }),
      // Each case has its own bound above; the whole run scales with the number of cases.
      60_000 + cases * 1_000
    )
  })
})
