import { readFileSync } from "node:fs"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import sharp from "sharp"
import { assemble } from "../scripts/wasm.mjs"
import * as ImageDecoder from "../src/ImageDecoder.js"
import * as JpegRegions from "../src/internal/jpegRegions.js"
import { base64 } from "../src/internal/jpegWalkWasm.js"
import * as Media from "./fixtures/media.js"

// restart-markers.jpg: skimage-rocket.jpg (public domain) at 203x155, written by libjpeg-turbo's `cjpeg -quality 85
// -restart 3B -sample 2x2` (a restart marker every three MCUs, so also in the middle of MCU rows);
// restart-rows-422.jpg: the same pixels by `cjpeg -quality 80 -restart 1 -sample 2x1` (4:2:2, 16x8 MCUs, a restart
// marker every MCU row).
const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`./fixtures/${name}`, import.meta.url)))

const limits = { maxPixels: 50_000_000, maxBytes: 64 << 20 }
const u8 = (b: Buffer) => new Uint8Array(b.buffer, b.byteOffset, b.length)

/** Parts at the corners, the edges, the middle, overlapping, off the MCU grid, and a single pixel. */
const partsOf = (width: number, height: number): Array<JpegRegions.Rect> => [
  [0, 0, 37, 29],
  [width - 41, height - 23, 41, 23],
  [Math.floor(width / 3), Math.floor(height / 3), 61, 47],
  [Math.floor(width / 3) + 9, Math.floor(height / 3) + 5, 30, 30],
  [width - 17, 3, 17, 40],
  [5, height - 50, 90, 50],
  [Math.floor(width / 2), Math.floor(height / 2), 1, 1]
]

/** The largest difference between each part and the same pixels of the whole image, decoded by sharp. */
const largestDifference = (jpeg: Uint8Array, rectsOf = partsOf) =>
  Effect.gen(function* () {
    const info = yield* ImageDecoder.probe(jpeg, limits)
    const whole = yield* ImageDecoder.render(jpeg, info, info, limits)
    const rects = rectsOf(info.width, info.height)
    // Seven parts on a small image: their strip may hold more pixels than the image.
    const parts = yield* ImageDecoder.regions(jpeg, info, rects, limits, 10)
    expect(parts).toBeDefined()
    let largest = 0
    for (const [i, [left, top, w, h]] of rects.entries()) {
      const { raster, origin } = parts![i]!
      expect([raster.width, raster.height, ...origin]).toEqual([w, h, left, top])
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w * 3; x++) {
          const d = Math.abs(raster.data[y * w * 3 + x]! - whole.data[((top + y) * info.width + left) * 3 + x]!)
          largest = Math.max(largest, d)
        }
      }
    }
    return largest
  })

describe("JpegRegions", () => {
  it("runs the module assembled from jpegWalk.wat (run scripts/build-wasm.mjs after editing it)", async () => {
    const text = readFileSync(new URL("../src/internal/jpegWalk.wat", import.meta.url), "utf8")
    expect(Buffer.from(await assemble(text)).toString("base64")).toBe(base64)
  })

  it.effect("cuts parts that decode to the whole image's pixels, for the JPEGs encoders write", () =>
    Effect.gen(function* () {
      const photo = Media.photo(2)
      const jpegs: Record<string, Uint8Array> = {
        "4:2:0, standard tables": u8(
          yield* Effect.promise(() => sharp(photo).resize(997).jpeg({ quality: 90, optimiseCoding: false }).toBuffer())
        ),
        "4:2:0, optimised tables": u8(
          yield* Effect.promise(() => sharp(photo).resize(640).jpeg({ quality: 75, optimiseCoding: true }).toBuffer())
        ),
        "4:2:0, a last column of MCUs one pixel wide": u8(
          yield* Effect.promise(() => sharp(photo).resize(993).jpeg({ quality: 85 }).toBuffer())
        ),
        "4:4:4": u8(
          yield* Effect.promise(() => sharp(photo).resize(515).jpeg({ chromaSubsampling: "4:4:4" }).toBuffer())
        ),
        greyscale: u8(yield* Effect.promise(() => sharp(photo).resize(700).greyscale().jpeg().toBuffer())),
        "restart markers": fixture("restart-markers.jpg"),
        "4:2:2, a restart marker every row": fixture("restart-rows-422.jpg")
      }
      for (const [name, jpeg] of Object.entries(jpegs)) {
        // Widened by a block where the image goes on, and placed in the cut so that its edges are the image's.
        expect(yield* largestDifference(jpeg), name).toBe(0)
      }
      // The widest cover away from the edges, and one on the right edge: the cut ends 15 pixels into the first one's
      // margin column.
      const inner = (width: number): Array<JpegRegions.Rect> => [
        [100, 300, 400, 50],
        [width - 13, 200, 13, 20]
      ]
      expect(yield* largestDifference(jpegs["4:2:0, a last column of MCUs one pixel wide"]!, inner)).toBe(0)
    })
  )

  it.effect("turns the parts of a photo stored turned upright, for each of the eight EXIF orientations", () =>
    Effect.gen(function* () {
      // 4:2:0 at an odd size, so the stored image's last blocks are partial on both axes.
      const stored = yield* Effect.promise(() =>
        sharp(Media.photo(3)).resize(613, 419, { fit: "fill" }).raw().toBuffer()
      )
      for (let orientation = 1; orientation <= 8; orientation++) {
        const jpeg = u8(
          yield* Effect.promise(() =>
            sharp(stored, { raw: { width: 613, height: 419, channels: 3 } })
              .jpeg({ quality: 90 })
              .withMetadata({ orientation })
              .toBuffer()
          )
        )
        const info = yield* ImageDecoder.probe(jpeg, limits)
        expect(info.orientation ?? 1).toBe(orientation)
        expect([info.width, info.height]).toEqual(orientation >= 5 ? [419, 613] : [613, 419])
        expect(yield* largestDifference(jpeg), `orientation ${orientation}`).toBe(0)
      }
    })
  )

  it.effect("leaves to a whole decode what it cannot cut, without an error", () =>
    Effect.gen(function* () {
      const photo = Media.photo(2)
      const progressive = u8(yield* Effect.promise(() => sharp(photo).jpeg({ progressive: true }).toBuffer()))
      const png = yield* Effect.promise(() => Media.reencode(photo, "png", 400))
      const cmyk = u8(yield* Effect.promise(() => sharp(photo).resize(300).toColourspace("cmyk").jpeg().toBuffer()))
      for (const bytes of [progressive, png, cmyk]) {
        const info = yield* ImageDecoder.probe(bytes, limits)
        expect(yield* ImageDecoder.regions(bytes, info, [[0, 0, 10, 10]], limits, 1)).toBeUndefined()
      }
      // Broken data after a sound header: cut off in the middle, or with its scan overwritten.
      const jpeg = u8(yield* Effect.promise(() => sharp(photo).resize(800).jpeg().toBuffer()))
      const info = yield* ImageDecoder.probe(jpeg, limits)
      const bottom: JpegRegions.Rect = [info.width - 20, info.height - 20, 20, 20]
      const truncated = jpeg.slice(0, Math.floor(jpeg.length * 0.6))
      expect(yield* ImageDecoder.regions(truncated, info, [bottom], limits, 1)).toBeUndefined()
      const scrambled = jpeg.slice()
      for (let i = 700; i < scrambled.length - 2; i += 7) scrambled[i] = 0xff
      expect(yield* ImageDecoder.regions(scrambled, info, [bottom], limits, 1)).toBeUndefined()
      // Parts outside the image, and parts covering more of it than asked.
      expect(yield* ImageDecoder.regions(jpeg, info, [[info.width - 5, 0, 10, 10]], limits, 1)).toBeUndefined()
      expect(yield* ImageDecoder.regions(jpeg, info, [[0, 0, info.width, info.height]], limits, 0.5)).toBeUndefined()
    })
  )

  it("writes one JPEG of the parts, each under the one before, widened to whole MCUs", () => {
    const jpeg = fixture("restart-markers.jpg")
    const parts = (rects: ReadonlyArray<JpegRegions.Rect>) => JpegRegions.cut(jpeg, rects, 1_000_000)
    // 203x155 in 16x16 MCUs (13 x 10, the last ones partial). The first part covers columns 1-4 and rows 1-4; the
    // second columns 0-7 and rows 5-9, on the bottom edge, so it comes last and the cut ends where the image ends.
    const cut = parts([
      [0, 100, 100, 30],
      [40, 40, 20, 20]
    ])
    expect(cut.covers).toEqual([
      { left: 0, top: 80, x: 0, y: 64 },
      { left: 16, top: 16, x: 0, y: 0 }
    ])
    expect([cut.width, cut.height]).toEqual([128, 144 - 5])
    // Parts on the top edge share one band at the top of the cut; one on the right edge ends at the cut's right edge.
    const edges = parts([
      [0, 0, 10, 10],
      [150, 2, 10, 10],
      [190, 60, 13, 10]
    ])
    expect(edges.covers).toEqual([
      { left: 0, top: 0, x: 0, y: 0 },
      { left: 0, top: 0, x: 0, y: 0 },
      { left: 160, top: 32, x: 128, y: 32 }
    ])
    // The band spans columns 0-10 (11 MCUs); the right part's 3 columns are the cut's last 3. The image's last column
    // of MCUs has 5 pixels of padding, which the cut leaves out.
    expect([edges.width, edges.height]).toEqual([11 * 16 - 5, 32 + 64])
    expect(() => JpegRegions.cut(jpeg, [[0, 0, 203, 155]], 10_000)).toThrow(JpegRegions.Unsupported)
  })
})
