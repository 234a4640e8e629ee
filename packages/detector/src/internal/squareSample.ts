import type { Raster } from "../ImageDecoder.js"

/** A square of a raster: centre and side in the raster's pixels, turned by `angle` (radians), resampled to `size`. */
export interface Square {
  readonly cx: number
  readonly cy: number
  readonly side: number
  readonly angle: number
  readonly size: number
}

/**
 * The square resampled bilinearly to `size` x `size` RGB; pixels outside the raster are black (as face-api pads, and as
 * the face mesh's windows are padded in MediaPipe).
 */
export const squareSample = (
  raster: Raster,
  square: Square,
  out: Uint8Array = new Uint8Array(square.size * square.size * 3)
): Uint8Array => {
  const { cx, cy, side, angle, size } = square
  const cos = Math.cos(angle)
  const sin = Math.sin(angle)
  const step = side / size
  const { data, width, height } = raster
  // Walk each output row along the turned axes: one step right is (cos, sin) * step in the raster.
  const ux = step * cos
  const uy = step * sin
  for (let v = 0; v < size; v++) {
    const dy = (v + 0.5) * step - side / 2
    const dx = 0.5 * step - side / 2
    // Pixel centres at integer + 0.5.
    let sx = cx + dx * cos - dy * sin - 0.5
    let sy = cy + dx * sin + dy * cos - 0.5
    for (let u = 0; u < size; u++, sx += ux, sy += uy) {
      const x0 = Math.floor(sx)
      const y0 = Math.floor(sy)
      const fx = sx - x0
      const fy = sy - y0
      const o = (v * size + u) * 3
      if (x0 >= 0 && y0 >= 0 && x0 + 1 < width && y0 + 1 < height) {
        // All four neighbours inside: the common case, without per-sample checks.
        const a = (y0 * width + x0) * 3
        const c = a + width * 3
        for (let k = 0; k < 3; k++) {
          const top = data[a + k]! + (data[a + 3 + k]! - data[a + k]!) * fx
          const bottom = data[c + k]! + (data[c + 3 + k]! - data[c + k]!) * fx
          out[o + k] = (top + (bottom - top) * fy + 0.5) | 0
        }
        continue
      }
      // At the raster's edge: neighbours outside it are black.
      const at = (px: number, py: number, k: number) =>
        px < 0 || py < 0 || px >= width || py >= height ? 0 : data[(py * width + px) * 3 + k]!
      for (let k = 0; k < 3; k++) {
        const top = at(x0, y0, k) * (1 - fx) + at(x0 + 1, y0, k) * fx
        const bottom = at(x0, y0 + 1, k) * (1 - fx) + at(x0 + 1, y0 + 1, k) * fx
        out[o + k] = (top * (1 - fy) + bottom * fy + 0.5) | 0
      }
    }
  }
  return out
}

/**
 * The pixels within `reach` of (`cx`, `cy`) as `[left, top, width, height]`, whole pixels, clamped to a raster of
 * `width` x `height`: the part of a frame a later square sample will read.
 */
export const regionAround = (
  cx: number,
  cy: number,
  reach: number,
  width: number,
  height: number
): readonly [number, number, number, number] => {
  const left = Math.max(0, Math.floor(cx - reach))
  const top = Math.max(0, Math.floor(cy - reach))
  const right = Math.min(width, Math.ceil(cx + reach))
  const bottom = Math.min(height, Math.ceil(cy + reach))
  return [left, top, Math.max(0, right - left), Math.max(0, bottom - top)]
}
