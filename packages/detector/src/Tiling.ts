/**
 * Where to look: a pyramid of scales, each covered by overlapping model windows. One 256-pixel pass over a large
 * photo shrinks small faces below what the model can see; the finest level is chosen so the smallest face wanted is
 * still about `modelMinFace` pixels, coarser levels catch faces too large for a window, and the last level always
 * holds the whole image in one 256-pixel tile. Each level only keeps faces in its own size band, and each window
 * only faces centred in its core, so a face is reported once even where windows and levels overlap.
 *
 * The scales are chosen on a reference grid of 256x256 tiles (the model's training size; `maxTiles` counts those);
 * each level then runs as the cheapest set of rectangular windows (sides multiples of 32, as the model allows) that
 * covers it with the same minimum overlap: a 333x250 level is one 352x256 run instead of two 256x256 tiles.
 * Pure arithmetic, no pixels.
 */

/**
 * How to build the pyramid.
 *
 * @since 0.1.0
 */
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
  /** Window sides are multiples of this (the model's coarsest stride). */
  readonly windowStep: number
  /** Largest window in pixels: beyond about two tiles the model's cost per pixel rises (cache). */
  readonly maxWindowArea: number
  /** Fixed cost of one model run besides its pixels, in 256x256 tiles (tensor set-up, messaging). */
  readonly runCost: number
}

/**
 * Defaults measured on BlazeFace full-range: it finds faces from about 14 to 140 model pixels wide, but scores them
 * reliably only from about 24 pixels up.
 *
 * @since 0.1.0
 */
export const defaults: TilingOptions = {
  tileSize: 256,
  overlap: 64,
  minFaceSize: 36,
  modelMinFace: 24,
  modelMaxFace: 140,
  maxLevelRatio: 3.5,
  maxTiles: 32,
  maxUpscale: 1,
  windowStep: 32,
  maxWindowArea: 2 * 256 * 256,
  runCost: 0.05
}

/**
 * A model window on a level's raster; pixels outside the raster are padding.
 *
 * @since 0.1.0
 */
export interface Tile {
  /** Top-left corner in level pixels. */
  readonly x: number
  readonly y: number
  /** Window size in pixels (the model's input size for this run). */
  readonly width: number
  readonly height: number
  /** The tile owns faces whose centre lies in `[x0, x1) x [y0, y1)` (level pixels). */
  readonly core: readonly [x0: number, y0: number, x1: number, y1: number]
}

/**
 * One scale of the pyramid.
 *
 * @since 0.1.0
 */
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

/**
 * The whole search, finest level first.
 *
 * @since 0.1.0
 */
export interface Plan {
  readonly levels: ReadonlyArray<Level>
  /** Model runs. */
  readonly tileCount: number
  /** Model input over all runs, in 256x256 tiles (what the search costs, about one bare inference each). */
  readonly cost: number
}

/**
 * Tile origins covering `length` with tiles of `size` overlapping by at least `overlap`, evenly spread (`count` of
 * them, or as few as needed).
 *
 * @since 0.1.0
 */
export const positions = (length: number, size: number, overlap: number, count?: number): Array<number> => {
  if (length <= size) return [0]
  const n = count ?? Math.ceil((length - overlap) / (size - overlap))
  return Array.from({ length: n }, (_, i) => Math.round((i * (length - size)) / (n - 1)))
}

/** Core interval of each tile along one axis: tiles split their overlaps in the middle. */
const cores = (starts: ReadonlyArray<number>, size: number): Array<readonly [number, number]> =>
  starts.map((start, i) => [
    i === 0 ? Number.NEGATIVE_INFINITY : (starts[i - 1]! + size + start) / 2,
    i === starts.length - 1 ? Number.POSITIVE_INFINITY : (start + size + starts[i + 1]!) / 2
  ])

const ceilTo = (value: number, step: number) => Math.max(step, Math.ceil(value / step) * step)

/** Window side for `count` windows over `length`, overlapping by at least `overlap`. */
const sideFor = (length: number, count: number, options: TilingOptions): number =>
  count === 1
    ? ceilTo(length, options.windowStep)
    : ceilTo((length + (count - 1) * options.overlap) / count, options.windowStep)

/**
 * The cheapest windows covering a `width` x `height` level: for every split into columns and rows, the smallest
 * window (multiple of `windowStep`, within `maxWindowArea`) that covers its share with the minimum overlap; cost is
 * pixels plus a fixed cost per run.
 */
const windowsFor = (width: number, height: number, options: TilingOptions): Array<Tile> => {
  const unit = options.tileSize * options.tileSize
  // Windows are at least twice the overlap wide, which bounds how many fit along an axis.
  const maxCount = (length: number) => Math.max(1, Math.ceil((length - options.overlap) / options.overlap))
  let best: { columns: number; rows: number; w: number; h: number; cost: number } | undefined
  for (let columns = 1; columns <= maxCount(width); columns++) {
    const w = sideFor(width, columns, options)
    if (columns > 1 && (w >= width || w < 2 * options.overlap)) continue
    for (let rows = 1; rows <= maxCount(height); rows++) {
      const h = sideFor(height, rows, options)
      if (rows > 1 && (h >= height || h < 2 * options.overlap)) continue
      if (w * h > options.maxWindowArea) continue
      const cost = columns * rows * ((w * h) / unit + options.runCost)
      if (best === undefined || cost < best.cost - 1e-9) best = { columns, rows, w, h, cost }
    }
  }
  // Always found: two-overlap-wide windows fit the area limit.
  const { columns, rows, w, h } = best!
  const xs = positions(width, w, options.overlap, columns)
  const ys = positions(height, h, options.overlap, rows)
  const cx = cores(xs, w)
  const cy = cores(ys, h)
  return ys.flatMap((y, j) =>
    xs.map((x, i) => ({ x, y, width: w, height: h, core: [cx[i]![0], cy[j]![0], cx[i]![1], cy[j]![1]] as const }))
  )
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

/**
 * The levels' cost on the reference grid, as `maxTiles` counts it: 256x256 tiles overlapping by `overlap`, levels
 * down to the first whose tiles overlap by more than the model's largest face.
 */
const referenceTiles = (width: number, height: number, finest: number, options: TilingOptions): number => {
  let total = 0
  for (const scale of scalesFrom(width, height, finest, options)) {
    const [w, h] = dims(width, height, scale)
    const xs = positions(w, options.tileSize, options.overlap)
    const ys = positions(h, options.tileSize, options.overlap)
    total += xs.length * ys.length
    const band = Math.min(minOverlap(xs, options.tileSize), minOverlap(ys, options.tileSize)) * 1.1
    if (band >= options.modelMaxFace) break
  }
  return total
}

const planAt = (width: number, height: number, finest: number, options: TilingOptions): Plan => {
  const scales = scalesFrom(width, height, finest, options)
  const levels: Array<Level> = []
  for (const [i, scale] of scales.entries()) {
    const [w, h] = dims(width, height, scale)
    const tiles = windowsFor(w, h, options)
    const xs = [...new Set(tiles.map((t) => t.x))]
    const ys = [...new Set(tiles.map((t) => t.y))]
    // A face centred in a window's core is whole inside the window if it is no wider than the overlap; beyond that
    // it belongs to a coarser level. Hand-over has 10-20 % slack each way (box sizes wobble between scales; duplicates
    // from the slack are merged by NMS). A level whose windows overlap by more than the model's largest face is last.
    const band = Math.min(minOverlap(xs, tiles[0]!.width), minOverlap(ys, tiles[0]!.height)) * 1.1
    const last = i === scales.length - 1 || band >= options.modelMaxFace
    const previous = levels[i - 1]
    levels.push({
      scale,
      width: w,
      height: h,
      tiles,
      minFace:
        previous === undefined ? options.modelMinFace / 2 : ((previous.maxFace / 1.1) * 0.8 * scale) / previous.scale,
      maxFace: last ? Number.POSITIVE_INFINITY : band
    })
    if (last) break
  }
  const unit = options.tileSize * options.tileSize
  return {
    levels,
    tileCount: levels.reduce((n, l) => n + l.tiles.length, 0),
    cost: levels.reduce((n, l) => n + l.tiles.reduce((c, t) => c + (t.width * t.height) / unit, 0), 0)
  }
}

/**
 * The pyramid for a `width` x `height` image: the finest scale is lowered until the levels fit in `maxTiles`
 * reference tiles; each level then runs as its cheapest windows.
 *
 * @since 0.1.0
 */
export const plan = (width: number, height: number, options: Partial<TilingOptions> = {}): Plan => {
  const o = { ...defaults, ...options }
  let finest = Math.min(o.maxUpscale, o.modelMinFace / o.minFaceSize)
  let tiles = referenceTiles(width, height, finest, o)
  while (tiles > o.maxTiles && tiles > 1) {
    finest *= 0.95
    tiles = referenceTiles(width, height, finest, o)
  }
  return planAt(width, height, finest, o)
}

/**
 * Whether a candidate (box in level pixels, relative to the level raster) belongs to this tile and level.
 *
 * @since 0.1.0
 */
export const keeps = (level: Level, tile: Tile, box: readonly [number, number, number, number]): boolean => {
  const cx = box[0] + box[2] / 2
  const cy = box[1] + box[3] / 2
  const [x0, y0, x1, y1] = tile.core
  return cx >= x0 && cx < x1 && cy >= y0 && cy < y1 && box[2] >= level.minFace && box[2] <= level.maxFace
}
