import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import sharp from "sharp"
import * as Crop from "../src/Crop.js"

describe("Crop", () => {
  it("takes a square of 1.5x the box around its centre", () => {
    expect(Crop.rect([100, 100, 40, 40], 1000, 1000)).toEqual([90, 90, 60, 60])
  })

  it("moves the square inside the image instead of cutting it, and shrinks it only to the image size", () => {
    expect(Crop.rect([0, 0, 40, 40], 1000, 1000)).toEqual([0, 0, 60, 60])
    expect(Crop.rect([980, 970, 40, 40], 1000, 1000)).toEqual([940, 940, 60, 60])
    expect(Crop.rect([10, 10, 100, 100], 120, 80)).toEqual([20, 0, 80, 80])
  })

  it.effect("encodes the crop as a square JPEG of the configured size", () =>
    Effect.gen(function* () {
      const raster = { data: new Uint8Array(200 * 100 * 3).fill(90), width: 200, height: 100 }
      const jpeg = yield* Crop.encode(raster, [10, 10, 50, 50], { size: 128, quality: 80 })
      const meta = yield* Effect.promise(() => sharp(jpeg).metadata())
      expect([meta.format, meta.width, meta.height]).toEqual(["jpeg", 128, 128])
    })
  )

  it("maps a crop rectangle into a scaled raster", () => {
    const raster = { data: new Uint8Array(0), width: 500, height: 300 }
    expect(Crop.scaled([100, 100, 60, 60], 0.5, raster)).toEqual([50, 50, 30, 30])
  })
})

/** A raster with structure (gradients and edges), so a wrong pixel or a misplaced bit shows. */
const scene = (width: number, height: number) => {
  const data = new Uint8Array(width * height * 3)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = (y * width + x) * 3
      data[p] = (x * 255) / width
      data[p + 1] = (y * 255) / height
      data[p + 2] = ((x >> 4) + (y >> 4)) % 2 ? 230 : 20
    }
  }
  return { data, width, height }
}

const decode = (jpeg: Uint8Array) => Effect.promise(() => sharp(jpeg).raw().toBuffer({ resolveWithObject: true }))

const psnr = (a: Uint8Array, b: Uint8Array) => {
  let sum = 0
  for (let i = 0; i < a.length; i++) sum += (a[i]! - b[i]!) ** 2
  return sum === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10((255 * 255) / (sum / a.length))
}

describe("Crop.encodeAll", () => {
  // Enlarged, same size and reduced squares; more than one strip of eight; one at the very edge.
  const regions: Array<Crop.Rect> = [
    [0, 0, 40, 40],
    [30, 20, 64, 64],
    [100, 50, 256, 256],
    [10, 10, 300, 300],
    [299, 239, 1, 1],
    ...Array.from({ length: 8 }, (_, i): Crop.Rect => [i * 30, i * 20, 50 + i * 10, 50 + i * 10])
  ]

  it.effect("makes every crop as its own encode would, from strips cut without decoding", () =>
    Effect.gen(function* () {
      const raster = scene(400, 320)
      const jpegs = yield* Crop.encodeAll(raster, regions, { size: 256, quality: 88 })
      expect(jpegs).toHaveLength(regions.length)
      for (const [k, region] of regions.entries()) {
        // The same pixels encoded alone decode to exactly the same image.
        const alone = yield* Crop.encodeAll(raster, [region], { size: 256, quality: 88 })
        const [cut, own] = [yield* decode(jpegs[k]!), yield* decode(alone[0]!)]
        expect([cut.info.width, cut.info.height]).toEqual([256, 256])
        expect(psnr(cut.data, own.data)).toBe(Number.POSITIVE_INFINITY)
      }
    })
  )

  it.effect("scales close to sharp's own resize (within JPEG's error), enlarging and reducing", () =>
    Effect.gen(function* () {
      // Photo-like (smooth): on hard edges the tent and sharp's Lanczos filters differ by design.
      const raster = { data: new Uint8Array(400 * 320 * 3), width: 400, height: 320 }
      for (let i = 0; i < raster.data.length; i++) {
        const x = (i / 3) % 400
        const y = Math.floor(i / 1200)
        raster.data[i] = 128 + 100 * Math.sin(x / (9 + (i % 3))) * Math.cos(y / 13)
      }
      for (const region of [regions[1]!, regions[3]!]) {
        const [jpeg] = yield* Crop.encodeAll(raster, [region], { size: 256, quality: 95 })
        const ours = yield* decode(jpeg!)
        const theirs = yield* Effect.promise(() =>
          sharp(raster.data, { raw: { width: 400, height: 320, channels: 3 } })
            .extract({ left: region[0], top: region[1], width: region[2], height: region[3] })
            .resize(256, 256, { fit: "fill" })
            .raw()
            .toBuffer()
        )
        // The right square scores 49-53 dB before JPEG; one cut a pixel off, 28-33.
        expect(psnr(ours.data, theirs)).toBeGreaterThan(38)
      }
    })
  )

  it.effect("falls back to one encode per crop when the size is off the JPEG block grid", () =>
    Effect.gen(function* () {
      const jpegs = yield* Crop.encodeAll(scene(200, 200), [regions[0]!, regions[1]!, regions[0]!], {
        size: 100,
        quality: 80
      })
      for (const jpeg of jpegs) {
        const meta = yield* Effect.promise(() => sharp(jpeg).metadata())
        expect([meta.width, meta.height]).toEqual([100, 100])
      }
    })
  )

  it.effect("runs concurrently without crops mixing up", () =>
    Effect.gen(function* () {
      const a = scene(400, 320)
      const b = { ...a, data: a.data.map((v) => 255 - v) }
      const [x, y] = yield* Effect.all([Crop.encodeAll(a, regions), Crop.encodeAll(b, regions)], { concurrency: 2 })
      const [x1, y1] = [yield* Crop.encodeAll(a, regions), yield* Crop.encodeAll(b, regions)]
      expect(x!.map((j) => j.length)).toEqual(x1.map((j) => j.length))
      expect(y!.map((j) => j.length)).toEqual(y1.map((j) => j.length))
    })
  )
})
