/**
 * Scene cuts between sampled frames, from colour histograms: a pan or a moving person keeps a frame's colours, a cut
 * to another shot replaces them. A cut ends every face track (see Tracker). Pure.
 */
import type { Raster } from "./ImageDecoder.js"

/** Bins per channel of the joint RGB histogram (8 x 8 x 8 = 512 bins). */
const bins = 8

/**
 * A normalised colour histogram of a raster (every other pixel in each direction is enough).
 *
 * @since 0.1.0
 */
export const signature = (raster: Raster): Float32Array => {
  const histogram = new Float32Array(bins * bins * bins)
  const shift = 8 - Math.log2(bins)
  let n = 0
  for (let y = 0; y < raster.height; y += 2) {
    for (let x = 0; x < raster.width; x += 2) {
      const o = (y * raster.width + x) * 3
      const r = raster.data[o]! >> shift
      const g = raster.data[o + 1]! >> shift
      const b = raster.data[o + 2]! >> shift
      histogram[(r * bins + g) * bins + b]! += 1
      n++
    }
  }
  for (let i = 0; i < histogram.length; i++) histogram[i] = histogram[i]! / Math.max(1, n)
  return histogram
}

/**
 * Histogram distance in [0, 1]: half the L1 distance (0 = same colours, 1 = no colour in common).
 *
 * @since 0.1.0
 */
export const distance = (a: Float32Array, b: Float32Array): number => {
  let sum = 0
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!)
  return sum / 2
}

/**
 * Distance above which two consecutive samples are different shots.
 *
 * @since 0.1.0
 */
export const defaultThreshold = 0.5

/**
 * Whether `next` starts a new shot after `previous`.
 *
 * @since 0.1.0
 */
export const isCut = (previous: Float32Array | undefined, next: Float32Array, threshold = defaultThreshold): boolean =>
  previous !== undefined && distance(previous, next) > threshold
