import { readFileSync } from "node:fs"
import { describe, expect, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import ort from "onnxruntime-node"
import sharp from "sharp"
import * as FaceDetector from "../src/FaceDetector.js"
import * as FaceEmbedding from "../src/FaceEmbedding.js"
import * as Identity from "../src/Identity.js"
import * as RecognitionModel from "../src/RecognitionModel.js"
import * as Media from "./fixtures/media.js"

const reference = JSON.parse(readFileSync(new URL("./fixtures/faceapi-embedding.json", import.meta.url), "utf8")) as {
  readonly extract: readonly [number, number, number, number]
  readonly embedding: ReadonlyArray<number>
}

describe("FaceEmbedding.chip", () => {
  // A raster whose pixel value encodes its position: x in red, y in green.
  const ramp = (width: number, height: number) => {
    const data = new Uint8Array(width * height * 3)
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set([x, y, 0], (y * width + x) * 3)
    return { data, width, height }
  }
  const px = (chip: Uint8Array, u: number, v: number) => {
    const o = (v * FaceEmbedding.chipSize + u) * 3
    return [chip[o]!, chip[o + 1]!]
  }

  it("frames the face (1.25x its box, a little below its centre) and levels the eyes", () => {
    const raster = ramp(250, 250)
    const face = {
      box: [60, 60, 120, 120] as const,
      landmarks: { right_eye: [90, 100], left_eye: [150, 100] } as const
    }
    const level = FaceEmbedding.chip(raster, 1, face)
    // The chip spans 150 source pixels around (120, 126): its corner pixels are the raster's (45, 51) and (194, 200).
    expect(px(level, 0, 0)).toEqual([45, 51])
    expect(px(level, 149, 149)).toEqual([194, 200])
    // Eyes on a line falling 45 degrees: the chip turns with them, so its top row runs down the raster's diagonal.
    const tilted = FaceEmbedding.chip(raster, 1, {
      ...face,
      landmarks: { right_eye: [90, 90], left_eye: [150, 150] }
    })
    const [x0, y0] = px(tilted, 0, 0)
    const [x1, y1] = px(tilted, 149, 0)
    expect(x1! - x0!).toBeCloseTo(y1! - y0!, -1)
    expect(x1! - x0!).toBeGreaterThan(90)
  })

  it("reads the same pixels from a region cut of the frame as from the frame", () => {
    const raster = ramp(250, 250)
    const face = { box: [40, 70, 100, 90] as const, landmarks: { right_eye: [70, 100], left_eye: [110, 110] } as const }
    const [left, top, width, height] = FaceEmbedding.region(face, 1, raster.width, raster.height)
    const cut = new Uint8Array(width * height * 3)
    for (let y = 0; y < height; y++) {
      cut.set(raster.data.subarray(((top + y) * 250 + left) * 3, ((top + y) * 250 + left + width) * 3), y * width * 3)
    }
    expect(FaceEmbedding.chip({ data: cut, width, height }, 1, face, [left, top])).toEqual(
      FaceEmbedding.chip(raster, 1, face)
    )
  })
})

layer(FaceDetector.layer({ sessions: 1 }), { timeout: 60_000 })("FaceEmbedding with the recognition model", (it) => {
  it.effect("computes face-api's FaceRecognitionNet (the reference: face-api 1.7.15 on TensorFlow.js)", () =>
    Effect.gen(function* () {
      const [left, top, width, height] = reference.extract
      const chip = yield* Effect.promise(() =>
        sharp(Media.photo(1))
          .extract({ left, top, width, height })
          .resize(FaceEmbedding.chipSize, FaceEmbedding.chipSize, { kernel: "cubic" })
          .removeAlpha()
          .raw()
          .toBuffer()
      )
      const detector = yield* FaceDetector.FaceDetector
      const embedded = yield* detector.embedChips([new Uint8Array(chip)])
      expect(embedded[0]!.length).toBe(128)
      expect(FaceEmbedding.distance(embedded[0]!, reference.embedding)).toBeLessThan(1e-4)
    })
  )

  it.effect("the 8-bit copy that joins tracks: near the float model, one person together, two people apart", () =>
    Effect.gen(function* () {
      const { bytes } = yield* RecognitionModel.loadInt8()
      const session = yield* Effect.promise(() =>
        ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, logSeverityLevel: 3 })
      )
      const size = FaceEmbedding.chipSize
      const embed = (chips: ReadonlyArray<Uint8Array>) =>
        Effect.promise(async () => {
          const batch = new Uint8Array(chips.length * size * size * 3)
          for (const [i, c] of chips.entries()) batch.set(c, i * c.length)
          const out = await session.run({ image: new ort.Tensor("uint8", batch, [chips.length, size, size, 3]) })
          const data = out.embedding!.data as Float32Array
          return chips.map((_, i) => data.subarray(i * 128, (i + 1) * 128))
        })
      const chipsOf = (image: Uint8Array) =>
        Effect.gen(function* () {
          const detector = yield* FaceDetector.FaceDetector
          const { faces } = yield* detector.detectImage(image, { crops: false })
          const { data, info } = yield* Effect.promise(() =>
            sharp(image).removeAlpha().raw().toBuffer({ resolveWithObject: true })
          )
          const raster = { data: new Uint8Array(data), width: info.width, height: info.height }
          return faces.map((f) => FaceEmbedding.chip(raster, 1, f))
        })
      const photo = Media.photo(4)
      const half = new Uint8Array(
        yield* Effect.promise(() => sharp(photo).resize({ width: 960 }).jpeg({ quality: 80 }).toBuffer())
      )
      const fullChips = yield* chipsOf(photo)
      const halfChips = yield* chipsOf(half)
      expect(fullChips).toHaveLength(4)
      expect(halfChips).toHaveLength(4)
      const detector = yield* FaceDetector.FaceDetector
      const float = yield* detector.embedChips(fullChips)
      const full = yield* embed(fullChips)
      const small = yield* embed(halfChips)
      for (const [i, e] of full.entries()) {
        // Measured on 748 chips: 0.085 from the float model at the median, 0.15 at most.
        expect(FaceEmbedding.distance(e, float[i]!)).toBeLessThan(0.15)
        expect(FaceEmbedding.distance(e, float[i]!)).toBeGreaterThan(0)
        for (const [j, other] of small.entries()) {
          const d = FaceEmbedding.distance(e, other)
          if (i === j) expect(d).toBeLessThan(Identity.defaultThreshold)
          else expect(d).toBeGreaterThan(Identity.defaultThreshold)
        }
      }
    })
  )

  it.effect("refuses chips of the wrong size with a typed error", () =>
    Effect.gen(function* () {
      const detector = yield* FaceDetector.FaceDetector
      const error = yield* Effect.flip(detector.embedChips([new Uint8Array(150 * 150 * 3), new Uint8Array(100)]))
      expect(error._tag).toBe("CorruptMedia")
      expect(error.message).toContain("chip 1 has 100 bytes, expected 67500")
    })
  )

  it.effect("embeds every face on request: one person resized stays close, different people stay apart", () =>
    Effect.gen(function* () {
      const detector = yield* FaceDetector.FaceDetector
      const bytes = Media.photo(4)
      const half = yield* Effect.promise(() => sharp(bytes).resize({ width: 960 }).jpeg({ quality: 80 }).toBuffer())
      const plain = yield* detector.detectImage(bytes, { crops: false })
      expect(plain.faces.every((f) => f.embedding === undefined)).toBe(true)
      const full = yield* detector.detectImage(bytes, { crops: false, embeddings: true })
      const small = yield* detector.detectImage(half, { crops: false, embeddings: true })
      expect(full.faces).toHaveLength(4)
      expect(small.faces).toHaveLength(4)
      for (const [i, face] of full.faces.entries()) {
        expect(face.embedding).toHaveLength(128)
        for (const [j, other] of small.faces.entries()) {
          const d = FaceEmbedding.distance(face.embedding!, other.embedding!)
          if (i === j) expect(d).toBeLessThan(Identity.defaultThreshold)
          else expect(d).toBeGreaterThan(Identity.defaultThreshold)
        }
      }
    })
  )
})
