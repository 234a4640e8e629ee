/**
 * Where to look: a pyramid of scales, each cut into overlapping model-sized tiles. One 256-pixel pass over a large
 * photo shrinks small faces below what the model can see; the finest level is chosen so the smallest face wanted is
 * still about `modelMinFace` pixels, coarser levels catch faces too large for a tile, and the last level always holds
 * the whole image in one tile. Each level only keeps faces in its own size band, and each tile only faces centred in
 * its core, so a face is reported once even where tiles and levels overlap. Pure arithmetic, no pixels.
 */

/** How to build the pyramid. */
export interface TilingOptions {
  /** Model input size in pixels. */
  readonly tileSize: number
  /** Minimum overlap between neighbouring tiles of one level, in level pixels: the largest face a tiled level keeps. */
  readonly overlap: number
  /** The smallest face (box width, source pixels) to look for; sets the finest scale. */
  readonly minFaceSize: number
  /** Face width in model pixels above which the model scores faces reliably. */
  readonly modelMinFace: number
  /** Face width in model pixels up to which the model finds faces; a level that can hold it needs no coarser one. */
  readonly modelMaxFace: number
  /** Largest scale ratio between consecutive levels. */
  readonly maxLevelRatio: number
  /** Budget over all levels; the finest scale is lowered until the plan fits. */
  readonly maxTiles: number
  /** Never enlarge the image by more than this. */
  readonly maxUpscale: number
}

/**
 * Defaults measured on BlazeFace full-range: it finds faces from about 14 to 140 model pixels wide, but scores them
 * reliably only from about 24 pixels up.
 */
export const defaults: TilingOptions = {
  tileSize: 256,
  overlap: 64,
  minFaceSize: 36,
  modelMinFace: 24,
  modelMaxFace: 140,
  maxLevelRatio: 3.5,
  maxTiles: 32,
  maxUpscale: 1
}

/** A model-sized window on a level's raster; pixels outside the raster are padding. */
export interface Tile {
  /** Top-left corner in level pixels. */
  readonly x: number
  readonly y: number
  /** The tile owns faces whose centre lies in `[x0, x1) x [y0, y1)` (level pixels). */
  readonly core: readonly [x0: number, y0: number, x1: number, y1: number]
}

/** One scale of the pyramid. */
export interface Level {
  /** Level pixels per source pixel. */
  readonly scale: number
  /** Raster size at this scale. */
  readonly width: number
  readonly height: number
  readonly tiles: ReadonlyArray<Tile>
  /** Box widths (level pixels) this level keeps: smaller ones belong to a finer level, larger ones to a coarser. */
  readonly minFace: number
  readonly maxFace: number
}

/** The whole search, finest level first. */
export interface Plan {
  readonly levels: ReadonlyArray<Level>
  readonly tileCount: number
}

/** Tile origins covering `length` with tiles of `size` overlapping by at least `overlap`, evenly spread. */
export const positions = (length: number, size: number, overlap: number): Array<number> => {
  if (length <= size) return [0]
  const n = Math.ceil((length - overlap) / (size - overlap))
  return Array.from({ length: n }, (_, i) => Math.round((i * (length - size)) / (n - 1)))
}

/** Core interval of each tile along one axis: tiles split their overlaps in the middle. */
const cores = (starts: ReadonlyArray<number>, size: number): Array<readonly [number, number]> =>
  starts.map((start, i) => [
    i === 0 ? Number.NEGATIVE_INFINITY : (starts[i - 1]! + size + start) / 2,
    i === starts.length - 1 ? Number.POSITIVE_INFINITY : (start + size + starts[i + 1]!) / 2
  ])

const tilesFor = (width: number, height: number, options: TilingOptions): Array<Tile> => {
  const xs = positions(width, options.tileSize, options.overlap)
  const ys = positions(height, options.tileSize, options.overlap)
  const cx = cores(xs, options.tileSize)
  const cy = cores(ys, options.tileSize)
  return ys.flatMap((y, j) => xs.map((x, i) => ({ x, y, core: [cx[i]![0], cy[j]![0], cx[i]![1], cy[j]![1]] as const })))
}

const countTiles = (width: number, height: number, options: TilingOptions): number =>
  positions(width, options.tileSize, options.overlap).length *
  positions(height, options.tileSize, options.overlap).length

const dims = (width: number, height: number, scale: number) =>
  [Math.max(1, Math.round(width * scale)), Math.max(1, Math.round(height * scale))] as const

/** Scales of the pyramid, finest first; the last one fits the whole image in one tile. */
const scalesFrom = (width: number, height: number, finest: number, options: TilingOptions): Array<number> => {
  const fit = Math.min(options.tileSize / Math.max(width, height), options.maxUpscale)
  if (finest <= fit) return [fit]
  const scales = [finest]
  for (;;) {
    const s = scales[scales.length - 1]!
    if (s / options.maxLevelRatio <= fit) return [...scales, fit]
    // The next scale: the cheapest between s/maxLevelRatio and s/2, the largest among equally cheap ones.
    let best = s / options.maxLevelRatio
    let bestCount = countTiles(...dims(width, height, best), options)
    for (let k = 1; k <= 16; k++) {
      const candidate = s / options.maxLevelRatio + ((s / 2 - s / options.maxLevelRatio) * k) / 16
      const n = countTiles(...dims(width, height, candidate), options)
      if (n <= bestCount) {
        best = candidate
        bestCount = n
      }
    }
    scales.push(best)
  }
}

/** Smallest overlap between neighbouring tiles (level pixels); infinite when one tile spans the axis. */
const minOverlap = (starts: ReadonlyArray<number>, size: number): number =>
  starts.length < 2
    ? Number.POSITIVE_INFINITY
    : Math.min(...starts.slice(1).map((start, i) => starts[i]! + size - start))

const planAt = (width: number, height: number, finest: number, options: TilingOptions): Plan => {
  const scales = scalesFrom(width, height, finest, options)
  const levels: Array<Level> = []
  for (const [i, scale] of scales.entries()) {
    const [w, h] = dims(width, height, scale)
    const xs = positions(w, options.tileSize, options.overlap)
    const ys = positions(h, options.tileSize, options.overlap)
    // A face centred in a tile's core is whole inside the tile if it is no wider than the overlap; beyond that it
    // belongs to a coarser level. Hand-over has 10-20 % slack each way (box sizes wobble between scales; duplicates
    // from the slack are merged by NMS). A level whose tiles overlap by more than the model's largest face is last.
    const band = Math.min(minOverlap(xs, options.tileSize), minOverlap(ys, options.tileSize)) * 1.1
    const last = i === scales.length - 1 || band >= options.modelMaxFace
    const previous = levels[i - 1]
    levels.push({
      scale,
      width: w,
      height: h,
      tiles: tilesFor(w, h, options),
      minFace:
        previous === undefined ? options.modelMinFace / 2 : ((previous.maxFace / 1.1) * 0.8 * scale) / previous.scale,
      maxFace: last ? Number.POSITIVE_INFINITY : band
    })
    if (last) break
  }
  return { levels, tileCount: levels.reduce((n, l) => n + l.tiles.length, 0) }
}

/** The pyramid for a `width` x `height` image. */
export const plan = (width: number, height: number, options: Partial<TilingOptions> = {}): Plan => {
  const o = { ...defaults, ...options }
  let finest = Math.min(o.maxUpscale, o.modelMinFace / o.minFaceSize)
  let result = planAt(width, height, finest, o)
  while (result.tileCount > o.maxTiles && result.tileCount > 1) {
    finest *= 0.95
    result = planAt(width, height, finest, o)
  }
  return result
}

/** Whether a candidate (box in level pixels, relative to the level raster) belongs to this tile and level. */
export const keeps = (level: Level, tile: Tile, box: readonly [number, number, number, number]): boolean => {
  const cx = box[0] + box[2] / 2
  const cy = box[1] + box[3] / 2
  const [x0, y0, x1, y1] = tile.core
  return cx >= x0 && cx < x1 && cy >= y0 && cy < y1 && box[2] >= level.minFace && box[2] <= level.maxFace
}
