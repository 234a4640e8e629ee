/**
 * Face crops: the square JPEG a face `link` serves. The square is centred on the box, about 1.5x its larger side,
 * moved (not cut) to stay inside the image, and only shrunk when the image itself is smaller.
 */
import * as Effect from "effect/Effect"
import sharp from "sharp"
import type { Box } from "./Detection.js"
import { CorruptMedia } from "./DetectorError.js"
import type { Raster } from "./ImageDecoder.js"
import * as JpegTiles from "./internal/jpegTiles.js"
import * as Resample from "./internal/resample.js"

/**
 * Crop geometry and encoding.
 *
 * @since 0.1.0
 */
export interface CropOptions {
  /** Side of the square around the face, relative to the box's larger side. */
  readonly margin: number
  /** Output size in pixels (square). */
  readonly size: number
  /** JPEG quality 1..100. */
  readonly quality: number
}

/**
 * Crop defaults: 1.5 times the face box, 256 px square, JPEG quality 88.
 *
 * @since 0.1.0
 */
export const defaults: CropOptions = { margin: 1.5, size: 256, quality: 88 }

/**
 * An integer rectangle `[left, top, side, side]` in image pixels.
 *
 * @since 0.1.0
 */
export type Rect = readonly [left: number, top: number, width: number, height: number]

/**
 * The square around `box` in an image of `width` x `height`, clamped to the image.
 *
 * @since 0.1.0
 */
export const rect = (box: Box, width: number, height: number, margin = defaults.margin): Rect => {
  const side = Math.max(1, Math.min(Math.round(Math.max(box[2], box[3]) * margin), width, height))
  const cx = box[0] + box[2] / 2
  const cy = box[1] + box[3] / 2
  const left = Math.min(Math.max(0, Math.round(cx - side / 2)), width - side)
  const top = Math.min(Math.max(0, Math.round(cy - side / 2)), height - side)
  return [left, top, side, side]
}

/** Crops encoded together as one strip (bounds the strip's memory: 8 x 192 KiB of pixels at 256x256). */
const stripLength = 8

/**
 * Working memory of `encodeAll` (two strip buffers), kept for the next call: allocating 3 MB per image kept the
 * garbage collector busy for a tenth of the crops' time. One set per concurrent call.
 */
interface Memory {
  strips: [Buffer, Buffer]
}
const spare: Array<Memory> = []
const take = (stripBytes: number): Memory => {
  const m = spare.pop() ?? { strips: [Buffer.alloc(0), Buffer.alloc(0)] }
  if (m.strips[0].length < stripBytes) m.strips = [Buffer.allocUnsafe(stripBytes), Buffer.allocUnsafe(stripBytes)]
  return m
}

/**
 * Encodes the crops of `regions` (squares in `raster` pixels) as `size` x `size` JPEGs, in order.
 *
 * Each square is scaled in WebAssembly (`internal/resample`) into a strip of up to eight crops stacked vertically;
 * sharp encodes the strip as one JPEG (one set-up instead of eight), and `internal/jpegTiles` cuts it into one JPEG
 * per crop without decoding it. The next strip is scaled while sharp encodes the previous one. Standard Huffman
 * tables (`optimiseCoding: false`, files about 10% larger) are what lets the strip be cut; a strip that cannot be
 * cut (a crop size off the JPEG block grid) is encoded crop by crop.
 *
 * @since 0.1.0
 */
export const encodeAll = (
  raster: Raster,
  regions: ReadonlyArray<Rect>,
  options: Pick<CropOptions, "size" | "quality"> = defaults
): Effect.Effect<Array<Uint8Array>, CorruptMedia> =>
  Effect.tryPromise({
    try: async () => {
      const size = options.size
      const jpegs: Array<Uint8Array> = []
      if (regions.length === 0) return jpegs
      const crop = size * size * 3
      const memory = take(crop * Math.min(stripLength, regions.length))
      const buffers = memory.strips
      const encode = (pixels: Buffer, height: number) =>
        sharp(pixels, { raw: { width: size, height, channels: 3 } })
          .jpeg({ quality: options.quality, mozjpeg: false, optimiseCoding: false })
          .toBuffer()
      /** Scales strip `k`'s squares into a buffer and starts its encoding. */
      const strip = (k: number) => {
        const group = regions.slice(k * stripLength, (k + 1) * stripLength)
        const pixels = buffers[k % 2]!.subarray(0, crop * group.length)
        for (const [j, [left, top, side]] of group.entries()) {
          Resample.square(raster.data, raster.width, left, top, side, size, pixels.subarray(j * crop))
        }
        const encoded = encode(pixels, size * group.length)
        // Awaited in order below; marked handled so a failure while another strip is awaited is not unhandled.
        encoded.catch(() => undefined)
        return { pixels, count: group.length, encoded }
      }
      const strips = Math.ceil(regions.length / stripLength)
      let pending = strip(0)
      for (let k = 0; k < strips; k++) {
        const next = k + 1 < strips ? strip(k + 1) : undefined
        const { pixels, count, encoded } = pending
        const buffer = await encoded
        const jpeg = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length)
        if (count === 1) jpegs.push(jpeg)
        else {
          try {
            jpegs.push(...JpegTiles.split(jpeg, count))
          } catch (e) {
            if (!(e instanceof JpegTiles.Unsupported)) throw e
            for (let j = 0; j < count; j++) {
              jpegs.push(new Uint8Array(await encode(pixels.subarray(j * crop, (j + 1) * crop), size)))
            }
          }
        }
        if (next !== undefined) pending = next
      }
      // Only on success: after a failure an encoding may still be reading a strip buffer.
      if (spare.length < 4) spare.push(memory)
      return jpegs
    },
    catch: (cause) => new CorruptMedia({ format: "jpeg", detail: `crop failed: ${String(cause)}` })
  })

/**
 * Encodes the crop of `region` (in `raster` pixels) as a `size` x `size` JPEG.
 *
 * @since 0.1.0
 */
export const encode = (
  raster: Raster,
  region: Rect,
  options: Pick<CropOptions, "size" | "quality"> = defaults
): Effect.Effect<Uint8Array, CorruptMedia> => Effect.map(encodeAll(raster, [region], options), (jpegs) => jpegs[0]!)

/**
 * The crop rectangle of `box` (source pixels) mapped into a raster that holds the image at `scale`.
 *
 * @since 0.1.0
 */
export const scaled = (region: Rect, scale: number, raster: Raster): Rect => {
  const side = Math.max(1, Math.min(Math.round(region[2] * scale), raster.width, raster.height))
  const left = Math.min(Math.max(0, Math.round(region[0] * scale)), raster.width - side)
  const top = Math.min(Math.max(0, Math.round(region[1] * scale)), raster.height - side)
  return [left, top, side, side]
}
