/**
 * The second look at doubtful candidates. BlazeFace scores a cat's face, a headlight or a rocket's nose about as high
 * as a small real face, so a candidate scored near the threshold is confirmed by a second model before it is
 * reported: the face flag of MediaPipe's face mesh (`FaceCheckModel`), run on a 192x192 window centred on the
 * candidate. A candidate scored well above the threshold costs nothing. This module is the model-free part: which
 * candidates are doubtful, their windows, and the cascade of windows that confirms them.
 */
import * as Effect from "effect/Effect"
import type { Box } from "./Detection.js"
import type { Raster } from "./ImageDecoder.js"
import * as Resample from "./internal/resample.js"
import { regionAround, squareSample } from "./internal/squareSample.js"

/**
 * A candidate is doubtful when it scores less than this above the minimum score (`minScore`): every small candidate
 * that passes only thanks to the small-face slack, and any scored near the threshold. Measured on the development
 * photos (README, "Second look"): every false face that passes the threshold scored at most `minScore + 0.06`.
 *
 * @since 0.1.0
 */
export const doubtBand = 0.1

/**
 * The windows tried in turn, as multiples of the box's larger side, until one confirms: the mesh model was trained on
 * faces with a margin around them, and BlazeFace's boxes are tighter on some faces than on others: 1.7 confirms all
 * but a few development faces (4 of 245 when measured), 1.4 or 1.2 the rest.
 *
 * @since 0.1.0
 */
export const windowScales: ReadonlyArray<number> = [1.7, 1.4, 1.2]

/**
 * The face flag a window needs to confirm its candidate. Real faces of the development photos score at least 0.878 on
 * their best window, with their boxes moved by a pixel or scaled by 2 % as well; of the false faces that pass the
 * threshold the cat and the headlight score at most 0.36, the rocket's nose 0.63-0.86 (README, "Second look").
 *
 * @since 0.1.0
 */
export const confirmAt = 0.8

/**
 * Whether a candidate with `score` needs a second look.
 *
 * @since 0.1.0
 */
export const isDoubtful = (score: number, minScore: number): boolean => score < minScore + doubtBand

/**
 * The smallest face, in pixels of the raster its window is read from, that the model can judge. Below it the model
 * says "no face" to real faces as well (measured on the development photos read at 0.5-0.7x: every real face it lost
 * was 16-25 pixels wide, none wider), so smaller candidates are left as BlazeFace found them.
 *
 * @since 0.1.0
 */
export const minSide = 26

/**
 * Whether a candidate's `box` (source pixels) can be judged in a raster at `scale` times the source.
 *
 * @since 0.1.0
 */
export const isCheckable = (box: Box, scale: number): boolean => Math.max(box[2], box[3]) * scale >= minSide

/**
 * The resolution (a multiple of the source's) at which a candidate's first window is not enlarged: the model tells a
 * face from a blur only if the window has real detail (on the group photos' 36-pixel faces, windows read from the
 * search raster at 0.4x lost 35 of 74 doubtful real faces, at 0.75x none).
 *
 * @since 0.1.0
 */
export const resolutionFor = (box: Box, size: number): number => size / (Math.max(box[2], box[3]) * windowScales[0]!)

/**
 * The part of a raster every window of a candidate reads: `[left, top, width, height]` in the raster's pixels (at
 * `scale` times the source), clamped to it. A video keeps this cut of a frame and looks at it when the track ends.
 *
 * @since 0.1.0
 */
export const region = (
  box: Box,
  scale: number,
  width: number,
  height: number
): readonly [number, number, number, number] => {
  const reach = (Math.max(box[2], box[3]) * Math.max(...windowScales) * scale) / 2 + 2
  return regionAround((box[0] + box[2] / 2) * scale, (box[1] + box[3] / 2) * scale, reach, width, height)
}

/**
 * The window of a candidate's `box` (source pixels) at `windowScale`, from a raster at `scale` times the source, as
 * the face-check model reads it: `size` x `size` RGB, upright, black beyond the raster's edge. `origin` is where the
 * raster starts in those scaled pixels, when it is a `region` cut. Written into `out` when given (and returned).
 *
 * @since 0.1.0
 */
export const window = (
  raster: Raster,
  scale: number,
  box: Box,
  windowScale: number,
  size: number,
  origin: readonly [number, number] = [0, 0],
  out: Uint8Array = new Uint8Array(size * size * 3)
): Uint8Array => {
  const cx = (box[0] + box[2] / 2) * scale - origin[0]
  const cy = (box[1] + box[3] / 2) * scale - origin[1]
  const side = Math.max(box[2], box[3]) * windowScale * scale
  // Inside the raster, a whole-pixel square scaled in WebAssembly (a fifth of the cost; half a pixel off at most).
  const whole = Math.round(side)
  const left = Math.round(cx - whole / 2)
  const top = Math.round(cy - whole / 2)
  if (whole >= 1 && left >= 0 && top >= 0 && left + whole <= raster.width && top + whole <= raster.height) {
    Resample.square(raster.data, raster.width, left, top, whole, size, out)
    return out
  }
  return squareSample(raster, { cx, cy, side, angle: 0, size }, out)
}

/**
 * Which of `items` the face-check model confirms, trying each window in turn on those not yet confirmed. `windowOf`
 * writes an item's window at a window scale into `out`; `check` runs the model on items, each window written by the
 * function it is given (one flag each; `ModelWorker.runInto`, which writes them where its worker reads them).
 *
 * @since 0.1.0
 */
export const confirmed = <A, E>(
  items: ReadonlyArray<A>,
  windowOf: (item: A, windowScale: number, out: Uint8Array) => void,
  check: (
    items: ReadonlyArray<A>,
    write: (item: A, out: Uint8Array) => void
  ) => Effect.Effect<ReadonlyArray<Float32Array>, E>
): Effect.Effect<Set<A>, E> =>
  Effect.gen(function* () {
    const yes = new Set<A>()
    let pending = items
    for (const windowScale of windowScales) {
      if (pending.length === 0) break
      const flags = yield* check(pending, (item, out) => windowOf(item, windowScale, out))
      pending = pending.filter((item, i) => {
        if (flags[i]![0]! < confirmAt) return true
        yes.add(item)
        return false
      })
    }
    return yes
  })
