/**
 * Cuts a square out of an RGB raster and scales it to the crop size, in WebAssembly (`resample.wat`). A face crop is
 * 256x256: doing this in one pass over typed memory costs a fraction of a sharp pipeline per face (whose set-up, not
 * its arithmetic, dominates at this size), and leaves sharp only the JPEG encoding.
 *
 * The filter is a triangle (tent) whose radius is one source pixel when enlarging, which is bilinear
 * interpolation, and the scale factor when shrinking, which averages every source pixel under an output pixel
 * (no aliasing on large faces). It is separable: rows first, then columns, sixteen bytes at a time with SIMD
 * (the columns pass is most of the work: a face is usually enlarged, so it has more output rows than input rows).
 * The same filter in plain JavaScript took 0.55-0.8 ms per 256x256 crop; this takes a fraction of it
 * (`pnpm bench -- detector`, "+crops" rows).
 */
import { base64 } from "./resampleWasm.js"
import * as WasmKernel from "./wasmKernel.js"

/** Weights are fixed-point: they sum to 1 << `bits`, so 8-bit values times weights fit 16-bit SIMD lanes. */
const bits = 8
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

interface Kernel {
  readonly memory: WasmKernel.Memory
  readonly rows: (...args: Array<number>) => void
  readonly columns: (...args: Array<number>) => void
}
/** A square that needs more than 8 MB (a face of thousands of pixels) gets an instance of its own. */
const kernelFor = WasmKernel.kernels<Kernel>(base64, 8 << 20)

/** Rounds up to a multiple of 16 (SIMD steps). */
const align = (n: number) => (n + 15) & ~15

/**
 * Writes the `side` x `side` square at (`left`, `top`) of an RGB raster `width` pixels wide, scaled to `size` x
 * `size`, into `out` (`size * size * 3` bytes).
 */
export const square = (
  data: Uint8Array,
  width: number,
  left: number,
  top: number,
  side: number,
  size: number,
  out: Uint8Array
): void => {
  const t = taps(side, size)
  const rowLength = size * 3
  // Layout: tables, the source square, the rows pass's output, the result (each with room for a SIMD spill).
  const startX = 0
  const startY = startX + align(size * 4)
  const count = startY + align(size * 4)
  const weights = count + align(size * 4)
  const source = weights + align(size * t.stride * 4)
  const scratch = source + align(side * side * 3)
  const result = scratch + align(side * rowLength + 16)
  const end = result + align(size * rowLength + 16)
  const k = kernelFor(end)
  const memory = new Uint8Array(k.memory.buffer)
  const ints = new Int32Array(k.memory.buffer)
  for (let i = 0; i < size; i++) {
    ints[(startX >> 2) + i] = t.start[i]! * 3
    ints[(startY >> 2) + i] = t.start[i]! * rowLength
  }
  ints.set(t.count, count >> 2)
  ints.set(t.weights, weights >> 2)
  for (let y = 0; y < side; y++) {
    const from = ((top + y) * width + left) * 3
    memory.set(data.subarray(from, from + side * 3), source + y * side * 3)
  }
  k.rows(source, side * 3, side, size, startX, count, weights, t.stride, scratch)
  k.columns(scratch, rowLength, size, startY, count, weights, t.stride, result)
  out.set(memory.subarray(result, result + size * rowLength))
}
