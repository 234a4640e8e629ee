import { describe, expect, it } from "@effect/vitest"
import sharp from "sharp"
import * as JpegTiles from "../src/internal/jpegTiles.js"

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
