/**
 * Face crops: the square JPEG a face `link` serves. The square is centred on the box, about 1.5x its larger side,
 * moved (not cut) to stay inside the image, and only shrunk when the image itself is smaller.
 */
import * as Effect from "effect/Effect"
import sharp from "sharp"
import type { Box } from "./Detection.js"
import { CorruptMedia } from "./DetectorError.js"
import type { Raster } from "./ImageDecoder.js"

/** Crop geometry and encoding. */
export interface CropOptions {
  /** Side of the square around the face, relative to the box's larger side. */
  readonly margin: number
  /** Output size in pixels (square). */
  readonly size: number
  /** JPEG quality 1..100. */
  readonly quality: number
}

export const defaults: CropOptions = { margin: 1.5, size: 256, quality: 88 }

/** An integer rectangle `[left, top, side, side]` in image pixels. */
export type Rect = readonly [left: number, top: number, width: number, height: number]

/** The square around `box` in an image of `width` x `height`, clamped to the image. */
export const rect = (box: Box, width: number, height: number, margin = defaults.margin): Rect => {
  const side = Math.max(1, Math.min(Math.round(Math.max(box[2], box[3]) * margin), width, height))
  const cx = box[0] + box[2] / 2
  const cy = box[1] + box[3] / 2
  const left = Math.min(Math.max(0, Math.round(cx - side / 2)), width - side)
  const top = Math.min(Math.max(0, Math.round(cy - side / 2)), height - side)
  return [left, top, side, side]
}

/** Encodes the crop of `region` (in `raster` pixels) as a `size` x `size` JPEG. */
export const encode = (
  raster: Raster,
  region: Rect,
  options: Pick<CropOptions, "size" | "quality"> = defaults
): Effect.Effect<Uint8Array, CorruptMedia> =>
  Effect.tryPromise({
    try: async () => {
      const jpeg = await sharp(raster.data, { raw: { width: raster.width, height: raster.height, channels: 3 } })
        .extract({ left: region[0], top: region[1], width: region[2], height: region[3] })
        .resize(options.size, options.size, { fit: "fill" })
        .jpeg({ quality: options.quality, mozjpeg: false })
        .toBuffer()
      return new Uint8Array(jpeg.buffer, jpeg.byteOffset, jpeg.length)
    },
    catch: (cause) => new CorruptMedia({ format: "jpeg", detail: `crop failed: ${String(cause)}` })
  })

/** The crop rectangle of `box` (source pixels) mapped into a raster that holds the image at `scale`. */
export const scaled = (region: Rect, scale: number, raster: Raster): Rect => {
  const side = Math.max(1, Math.min(Math.round(region[2] * scale), raster.width, raster.height))
  const left = Math.min(Math.max(0, Math.round(region[0] * scale)), raster.width - side)
  const top = Math.min(Math.max(0, Math.round(region[1] * scale)), raster.height - side)
  return [left, top, side, side]
}
