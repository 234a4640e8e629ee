/**
 * Video fuzzing through the detector: truncations, bit flips and corrupted spans of a real MP4 (ffmpeg) and an
 * animated GIF (sharp), plus files built to lie: an MP4 whose moov claims 136 years, a sample table that claims
 * 268 million samples, a track header that claims 65535x65535; a GIF whose screen claims 65535x65535; a GIF of
 * 10,000 tiny frames. Every case ends as a detection or a typed error within its bound, and no ffmpeg outlives its
 * decoding. Seeded like Fuzz.test.ts (FACEDET_FUZZ_SEED, FACEDET_FUZZ_CASES, FACEDET_FUZZ_SAVE_DIR).
 */
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, layer } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FaceDetector from "../src/FaceDetector.js"
import * as VideoFrames from "../src/VideoFrames.js"
import * as Media from "./fixtures/media.js"
import * as Fuzz from "@facedet/testkit/Mutation"
import * as Processes from "@facedet/testkit/Processes"

const { seed, cases, saveDir } = Fuzz.settings(12)
const typed = new Set(["UnsupportedMedia", "CorruptMedia", "MediaTooLarge", "VideoDecodeFailed"])
const ffmpeg = VideoFrames.locateFfmpeg()
const dir = Media.tempDir()

/** A 2-second 320x214 MP4 (MPEG-4 part 2, 6 fps) of a group photo. */
const mp4 = (): Uint8Array => {
  const still = join(dir, "still.jpg")
  writeFileSync(still, Media.photo(1))
  const out = join(dir, "base.mp4")
  Media.ffmpeg(
    ffmpeg!,
    ["-loop", "1", "-i", still, "-t", "2", "-r", "6", "-vf", "scale=320:-2,format=yuv420p"].concat([
      "-c:v",
      "mpeg4",
      "-q:v",
      "4",
      out
    ])
  )
  return new Uint8Array(readFileSync(out))
}

/** Offset of the first box of type `type` (its size field), searching the whole file. */
const box = (bytes: Uint8Array, type: string): number => {
  const at = Buffer.from(bytes).indexOf(Buffer.from(type, "latin1"))
  expect(at, `no ${type} box`).toBeGreaterThan(3)
  return at - 4
}

/** Writes `bytes`, runs detectVideo under `boundMs`, and returns the outcome's tag ("detected" on success). */
const outcome = (detector: FaceDetector.Service, bytes: Uint8Array, name: string, boundMs: number) =>
  Effect.gen(function* () {
    const path = join(dir, name)
    writeFileSync(path, bytes)
    const started = Date.now()
    const exit = yield* detector
      .detectVideo(path)
      .pipe(Effect.timeoutFail({ duration: Duration.millis(boundMs), onTimeout: () => "hang" as const }), Effect.exit)
    const took = `${Date.now() - started} ms`
    if (Exit.isSuccess(exit)) return `detected (${exit.value.faces.length} faces, ${took})`
    const failure = exit.cause._tag === "Fail" ? exit.cause.error : undefined
    const tag = typeof failure === "object" && failure !== null ? failure._tag : String(failure)
    if (!typed.has(tag)) Fuzz.save(saveDir, `${name}-seed${seed}.bin`, bytes)
    expect(typed.has(tag), `${name}: ${tag} ${String(exit.cause).slice(0, 400)}`).toBe(true)
    return `${tag} (${took})`
  })

describe.skipIf(ffmpeg === undefined)("fuzzed video (needs ffmpeg)", () => {
  // The live clock: the bounds on each case are real time.
  layer(FaceDetector.layer({ sessions: 1 }), { timeout: 300_000, excludeTestServices: true })("the detector", (it) => {
    it.effect(
      `${cases} mutations each of an MP4 and an animated GIF end within 30 s; no ffmpeg is left`,
      () =>
        Effect.gen(function* () {
          const detector = yield* FaceDetector.FaceDetector
          const bases = {
            mp4: mp4(),
            gif: yield* Effect.promise(() => Media.animatedGif(Media.photo(1), Media.photo(2)))
          }
          for (const [format, base] of Object.entries(bases)) {
            expect(yield* outcome(detector, base, `base.${format}`, 30_000)).toMatch(/^detected/)
            const counts = new Map<string, number>()
            for (const [i, m] of Fuzz.sample(seed, cases).entries()) {
              const ended = yield* outcome(detector, Fuzz.apply(base, m), `${format}-case${i}.${format}`, 30_000)
              const tag = ended.split(" ")[0]!
              counts.set(tag, (counts.get(tag) ?? 0) + 1)
            }
            process.stdout.write(
              `fuzz ${format === "gif" ? "animated-gif" : format}: ${cases} cases, ${JSON.stringify(Object.fromEntries(counts))}\n`
            )
          }
          expect(yield* Effect.promise(() => Processes.ffmpegLeftAfter(2_000))).toBe(0)
        }),
      60_000 + cases * 6_000
    )

    it.effect(
      "an MP4 whose moov lies about its duration, samples or size fails typed or decodes, quickly",
      () =>
        Effect.gen(function* () {
          const detector = yield* FaceDetector.FaceDetector
          const base = mp4()
          const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength)

          // mvhd (version 0): timescale at +20, duration at +24. One tick a second, 2^32-1 ticks: 136 years.
          const longer = Uint8Array.from(base)
          const mvhd = box(longer, "mvhd")
          view(longer).setUint32(mvhd + 20, 1)
          view(longer).setUint32(mvhd + 24, 0xffffffff)
          // The same lie in the media header the demuxer reads per track (mdhd, version 0: same offsets).
          const mdhd = box(longer, "mdhd")
          view(longer).setUint32(mdhd + 20, 1)
          view(longer).setUint32(mdhd + 24, 0xffffffff)
          const long = yield* outcome(detector, longer, "lying-duration.mp4", 30_000)

          // stsz: sample_size at +12, sample_count at +16: 268 million samples in a 2-second file.
          const counted = Uint8Array.from(base)
          const stsz = box(counted, "stsz")
          view(counted).setUint32(stsz + 16, 0x0fffffff)
          const many = yield* outcome(detector, counted, "lying-samples.mp4", 30_000)

          // tkhd (version 0): width and height (16.16 fixed point) at +84 and +88.
          const sized = Uint8Array.from(base)
          const tkhd = box(sized, "tkhd")
          view(sized).setUint32(tkhd + 84, 0xffff0000)
          view(sized).setUint32(tkhd + 88, 0xffff0000)
          const wide = yield* outcome(detector, sized, "lying-size.mp4", 30_000)

          process.stdout.write(`lying moov: duration ${long}, samples ${many}, size ${wide}\n`)
          expect(yield* Effect.promise(() => Processes.ffmpegLeftAfter(2_000))).toBe(0)
        }),
      // Each case has its own 30 s bound; beside the other suites on two cores, three of them need more than 30 s.
      120_000
    )

    it.effect(
      "a GIF of 10,000 tiny frames, and one whose screen claims 65535x65535, end within their bound",
      () =>
        Effect.gen(function* () {
          const detector = yield* FaceDetector.FaceDetector
          const many = join(dir, "many.gif")
          // testsrc changes every frame, so the encoder keeps all 10,000 (2 cs each: 200 s of animation).
          Media.ffmpeg(ffmpeg!, ["-f", "lavfi", "-i", "testsrc=size=16x16:rate=50", "-frames:v", "10000", many])
          const bytes = new Uint8Array(readFileSync(many))
          const frames = yield* outcome(detector, bytes, "many-frames.gif", 60_000)

          const screen = Uint8Array.from(yield* Effect.promise(() => Media.animatedGif(Media.photo(1), Media.photo(2))))
          // Logical screen width and height: little-endian at bytes 6-9.
          screen.set([0xff, 0xff, 0xff, 0xff], 6)
          const huge = yield* outcome(detector, screen, "huge-screen.gif", 30_000)
          process.stdout.write(`10,000-frame GIF: ${frames}; 65535x65535 screen: ${huge}\n`)
        }),
      // The encoding of 10,000 frames, then two cases with bounds of 60 and 30 s.
      150_000
    )
  })
})
