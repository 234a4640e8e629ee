/**
 * Cuts a square out of an RGB raster and scales it to the crop size, in JavaScript. A face crop is 256x256: doing
 * this in one typed-array pass costs a fraction of a sharp pipeline per face (whose set-up, not its arithmetic,
 * dominates at this size), and leaves sharp only the JPEG encoding.
 *
 * The filter is a triangle (tent) whose radius is one source pixel when enlarging, which is bilinear
 * interpolation, and the scale factor when shrinking, which averages every source pixel under an output pixel
 * (no aliasing on large faces). It is separable: rows first into a float scratch, then columns.
 */

/** Weights are fixed-point: they sum to 1 << `bits` (integer arithmetic is twice as fast as floats here). */
const bits = 12
const one = 1 << bits

/** Source taps of one axis: for output i, `count[i]` weights starting at source index `start[i]`. */
interface Taps {
  readonly start: Int32Array
  readonly count: Int32Array
  readonly weights: Int32Array
  /** Weights per output position (the widest filter). */
  readonly stride: number
}

const taps = (side: number, size: number): Taps => {
  const scale = side / size
  const radius = Math.max(1, scale)
  const stride = Math.ceil(radius) * 2 + 1
  const start = new Int32Array(size)
  const count = new Int32Array(size)
  const weights = new Int32Array(size * stride)
  const real = new Float64Array(stride)
  for (let i = 0; i < size; i++) {
    const center = (i + 0.5) * scale
    let first = -1
    let total = 0
    let n = 0
    const lo = Math.max(0, Math.floor(center - radius))
    const hi = Math.min(side - 1, Math.ceil(center + radius))
    for (let j = lo; j <= hi && n < stride; j++) {
      const w = 1 - Math.abs(j + 0.5 - center) / radius
      // Only taps that count: bilinear has two, not the three the window spans.
      if (w <= 0) {
        if (n > 0) break
        continue
      }
      if (n === 0) first = j
      real[n] = w
      total += w
      n += 1
    }
    if (n === 0) {
      // Cannot happen for side >= 1 (the pixel under the centre always counts); kept for safety.
      first = Math.min(side - 1, Math.max(0, Math.floor(center)))
      real[0] = 1
      total = 1
      n = 1
    }
    // Rounded to fixed point; the rounding error goes to the largest tap so the weights sum to exactly `one`.
    let sum = 0
    let largest = 0
    for (let k = 0; k < n; k++) {
      const w = Math.round((real[k]! / total) * one)
      weights[i * stride + k] = w
      sum += w
      if (w > weights[i * stride + largest]!) largest = k
    }
    weights[i * stride + largest] = weights[i * stride + largest]! + one - sum
    start[i] = first
    count[i] = n
  }
  return { start, count, weights, stride }
}

/**
 * Writes the `side` x `side` square at (`left`, `top`) of an RGB raster `width` pixels wide, scaled to `size` x
 * `size`, into `out` (`size * size * 3` bytes). `scratch` holds at least `side * size * 3` integers.
 */
export const square = (
  data: Uint8Array,
  width: number,
  left: number,
  top: number,
  side: number,
  size: number,
  out: Uint8Array,
  scratch: Int32Array
): void => {
  const t = taps(side, size)
  const { start, count, weights, stride } = t
  // Rows: every source row of the square, resampled to `size` columns.
  for (let y = 0; y < side; y++) {
    const row = ((top + y) * width + left) * 3
    let q = y * size * 3
    for (let x = 0; x < size; x++) {
      let r = 0
      let g = 0
      let b = 0
      let p = row + start[x]! * 3
      for (let k = x * stride, end = k + count[x]!; k < end; k++, p += 3) {
        const w = weights[k]!
        r += data[p]! * w
        g += data[p + 1]! * w
        b += data[p + 2]! * w
      }
      scratch[q++] = (r + 128) >> 8
      scratch[q++] = (g + 128) >> 8
      scratch[q++] = (b + 128) >> 8
    }
  }
  // Columns: each output row is a weighted sum of resampled rows. Those carry `bits - 8` extra bits of precision
  // (4), so the products stay within 32 bits. The weights are positive and sum to one: no clamping needed.
  const rowLength = size * 3
  const shift = bits + bits - 8
  const half = 1 << (shift - 1)
  for (let y = 0; y < size; y++) {
    const k0 = y * stride
    const n = count[y]!
    const into = y * rowLength
    const base = start[y]! * rowLength
    if (n <= 2) {
      // Enlarging (the usual case: faces are smaller than their crops): two rows, no inner loop.
      const w0 = weights[k0]!
      const w1 = n === 2 ? weights[k0 + 1]! : 0
      const next = n === 2 ? base + rowLength : base
      for (let i = 0; i < rowLength; i++) {
        out[into + i] = (scratch[base + i]! * w0 + scratch[next + i]! * w1 + half) >> shift
      }
      continue
    }
    for (let i = 0; i < rowLength; i++) {
      let v = 0
      for (let k = 0, p = base + i; k < n; k++, p += rowLength) v += scratch[p]! * weights[k0 + k]!
      out[into + i] = (v + half) >> shift
    }
  }
}
