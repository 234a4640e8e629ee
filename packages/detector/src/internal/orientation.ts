/**
 * EXIF orientation between the pixels a file stores and the upright picture, for parts of an image: a phone photo is
 * usually stored sideways with orientation 6, and `ImageDecoder.regions` cuts its parts from the stored pixels.
 *
 * Orientations: 1 as stored, 2 mirrored left-right, 3 turned 180°, 4 mirrored top-bottom, 5 transposed (mirrored
 * about the main diagonal), 6 turned 90° clockwise to be upright, 7 transversed (mirrored about the other diagonal),
 * 8 turned 90° counter-clockwise. A test checks every one against sharp's own `autoOrient`.
 */

/** `[left, top, width, height]`. */
export type Rect = readonly [number, number, number, number]

/** Whether `orientation` swaps width and height. */
export const swaps = (orientation: number): boolean => orientation >= 5 && orientation <= 8

/**
 * The stored pixel `[x, y]` shown at upright `[u, v]`, for a stored image `width` x `height` (its own size, not the
 * upright one).
 */
const storedPixel = (orientation: number, u: number, v: number, width: number, height: number): [number, number] => {
  switch (orientation) {
    case 2:
      return [width - 1 - u, v]
    case 3:
      return [width - 1 - u, height - 1 - v]
    case 4:
      return [u, height - 1 - v]
    case 5:
      return [v, u]
    case 6:
      return [v, height - 1 - u]
    case 7:
      return [width - 1 - v, height - 1 - u]
    case 8:
      return [width - 1 - v, u]
    default:
      return [u, v]
  }
}

/** The stored pixels of an upright `rect`, for a stored image `width` x `height`. */
export const storedRect = (orientation: number, rect: Rect, width: number, height: number): Rect => {
  const [l, t, w, h] = rect
  const [x0, y0] = storedPixel(orientation, l, t, width, height)
  const [x1, y1] = storedPixel(orientation, l + w - 1, t + h - 1, width, height)
  const [sw, sh] = swaps(orientation) ? [h, w] : [w, h]
  return [Math.min(x0, x1), Math.min(y0, y1), sw, sh]
}

/**
 * The upright `rect` (RGB, `rect`'s width x height) from `part`, the stored pixels of `stored` (RGB, its width x
 * height; `storedRect(orientation, rect, width, height)`).
 */
export const upright = (
  orientation: number,
  part: Uint8Array,
  rect: Rect,
  stored: Rect,
  width: number,
  height: number
): Uint8Array => {
  const [l, t, w, h] = rect
  const [sl, st, sw] = stored
  const out = new Uint8Array(w * h * 3)
  for (let v = 0; v < h; v++) {
    for (let u = 0; u < w; u++) {
      const [x, y] = storedPixel(orientation, l + u, t + v, width, height)
      const from = ((y - st) * sw + (x - sl)) * 3
      const to = (v * w + u) * 3
      out[to] = part[from]!
      out[to + 1] = part[from + 1]!
      out[to + 2] = part[from + 2]!
    }
  }
  return out
}
