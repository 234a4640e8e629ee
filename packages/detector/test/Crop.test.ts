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
