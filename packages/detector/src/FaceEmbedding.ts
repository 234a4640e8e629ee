/**
 * Face embeddings: 128 numbers per face from the recognition model (`RecognitionModel`), close together for the same
 * person and far apart for different people (Euclidean distance). This module is the pure part: the upright 150x150
 * chip the model reads, cut from a raster around a face, and the arithmetic on embeddings.
 */
import type { Box, Landmarks } from "./Detection.js"
import type { Raster } from "./ImageDecoder.js"
import { regionAround, squareSample } from "./internal/squareSample.js"

/**
 * Side of the square RGB chip the model reads.
 *
 * @since 0.1.0
 */
export const chipSize = 150

/**
 * Numbers in an embedding.
 *
 * @since 0.1.0
 */
export const dimensions = 128

/**
 * The chip's side as a multiple of the box's larger side, and its centre's drop below the box's centre as a share of
 * the box's height: the framing that separated same and different people best on the development photos (README,
 * "Embeddings"), close to dlib's own chips (the face with a quarter of its size around it).
 */
const framing = { side: 1.25, drop: 0.05 }

/**
 * The side, in source pixels, of the square a face's chip covers (before its 150-pixel resampling).
 *
 * @since 0.1.0
 */
export const chipSide = (box: Box): number => Math.max(box[2], box[3]) * framing.side

/**
 * What a chip needs of a face: its box and eyes, in source pixels.
 *
 * @since 0.1.0
 */
export interface FaceGeometry {
  readonly box: Box
  readonly landmarks: Pick<Landmarks, "right_eye" | "left_eye">
}

/**
 * The part of a raster a face's chip reads, whatever the turn: `[left, top, width, height]` in the raster's pixels,
 * clamped to it. A video keeps this cut of a frame (a copy, cheap) and makes the chip later, only for the views it
 * embeds.
 *
 * @since 0.1.0
 */
export const region = (
  face: FaceGeometry,
  scale: number,
  width: number,
  height: number
): readonly [number, number, number, number] => {
  const [x, y, w, h] = face.box
  // The chip's square turned by any angle stays within a circle of half its diagonal (plus the drop, plus a pixel).
  const reach = (chipSide(face.box) * Math.SQRT1_2 + h * framing.drop) * scale + 2
  return regionAround((x + w / 2) * scale, (y + h / 2) * scale, reach, width, height)
}

/**
 * The chip of a face: a square around the face (see `framing`), turned so that the eyes are level, resampled
 * bilinearly to 150x150 (pixels outside the raster are black, as face-api pads). `scale` maps source pixels (the
 * box's) to the raster's; `origin` is where the raster starts in those scaled pixels, when it is a `region` cut.
 * Written into `out` when given (and returned).
 *
 * @since 0.1.0
 */
export const chip = (
  raster: Raster,
  scale: number,
  face: FaceGeometry,
  origin: readonly [number, number] = [0, 0],
  out?: Uint8Array
): Uint8Array => {
  const [x, y, w, h] = face.box
  const [rx, ry] = face.landmarks.right_eye
  const [lx, ly] = face.landmarks.left_eye
  // The subject's right eye is on the picture's left: the angle of the line from it to the left eye.
  const angle = Math.atan2(ly - ry, lx - rx)
  const side = chipSide(face.box) * scale
  const drop = h * framing.drop * scale
  const cx = (x + w / 2) * scale - drop * Math.sin(angle) - origin[0]
  const cy = (y + h / 2) * scale + drop * Math.cos(angle) - origin[1]
  return squareSample(raster, { cx, cy, side, angle, size: chipSize }, out)
}

/**
 * Euclidean distance between two embeddings.
 *
 * @since 0.1.0
 */
export const distance = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let sum = 0
  for (let i = 0; i < a.length; i++) sum += (a[i]! - b[i]!) ** 2
  return Math.sqrt(sum)
}

/**
 * The element-wise mean of embeddings (the descriptor of a person seen several times).
 *
 * @since 0.1.0
 */
export const mean = (embeddings: ReadonlyArray<ArrayLike<number>>): Float32Array => {
  const out = new Float32Array(embeddings[0]?.length ?? dimensions)
  for (const e of embeddings) for (let i = 0; i < out.length; i++) out[i] = out[i]! + e[i]! / embeddings.length
  return out
}

/**
 * An embedding as plain numbers with six decimals (the model's own agreement with face-api is 1e-5), as results carry it.
 *
 * @since 0.1.0
 */
export const rounded = (embedding: ArrayLike<number>): Array<number> =>
  Array.from(embedding, (v) => Math.round(v * 1e6) / 1e6)
