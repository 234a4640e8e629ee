import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as ImageDecoder from "../src/ImageDecoder.js"
import * as Media from "./fixtures/media.js"

const limits: ImageDecoder.Limits = { maxPixels: 50_000_000, maxBytes: 64 * 1024 * 1024 }

describe("ImageDecoder", () => {
  it.effect("reads JPEG, PNG, WebP, GIF, AVIF and TIFF headers", () =>
    Effect.gen(function* () {
      const jpeg = Media.photo(3)
      expect(yield* ImageDecoder.probe(jpeg, limits)).toMatchObject({ format: "jpeg", width: 1920, height: 1350 })
      for (const format of ["png", "webp", "gif", "avif", "tiff"] as const) {
        const info = yield* ImageDecoder.probe(yield* Effect.promise(() => Media.reencode(jpeg, format, 480)), limits)
        expect([info.format, info.width, info.height]).toEqual([format, 480, 338])
      }
    })
  )

  it.effect("decodes an AVIF whose major brand is the generic mif1 (the server accepts it; so must the detector)", () =>
    Effect.gen(function* () {
      const avif = Buffer.from(yield* Effect.promise(() => Media.reencode(Media.photo(3), "avif", 480)))
      avif.write("mif1", 8, "latin1")
      const info = yield* ImageDecoder.probe(avif, limits)
      expect([info.format, info.width, info.height]).toEqual(["avif", 480, 338])
      const raster = yield* ImageDecoder.render(avif, info, { width: 96, height: 68 }, limits)
      expect(raster.data.length).toBe(96 * 68 * 3)
    })
  )

  it.effect("reports the size after EXIF orientation and decodes upright pixels", () =>
    Effect.gen(function* () {
      const rotated = yield* Effect.promise(() => Media.rotatedWithExif(Media.photo(3)))
      const info = yield* ImageDecoder.probe(rotated, limits)
      expect([info.width, info.height]).toEqual([1920, 1350])
      const raster = yield* ImageDecoder.render(rotated, info, { width: 192, height: 135 }, limits)
      expect([raster.width, raster.height, raster.data.length]).toEqual([192, 135, 192 * 135 * 3])
    })
  )

  it.effect("renders greyscale and transparent images as 3-channel RGB", () =>
    Effect.gen(function* () {
      for (const bytes of [
        yield* Effect.promise(() => Media.greyscale(Media.photo(1))),
        yield* Effect.promise(() => Media.withAlpha(Media.photo(1)))
      ]) {
        const info = yield* ImageDecoder.probe(bytes, limits)
        const raster = yield* ImageDecoder.render(bytes, info, { width: 96, height: 64 }, limits)
        expect(raster.data.length).toBe(96 * 64 * 3)
      }
    })
  )

  it.effect("refuses a decompression bomb from its header, before decoding", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(ImageDecoder.probe(Media.hugeHeader(60_000, 60_000), limits))
      expect(error).toMatchObject({ _tag: "MediaTooLarge", reason: "pixels", limit: 50_000_000, actual: 3_600_000_000 })
      const bytes = yield* Effect.flip(ImageDecoder.probe(Media.photo(1), { ...limits, maxBytes: 1000 }))
      expect(bytes).toMatchObject({ _tag: "MediaTooLarge", reason: "bytes", limit: 1000 })
    })
  )

  it.effect("turns truncated, mislabelled and foreign bytes into typed errors", () =>
    Effect.gen(function* () {
      const jpeg = Media.photo(2)
      const truncated = jpeg.subarray(0, Math.floor(jpeg.length * 0.6))
      const info = yield* ImageDecoder.probe(truncated, limits)
      const corrupt = yield* Effect.flip(ImageDecoder.render(truncated, info, { width: 100, height: 71 }, limits))
      expect(corrupt._tag).toBe("CorruptMedia")
      const garbage = Uint8Array.from([0xff, 0xd8, 0xff, ...Array.from({ length: 500 }, (_, i) => (i * 37) % 256)])
      expect((yield* Effect.flip(ImageDecoder.probe(garbage, limits)))._tag).toBe("CorruptMedia")
      const text = new TextEncoder().encode("<svg xmlns='http://www.w3.org/2000/svg'></svg>")
      expect(yield* Effect.flip(ImageDecoder.probe(text, limits))).toMatchObject({
        _tag: "UnsupportedMedia",
        detected: "svg"
      })
    })
  )
})
