import { readdirSync, readFileSync, writeFileSync } from "node:fs"
import { availableParallelism } from "node:os"
import { join } from "node:path"
import { describe, expect, it, layer } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import sharp from "sharp"
import type { DetectedFace } from "../src/Detection.js"
import * as FaceDetector from "../src/FaceDetector.js"
import * as Nms from "../src/Nms.js"
import * as VideoFrames from "../src/VideoFrames.js"
import * as Media from "./fixtures/media.js"

const isJpeg = (bytes: Uint8Array | undefined) => bytes !== undefined && bytes[0] === 0xff && bytes[1] === 0xd8

const matches = (a: ReadonlyArray<DetectedFace>, b: ReadonlyArray<DetectedFace>) =>
  a.every((f) => b.some((g) => Nms.iou(f.box, g.box) > 0.6))

const ffmpegBinary = VideoFrames.locateFfmpeg()
if (ffmpegBinary === undefined) {
  console.warn("FaceDetector video tests skipped: no ffmpeg on PATH and no @ffmpeg-installer/ffmpeg binary")
}

layer(FaceDetector.layer({ sessions: 2 }), { timeout: 60_000 })("FaceDetector", (it) => {
  it.effect("finds every person in the six sample photos, left to right, with landmarks and JPEG crops", () =>
    Effect.gen(function* () {
      const detector = yield* FaceDetector.FaceDetector
      for (const n of [1, 2, 3, 4, 5, 6]) {
        const result = yield* detector.detectImage(Media.photo(n))
        expect([n, result.faces.length]).toEqual([n, Media.peopleIn[n]])
        expect(result).toMatchObject({ kind: "image", format: "jpeg", width: 1920 })
        result.faces.forEach((face, i) => {
          expect(face.id).toBe(i)
          if (i > 0) expect(face.box[0]).toBeGreaterThanOrEqual(result.faces[i - 1]!.box[0])
          expect(face.score).toBeGreaterThanOrEqual(0.68)
          const [x, y, w, h] = face.box
          // eyes, nose and mouth inside the box; eyes above the mouth
          for (const key of ["right_eye", "left_eye", "nose_tip", "mouth_center"] as const) {
            const [px, py] = face.landmarks[key]
            expect(px >= x && px <= x + w && py >= y && py <= y + h).toBe(true)
          }
          expect(face.landmarks.right_eye[1]).toBeLessThan(face.landmarks.mouth_center[1])
          // the subject's right eye is on the left of the picture
          expect(face.landmarks.right_eye[0]).toBeLessThan(face.landmarks.left_eye[0])
          expect(isJpeg(face.crop)).toBe(true)
        })
      }
    })
  )

  it.effect("crops are 256-pixel squares around the face", () =>
    Effect.gen(function* () {
      const detector = yield* FaceDetector.FaceDetector
      const result = yield* detector.detectImage(Media.photo(3))
      const meta = yield* Effect.promise(() => sharp(result.faces[0]!.crop!).metadata())
      expect([meta.format, meta.width, meta.height]).toEqual(["jpeg", 256, 256])
      const again = yield* detector.encodeCrop(Media.photo(3), result.faces[0]!.box)
      expect(isJpeg(again)).toBe(true)
      const without = yield* detector.detectImage(Media.photo(3), { crops: false })
      expect(without.faces.every((f) => f.crop === undefined)).toBe(true)
      // Deferred: the same faces now, the same crop bytes later.
      const deferred = yield* detector.detectImageDeferringCrops(Media.photo(3))
      expect(deferred.detection).toEqual(without)
      const crops = yield* deferred.crops
      expect(crops.map((c) => Buffer.from(c).toString("base64"))).toEqual(
        result.faces.map((f) => Buffer.from(f.crop!).toString("base64"))
      )
      // Asked for, embeddings come with the faces, as detectImage gives them; the crops are unchanged.
      const embedded = yield* detector.detectImage(Media.photo(3), { crops: false, embeddings: true })
      const deferredEmbedded = yield* detector.detectImageDeferringCrops(Media.photo(3), { embeddings: true })
      expect(deferredEmbedded.detection).toEqual(embedded)
      expect(embedded.faces.every((f) => f.embedding?.length === 128)).toBe(true)
      expect((yield* deferredEmbedded.crops).length).toBe(crops.length)
    })
  )

  it.effect("a large JPEG searched at 0.4x finds the same faces whether its crops are wanted or not", () =>
    Effect.gen(function* () {
      // At 0.4x sharp decodes a JPEG whole anyway: with crops coming the detector keeps that raster (one decode for
      // the search and the crops) and resizes it itself; the search must not see a different picture.
      const big = yield* Effect.promise(() =>
        sharp(Media.photo(3)).resize(3000, 2000, { fit: "fill" }).jpeg({ quality: 90 }).toBuffer()
      )
      const bytes = new Uint8Array(big)
      const detector = yield* FaceDetector.FaceDetector
      const withCrops = yield* detector.detectImage(bytes)
      const without = yield* detector.detectImage(bytes, { crops: false })
      expect(without.faces.length).toBe(Media.peopleIn[3])
      expect(withCrops.faces.map(({ crop: _, ...f }) => f)).toEqual(without.faces)
      const deferred = yield* detector.detectImageDeferringCrops(bytes)
      expect(deferred.detection).toEqual(without)
      const crops = yield* deferred.crops
      expect(crops.map((c) => Buffer.from(c).toString("base64"))).toEqual(
        withCrops.faces.map((f) => Buffer.from(f.crop!).toString("base64"))
      )
    })
  )

  it.effect("applies EXIF orientation: a phone photo stored sideways is searched upright", () =>
    Effect.gen(function* () {
      const detector = yield* FaceDetector.FaceDetector
      const upright = yield* detector.detectImage(Media.photo(3), { crops: false })
      const tagged = yield* detector.detectImage(yield* Effect.promise(() => Media.rotatedWithExif(Media.photo(3))), {
        crops: false
      })
      expect([tagged.width, tagged.height, tagged.faces.length]).toEqual([1920, 1350, 3])
      expect(matches(tagged.faces, upright.faces)).toBe(true)
      // without the tag, the same pixels are a sideways picture: its faces are elsewhere
      const untagged = yield* detector.detectImage(
        yield* Effect.promise(() => Media.rotatedWithoutExif(Media.photo(3))),
        { crops: false }
      )
      expect([untagged.width, untagged.height]).toEqual([1350, 1920])
      expect(untagged.faces.some((f) => upright.faces.some((g) => Nms.iou(f.box, g.box) > 0.6))).toBe(false)
    })
  )

  it.effect("reads PNG, WebP, GIF, AVIF and TIFF, greyscale and transparent images alike", () =>
    Effect.gen(function* () {
      const detector = yield* FaceDetector.FaceDetector
      const photo = Media.photo(6)
      for (const format of ["png", "webp", "gif", "avif", "tiff"] as const) {
        const result = yield* detector.detectImage(yield* Effect.promise(() => Media.reencode(photo, format, 640)), {
          crops: false
        })
        expect([format, result.format, result.faces.length]).toEqual([format, format, 4])
      }
      for (const bytes of [
        yield* Effect.promise(() => Media.greyscale(photo)),
        yield* Effect.promise(() => Media.withAlpha(photo))
      ]) {
        expect((yield* detector.detectImage(bytes)).faces).toHaveLength(4)
      }
    })
  )

  it.effect("finds no face in patterns, and none in a tiny image", () =>
    Effect.gen(function* () {
      const detector = yield* FaceDetector.FaceDetector
      expect((yield* detector.detectImage(yield* Effect.promise(Media.pattern))).faces).toEqual([])
      const tiny = yield* detector.detectImage(yield* Effect.promise(Media.tiny))
      expect([tiny.width, tiny.height, tiny.faces.length]).toEqual([16, 16, 0])
    })
  )

  it.effect("answers bad bytes with typed errors, never a crash", () =>
    Effect.gen(function* () {
      const detector = yield* FaceDetector.FaceDetector
      const photo = Media.photo(1)
      const truncated = yield* Effect.flip(detector.detectImage(photo.subarray(0, photo.length / 2)))
      expect(truncated._tag).toBe("CorruptMedia")
      const text = yield* Effect.flip(detector.detectImage(new TextEncoder().encode("definitely not an image")))
      expect(text).toMatchObject({ _tag: "UnsupportedMedia", detected: "text" })
      const empty = yield* Effect.flip(detector.detectImage(new Uint8Array(0)))
      expect(empty._tag).toBe("UnsupportedMedia")
      const bomb = yield* Effect.flip(detector.detectImage(Media.hugeHeader(40_000, 30_000)))
      expect(bomb).toMatchObject({ _tag: "MediaTooLarge", reason: "pixels", actual: 1_200_000_000 })
      expect(bomb.message).toContain("limit 50000000 pixels")
    })
  )

  it.effect("takes the first frame of an animated GIF as an image, and tracks its people as a video", () =>
    Effect.gen(function* () {
      const detector = yield* FaceDetector.FaceDetector
      const gif = yield* Effect.promise(() => Media.animatedGif(Media.photo(3), Media.photo(6)))
      const still = yield* detector.detectImage(gif)
      expect([still.format, still.faces.length]).toEqual(["gif", 3])
      const path = join(Media.tempDir(), "two-scenes.gif")
      writeFileSync(path, gif)
      const video = yield* detector.detectVideo(path, { fps: 3 })
      expect(video).toMatchObject({ kind: "video", format: "gif", width: 480, height: 320, durationMs: 2000 })
      expect(video.framesSampled).toBe(6)
      // three people in the first second, four others after the cut
      expect(video.faces.map((f) => [f.firstSeenMs, f.lastSeenMs])).toEqual([
        [0, 667],
        [0, 667],
        [0, 667],
        [1000, 1667],
        [1000, 1667],
        [1000, 1667],
        [1000, 1667]
      ])
      expect(video.faces.map((f) => f.id)).toEqual([0, 1, 2, 3, 4, 5, 6])
      expect(video.faces.every((f) => isJpeg(f.crop))).toBe(true)
    })
  )

  it.effect("refuses still images and unknown files as videos", () =>
    Effect.gen(function* () {
      const detector = yield* FaceDetector.FaceDetector
      const dir = Media.tempDir()
      writeFileSync(join(dir, "photo.jpg"), Media.photo(1))
      writeFileSync(join(dir, "notes.txt"), "hello")
      expect(yield* Effect.flip(detector.detectVideo(join(dir, "photo.jpg")))).toMatchObject({
        _tag: "UnsupportedMedia",
        detected: "jpeg"
      })
      expect((yield* Effect.flip(detector.detectVideo(join(dir, "notes.txt"))))._tag).toBe("UnsupportedMedia")
      expect((yield* Effect.flip(detector.detectVideo(join(dir, "missing.mp4"))))._tag).toBe("UnsupportedMedia")
    })
  )

  describe.skipIf(ffmpegBinary === undefined)("video through ffmpeg", () => {
    const binary = ffmpegBinary!
    const dir = Media.tempDir()
    const photo = (n: number) => {
      const path = join(dir, `sample${n}.jpg`)
      writeFileSync(path, Media.photo(n))
      return path
    }

    // The file's first video starts the spawn helper and loads the recognition and face-check models, and under
    // `pnpm test` it shares two cores with every other package's tests: 8.6-13.6 s in CI runs, once over 30 s.
    it.effect(
      "a clip panning over two people gives two faces, seen from start to end, with crops",
      () =>
        Effect.gen(function* () {
          const detector = yield* FaceDetector.FaceDetector
          const clip = join(dir, "pan.mp4")
          // a 1100x733 window over sample1's two women on the right, moving 220 px in 3 s
          Media.ffmpeg(binary, [
            ...["-loop", "1", "-i", photo(1), "-t", "3", "-r", "25"],
            ...["-vf", "crop=1100:733:'600+t*73':150,scale=960:640,format=yuv420p"],
            ...["-c:v", "libx264", "-preset", "ultrafast", clip]
          ])
          const video = yield* detector.detectVideo(clip)
          expect(video).toMatchObject({ kind: "video", format: "mp4", width: 960, height: 640, durationMs: 3000 })
          expect(video.framesSampled).toBe(9)
          expect(video.faces).toHaveLength(2)
          for (const face of video.faces) {
            expect(face.firstSeenMs).toBe(0)
            expect(face.lastSeenMs).toBeGreaterThanOrEqual(2333)
            expect(isJpeg(face.crop)).toBe(true)
          }
        }),
      90_000
    )

    it.effect("a scene cut ends the tracks: two shots of different people give each shot's faces", () =>
      Effect.gen(function* () {
        const detector = yield* FaceDetector.FaceDetector
        const clip = join(dir, "cut.mp4")
        Media.ffmpeg(binary, [
          ...["-loop", "1", "-t", "1.5", "-i", photo(3), "-loop", "1", "-t", "1.5", "-i", photo(6)],
          "-filter_complex",
          "[0:v]scale=960:640,setsar=1[a];[1:v]scale=960:640,setsar=1[b];[a][b]concat=n=2:v=1,format=yuv420p",
          ...["-r", "25", "-c:v", "libx264", "-preset", "ultrafast", clip]
        ])
        const video = yield* detector.detectVideo(clip, { crops: false })
        const firstShot = video.faces.filter((f) => f.lastSeenMs! < 1500)
        const secondShot = video.faces.filter((f) => f.firstSeenMs! >= 1500)
        expect([firstShot.length, secondShot.length, video.faces.length]).toEqual([3, 4, 7])
        expect(video.faces.every((f) => f.crop === undefined)).toBe(true)
      })
    )

    it.effect("people who come back after a cut keep their id, with one appearance per stretch", () =>
      Effect.gen(function* () {
        const detector = yield* FaceDetector.FaceDetector
        const clip = join(dir, "back.mp4")
        // Shots of sample3 (3 people), sample6 (4 others), sample3 again.
        Media.ffmpeg(binary, [
          ...["-loop", "1", "-t", "1.5", "-i", photo(3), "-loop", "1", "-t", "1.5", "-i", photo(6)],
          ...["-loop", "1", "-t", "1.5", "-i", photo(3)],
          "-filter_complex",
          "[0:v]scale=960:640,setsar=1[a];[1:v]scale=960:640,setsar=1[b];[2:v]scale=960:640,setsar=1[c];" +
            "[a][b][c]concat=n=3:v=1,format=yuv420p",
          ...["-r", "25", "-c:v", "libx264", "-preset", "ultrafast", clip]
        ])
        const video = yield* detector.detectVideo(clip, { crops: false, embeddings: true })
        expect(video.faces).toHaveLength(7)
        const returning = video.faces.filter((f) => f.appearances!.length === 2)
        expect(returning).toHaveLength(3)
        for (const face of returning) {
          expect(face.appearances![0]![1]).toBeLessThan(1500)
          expect(face.appearances![1]![0]).toBeGreaterThanOrEqual(3000)
          expect([face.firstSeenMs, face.lastSeenMs]).toEqual([face.appearances![0]![0], face.appearances![1]![1]])
        }
        expect(video.faces.every((f) => f.embedding?.length === 128)).toBe(true)
        // Ids in order of first appearance: the returning people are the first shot's.
        expect(returning.map((f) => f.id).sort()).toEqual([0, 1, 2])
        // Without joining, each stretch is a person of its own.
        const tracks = yield* detector.detectVideo(clip, { crops: false, identify: false })
        expect(tracks.faces).toHaveLength(10)
        expect(tracks.faces.every((f) => f.appearances!.length === 1 && f.embedding === undefined)).toBe(true)
      })
    )

    it.effect("a clip with no face gives no people (a server reports the no-face code)", () =>
      Effect.gen(function* () {
        const detector = yield* FaceDetector.FaceDetector
        const still = join(dir, "pattern.png")
        writeFileSync(still, yield* Effect.promise(() => Media.pattern()))
        const clip = join(dir, "noface.mp4")
        Media.ffmpeg(binary, [
          ...["-loop", "1", "-t", "2", "-i", still, "-vf", "scale=960:640,format=yuv420p"],
          ...["-r", "25", "-c:v", "libx264", "-preset", "ultrafast", clip]
        ])
        const video = yield* detector.detectVideo(clip, { embeddings: true })
        expect(video.framesSampled).toBe(6)
        expect(video.faces).toEqual([])
      })
    )

    it.effect("applies a phone video's rotation: a clip stored sideways is searched and reported upright", () =>
      Effect.gen(function* () {
        const detector = yield* FaceDetector.FaceDetector
        const sideways = join(dir, "sideways.mp4")
        const tagged = join(dir, "tagged.mp4")
        Media.ffmpeg(binary, [
          ...["-loop", "1", "-i", photo(3), "-t", "1", "-r", "10"],
          ...["-vf", "transpose=2,scale=540:-2,format=yuv420p", "-c:v", "libx264", "-preset", "ultrafast", sideways]
        ])
        // ffmpeg 4-5 turn this tag into the display matrix phones write
        Media.ffmpeg(binary, ["-i", sideways, "-c", "copy", "-metadata:s:v:0", "rotate=270", tagged])
        const video = yield* detector.detectVideo(tagged, { crops: false })
        expect([video.width, video.height, video.faces.length]).toEqual([768, 540, 3])
      })
    )

    it.effect("enforces the duration limit and reports broken files as typed errors", () =>
      Effect.gen(function* () {
        const detector = yield* FaceDetector.FaceDetector
        const clip = join(dir, "long.webm")
        Media.ffmpeg(binary, [
          ...["-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-t", "4", "-c:v", "libvpx", "-b:v", "100k", clip]
        ])
        const tooLong = yield* Effect.flip(detector.detectVideo(clip, { maxDurationMs: 2000 }))
        expect(tooLong).toMatchObject({ _tag: "MediaTooLarge", reason: "duration", limit: 2000, actual: 4000 })
        const ok = yield* detector.detectVideo(clip, { fps: 2 })
        expect([ok.format, ok.framesSampled, ok.faces.length]).toEqual(["webm", 8, 0])
        const broken = join(dir, "broken.mp4")
        writeFileSync(broken, readFileSync(join(dir, "pan.mp4")).subarray(0, 4000))
        const error = yield* Effect.flip(detector.detectVideo(broken))
        expect(["CorruptMedia", "VideoDecodeFailed"]).toContain(error._tag)
      })
    )

    it.effect(
      "interrupting a video detection kills ffmpeg",
      () =>
        Effect.gen(function* () {
          const detector = yield* FaceDetector.FaceDetector
          const clip = join(dir, "interrupt-me.mp4")
          Media.ffmpeg(binary, [
            ...[
              "-f",
              "lavfi",
              "-i",
              "testsrc=size=640x360:rate=30",
              "-t",
              "60",
              "-c:v",
              "libx264",
              "-preset",
              "ultrafast",
              clip
            ]
          ])
          const running = () =>
            readdirSync("/proc")
              .filter((p) => /^\d+$/.test(p))
              .filter((p) => {
                try {
                  return readFileSync(`/proc/${p}/cmdline`, "utf8").includes("interrupt-me.mp4")
                } catch {
                  return false
                }
              })
          const fiber = yield* Effect.fork(detector.detectVideo(clip))
          // Up to 30 s for ffmpeg to start: on two cores busy with the other suites, the probe before it takes seconds.
          for (let i = 0; i < 1500 && running().length === 0; i++) yield* Effect.promise(() => sleep(20))
          // The detection must still be running (not ended early, say by a probe timeout) when it is interrupted.
          const early = yield* Fiber.poll(fiber)
          expect(running().length, `ffmpeg never seen; the detection: ${String(early)}`).toBeGreaterThan(0)
          yield* Fiber.interrupt(fiber)
          for (let i = 0; i < 250 && running().length > 0; i++) yield* Effect.promise(() => sleep(20))
          expect(running()).toEqual([])
        }),
      90_000
    )
  })
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe("FaceDetector configuration", () => {
  it.effect("layerConfig reads the FACEDET_* variables", () =>
    Effect.gen(function* () {
      const detector = yield* FaceDetector.FaceDetector
      expect(detector.options).toMatchObject({
        sessions: 1,
        threads: 1,
        minScore: 0.9,
        maxPixels: 1_000_000,
        secondLook: false
      })
      expect(detector.options.video).toMatchObject({ fps: 2, maxFrames: 10 })
      const error = yield* Effect.flip(detector.detectImage(Media.photo(1)))
      expect(error).toMatchObject({ _tag: "MediaTooLarge", reason: "pixels", limit: 1_000_000 })
    }).pipe(
      Effect.provide(
        FaceDetector.layerConfig.pipe(
          Layer.provide(
            Layer.setConfigProvider(
              ConfigProvider.fromMap(
                new Map([
                  ["FACEDET_DETECTOR_SESSIONS", "1"],
                  ["FACEDET_MIN_FACE_SCORE", "0.9"],
                  ["FACEDET_SECOND_LOOK", "false"],
                  ["FACEDET_MAX_PIXELS", "1000000"],
                  ["FACEDET_VIDEO_FPS", "2"],
                  ["FACEDET_VIDEO_MAX_FRAMES", "10"]
                ])
              )
            )
          )
        )
      )
    )
  )

  it.effect("fails with ModelLoadFailed when the model file is wrong", () =>
    Effect.gen(function* () {
      const path = join(Media.tempDir(), "model.onnx")
      writeFileSync(path, "garbage")
      const error = yield* Effect.flip(Effect.scoped(FaceDetector.make({ modelPath: path, sessions: 1 })))
      expect(error._tag).toBe("ModelLoadFailed")
    })
  )

  it.live(
    "closing the detector mid-search lets the model run finish and the workers end by themselves",
    () =>
      // Terminating a worker inside onnxruntime's synchronous run aborts the whole process (an uncaught native
      // exception): this test would take vitest down with it.
      Effect.gen(function* () {
        const big = yield* Effect.promise(() =>
          sharp(Media.photo(1)).resize({ width: 3000 }).jpeg({ quality: 90 }).toBuffer()
        )
        for (const delayMs of [15, 40, 80, 120, 200]) {
          const scope = yield* Scope.make()
          const context = yield* Layer.buildWithScope(FaceDetector.layer({ sessions: 1 }), scope)
          const detector = Context.get(context, FaceDetector.FaceDetector)
          const search = yield* Effect.fork(detector.detectImage(big, { crops: false }))
          yield* Effect.sleep(Duration.millis(delayMs))
          yield* Fiber.interrupt(search)
          const started = Date.now()
          yield* Scope.close(scope, Exit.void)
          // Well under the 10 s after which a worker that did not end by itself is terminated anyway.
          expect(Date.now() - started).toBeLessThan(5_000)
        }
      }),
    60_000
  )

  it("defaults to one session per core and one thread each, and lets callers size them", () => {
    const o = FaceDetector.resolve()
    expect([o.threads, o.sessions, o.minScore]).toEqual([1, availableParallelism(), FaceDetector.defaultMinScore])
    expect(FaceDetector.resolve({ threads: 2, sessions: 3, video: { fps: 2 } })).toMatchObject({
      threads: 2,
      sessions: 3,
      video: { fps: 2, maxFrames: 600 }
    })
  })
})
