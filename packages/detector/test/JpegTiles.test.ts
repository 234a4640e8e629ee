import { describe, expect, it } from "@effect/vitest"
import sharp from "sharp"
import * as JpegTiles from "../src/internal/jpegTiles.js"
import * as Media from "./fixtures/media.js"

const strip = (count: number, options: { optimiseCoding?: boolean; progressive?: boolean } = {}) => {
  const data = new Uint8Array(64 * 64 * count * 3).map((_, i) => (i * 7919) % 251)
  return sharp(data, { raw: { width: 64, height: 64 * count, channels: 3 } })
    .jpeg({ quality: 85, mozjpeg: false, optimiseCoding: false, ...options })
    .toBuffer()
}

describe("JpegTiles", () => {
  it("cuts a strip into tiles that decode to the strip's pixels", async () => {
    const jpeg = await strip(3)
    const whole = await sharp(jpeg).raw().toBuffer()
    const tiles = JpegTiles.split(jpeg, 3)
    for (const [k, tile] of tiles.entries()) {
      const { data, info } = await sharp(tile).raw().toBuffer({ resolveWithObject: true })
      expect([info.width, info.height]).toEqual([64, 64])
      // Chroma upsampling near a tile's top and bottom edge sees other neighbours; the rest is identical.
      const row = 64 * 3
      const inner = (b: Uint8Array) => b.subarray(8 * row, 56 * row)
      expect(Buffer.compare(inner(data), inner(whole.subarray(k * 64 * row, (k + 1) * 64 * row)))).toBe(0)
    }
  })

  it("cuts a strip of photo crops into exactly the JPEGs each crop encodes to alone", async () => {
    // Four 256x256 squares of a photo: faces, hair, fabric, so codes of every length (long ones included).
    const photo = Media.photo(3)
    const { width, height } = await sharp(photo).metadata()
    const side = Math.min(width, height, 256 * 2)
    const squares = await Promise.all(
      [0, 1, 2, 3].map((k) =>
        sharp(photo)
          .extract({
            left: Math.round(((width - side) * k) / 3),
            top: ((height - side) * (k % 2)) >> 1,
            width: side,
            height: side
          })
          .resize(256, 256)
          .removeAlpha()
          .raw()
          .toBuffer()
      )
    )
    const encode = (pixels: Buffer, count: number) =>
      sharp(pixels, { raw: { width: 256, height: 256 * count, channels: 3 } })
        .jpeg({ quality: 88, mozjpeg: false, optimiseCoding: false })
        .toBuffer()
    const tiles = JpegTiles.split(new Uint8Array(await encode(Buffer.concat(squares), 4)), 4)
    for (const [k, tile] of tiles.entries()) {
      expect(Buffer.compare(Buffer.from(tile), await encode(squares[k]!, 1)), `tile ${k}`).toBe(0)
    }
  })

  it("refuses what it cannot cut: not a JPEG, progressive, tiles off the MCU grid", async () => {
    expect(() => JpegTiles.split(new Uint8Array([1, 2, 3]), 2)).toThrow(JpegTiles.Unsupported)
    await expect(strip(2, { progressive: true }).then((j) => JpegTiles.split(j, 2))).rejects.toThrow(
      JpegTiles.Unsupported
    )
    expect(() => JpegTiles.split(new Uint8Array(0), 1)).toThrow(JpegTiles.Unsupported)
    const jpeg = await strip(3)
    expect(() => JpegTiles.split(jpeg, 5)).toThrow(JpegTiles.Unsupported)
  })
})
