import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { createRequire } from "node:module"
import { describe, expect, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import sharp from "sharp"
import * as FaceCheckModel from "../src/FaceCheckModel.js"
import * as FaceDetector from "../src/FaceDetector.js"
import * as ImageDecoder from "../src/ImageDecoder.js"
import * as SecondLook from "../src/SecondLook.js"
import * as VideoFrames from "../src/VideoFrames.js"
import * as Media from "./fixtures/media.js"

// skimage-chelsea.jpg (a cat; CC0) and skimage-rocket.jpg (public domain, SpaceX): scikit-image's sample data as
// Debian ships it, copied from apps/bench/data/hard-photos (see its README).
const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`./fixtures/${name}`, import.meta.url)))

/** Face flags computed by TensorFlow.js on human's original graph (see the fixture's `source`). */
const reference = JSON.parse(readFileSync(new URL("./fixtures/facemesh-flags.json", import.meta.url), "utf8")) as {
  readonly photos: Record<
    string,
    ReadonlyArray<{
      readonly box: readonly [number, number, number, number]
      readonly windowScale: number
      readonly flag: number
    }>
  >
}

describe("SecondLook", () => {
  it("doubts only candidates scored less than the band above the minimum", () => {
    expect(SecondLook.isDoubtful(0.7, 0.68)).toBe(true)
    expect(SecondLook.isDoubtful(0.5, 0.68)).toBe(true)
    expect(SecondLook.isDoubtful(0.68 + SecondLook.doubtBand, 0.68)).toBe(false)
    expect(SecondLook.isDoubtful(0.95, 0.68)).toBe(false)
  })

  it("cuts an upright window centred on the box, its side the box's larger side times the window scale", () => {
    // x in red, y in green: a window's pixels tell where they were read.
    const width = 200
    const height = 200
    const data = new Uint8Array(width * height * 3)
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set([x, y, 0], (y * width + x) * 3)
    const win = SecondLook.window({ data, width, height }, 1, [50, 60, 40, 20], 2, 80)
    const at = (u: number, v: number) => [win[(v * 80 + u) * 3]!, win[(v * 80 + u) * 3 + 1]!]
    // Centre (70, 70), side 80: the window is the raster's 30..109 on both axes, one pixel per pixel.
    expect(at(0, 0)).toEqual([30, 30])
    expect(at(79, 79)).toEqual([109, 109])
    // At half the resolution, the same box in source pixels reads the same place.
    const half = new Uint8Array(100 * 100 * 3)
    for (let y = 0; y < 100; y++) for (let x = 0; x < 100; x++) half.set([2 * x, 2 * y, 0], (y * 100 + x) * 3)
    const fromHalf = SecondLook.window({ data: half, width: 100, height: 100 }, 0.5, [50, 60, 40, 20], 2, 80)
    expect(Math.abs(fromHalf[(40 * 80 + 40) * 3]! - win[(40 * 80 + 40) * 3]!)).toBeLessThanOrEqual(1)
  })

  it("writes a window into the memory it is given, whatever was there, as it would return a new one", () => {
    const width = 120
    const height = 90
    const data = new Uint8Array(width * height * 3).map((_, i) => (i * 37) % 251)
    const raster = { data, width, height }
    // Inside the raster (the WebAssembly path) and across its edge (the sampled path, black beyond the edge).
    for (const box of [
      [40, 30, 30, 30],
      [-10, 70, 40, 40]
    ] as const) {
      const fresh = SecondLook.window(raster, 1, box, 1.4, 64)
      const out = new Uint8Array(64 * 64 * 3).fill(255)
      expect(SecondLook.window(raster, 1, box, 1.4, 64, [0, 0], out)).toBe(out)
      expect(out).toEqual(fresh)
    }
  })

  it("tries the next window scale only on the items no earlier window confirmed", () =>
    Effect.gen(function* () {
      // Item k is confirmed by the k-th window scale (3: by none); each window carries its item and scale index.
      const seen: Array<string> = []
      const result = yield* SecondLook.confirmed(
        [0, 1, 2, 3],
        (item, windowScale, out) => out.set([item, SecondLook.windowScales.indexOf(windowScale)]),
        (items, write) =>
          Effect.sync(() =>
            items.map((item) => {
              const out = new Uint8Array(2)
              write(item, out)
              seen.push(`${out[0]}@${out[1]}`)
              return new Float32Array([out[0] === out[1] ? SecondLook.confirmAt : SecondLook.confirmAt - 0.01])
            })
          )
      )
      expect([...result].sort()).toEqual([0, 1, 2])
      expect(seen).toEqual(["0@0", "1@0", "2@0", "3@0", "1@1", "2@1", "3@1", "2@2", "3@2"])
    }).pipe(Effect.runPromise))

  it("asks for the resolution at which the first window is not enlarged, never more than needed", () => {
    expect(SecondLook.resolutionFor([0, 0, 40, 40], 192)).toBeCloseTo(192 / (40 * SecondLook.windowScales[0]!))
    expect(SecondLook.resolutionFor([0, 0, 400, 300], 192)).toBeLessThan(1)
  })
})

describe("FaceCheckModel", () => {
  it("computes the face flag of human's facemesh (the reference: TensorFlow.js on the original graph)", async () => {
    const model = await Effect.runPromise(FaceCheckModel.load())
    const ort = createRequire(import.meta.url)("onnxruntime-node") as typeof import("onnxruntime-node")
    const session = await ort.InferenceSession.create(model.bytes, { intraOpNumThreads: 1, logSeverityLevel: 3 })
    const photos: Record<string, Uint8Array> = {
      "face-api:sample1.jpg": new Uint8Array(Media.photo(1)),
      "skimage-rocket.jpg": fixture("skimage-rocket.jpg"),
      "skimage-chelsea.jpg": fixture("skimage-chelsea.jpg")
    }
    let checked = 0
    for (const [name, windows] of Object.entries(reference.photos)) {
      const { data, info } = await sharp(photos[name]!).removeAlpha().raw().toBuffer({ resolveWithObject: true })
      const raster = { data: new Uint8Array(data), width: info.width, height: info.height }
      for (const w of windows) {
        const input = SecondLook.window(raster, 1, w.box, w.windowScale, FaceCheckModel.io.size)
        const out = await session.run({ window: new ort.Tensor("uint8", input, [1, 192, 192, 3]) })
        expect(Math.abs((out.face!.data as Float32Array)[0]! - w.flag)).toBeLessThan(1e-3)
        checked++
      }
    }
    expect(checked).toBe(12)
    await session.release()
  })
})

layer(FaceDetector.layer({ sessions: 1 }), { timeout: 60_000 })("FaceDetector's second look", (it) => {
  it.effect("drops the cat's face and the rocket's nose that BlazeFace alone reports, and keeps every real face", () =>
    Effect.gen(function* () {
      const detector = yield* FaceDetector.FaceDetector
      for (const name of ["skimage-chelsea.jpg", "skimage-rocket.jpg"]) {
        const without = yield* detector.detectImage(fixture(name), { crops: false, secondLook: false })
        expect(without.faces.length).toBeGreaterThan(0)
        const checked = yield* detector.detectImage(fixture(name), { crops: false })
        expect(checked.faces).toEqual([])
      }
      for (let n = 1; n <= 6; n++) {
        const result = yield* detector.detectImage(new Uint8Array(Media.photo(n)), { crops: false })
        expect(result.faces).toHaveLength(Media.peopleIn[n]!)
      }
    })
  )

  it.effect(
    "judges a large JPEG's doubtful candidates from the parts their windows read, as from the whole photo",
    () =>
      Effect.gen(function* () {
        // 3000x2000 with 400x400 tiles of the test photos, whose faces (50-70 pixels) score near the threshold. The
        // search reads it at well under half size, so without crops the second look decodes only the parts it needs
        // (`ImageDecoder.regions`); with crops it reads the whole raster.
        const tiles = yield* Effect.promise(() =>
          Promise.all(
            [1, 2, 3, 4, 5, 6].map((n) => sharp(Media.photo(n)).resize(400, 400, { fit: "cover" }).toBuffer())
          )
        )
        const canvas = yield* Effect.promise(() =>
          sharp({ create: { width: 3000, height: 2000, channels: 3, background: "#808080" } })
            .composite([
              ...Array.from({ length: 14 }, (_, i) => ({
                input: tiles[i % 6]!,
                left: (i % 7) * 400,
                top: Math.floor(i / 7) * 400
              }))
            ])
            .jpeg({ quality: 90 })
            .toBuffer()
        )
        const bytes = new Uint8Array(canvas.buffer, canvas.byteOffset, canvas.length)
        const detector = yield* FaceDetector.FaceDetector
        const unchecked = yield* detector.detectImage(bytes, { crops: false, secondLook: false })
        const doubtful = unchecked.faces.filter((f) => SecondLook.isDoubtful(f.score, detector.options.minScore))
        expect(doubtful.length).toBeGreaterThan(5)
        const info = yield* ImageDecoder.probe(bytes, { maxPixels: 50_000_000, maxBytes: 64 << 20 })
        const parts = doubtful.map((f) => SecondLook.region(f.box, 1, info.width, info.height))
        expect(yield* ImageDecoder.regions(bytes, info, parts, { maxPixels: 50_000_000 })).toHaveLength(parts.length)

        const fromParts = yield* detector.detectImage(bytes, { crops: false })
        const fromWhole = yield* detector.detectImage(bytes)
        expect(fromParts.faces.map((f) => f.box)).toEqual(fromWhole.faces.map((f) => f.box))
        // Every doubtful candidate is a real face, and a window read from the wrong pixels would lose it.
        expect(fromParts.faces).toHaveLength(unchecked.faces.length)
      })
  )

  it.effect("reports a missing face-check model as a typed error, only when a candidate needs it", () =>
    Effect.gen(function* () {
      const missing = "/nonexistent/face_check.onnx"
      const detector = yield* FaceDetector.make({ sessions: 1, faceCheckModelPath: missing })
      // Every face of this photo scores well above the threshold: the model is never needed.
      const sure = yield* detector.detectImage(new Uint8Array(Media.photo(1)), { crops: false })
      expect(sure.faces).toHaveLength(3)
      const error = yield* Effect.flip(detector.detectImage(fixture("skimage-rocket.jpg"), { crops: false }))
      expect(error._tag).toBe("ModelLoadFailed")
    }).pipe(Effect.scoped)
  )
})

const ffmpegBinary = VideoFrames.locateFfmpeg()

layer(FaceDetector.layer({ sessions: 1, secondLook: false }), { timeout: 120_000 })(
  "FaceDetector's second look in a video",
  (it) => {
    it.effect.skipIf(ffmpegBinary === undefined)(
      "drops a track whose best view it does not confirm: a cat filmed for 2 s is no person",
      () =>
        Effect.gen(function* () {
          const dir = Media.tempDir()
          const still = join(dir, "cat.jpg")
          const clip = join(dir, "cat.mp4")
          writeFileSync(still, fixture("skimage-chelsea.jpg"))
          Media.ffmpeg(ffmpegBinary!, [
            ...["-loop", "1", "-i", still, "-t", "2", "-r", "10"],
            ...["-vf", "scale=450:300,format=yuv420p", "-c:v", "libx264", clip]
          ])
          const unchecked = yield* FaceDetector.FaceDetector
          expect((yield* unchecked.detectVideo(clip, { crops: false })).faces.length).toBeGreaterThan(0)
          const checked = yield* FaceDetector.make({ sessions: 1 })
          const result = yield* checked.detectVideo(clip, { crops: false })
          expect(result.framesSampled).toBeGreaterThan(0)
          expect(result.faces).toEqual([])
        }).pipe(Effect.scoped)
    )
  }
)
