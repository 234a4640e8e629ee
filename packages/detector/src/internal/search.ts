/**
 * Runs a tiling plan: cuts each level's raster into model-sized tiles, runs them through the inference pool,
 * keeps each tile's own faces, maps them to source pixels and merges them across tiles and levels.
 */
import * as Effect from "effect/Effect"
import * as BlazeFace from "../BlazeFace.js"
import type { CorruptMedia } from "../DetectorError.js"
import * as ImageDecoder from "../ImageDecoder.js"
import * as Nms from "../Nms.js"
import * as Tiling from "../Tiling.js"
import type { InferencePool } from "./inferencePool.js"

/** A candidate in source pixels, with the scale of the level that found it. */
interface Found extends BlazeFace.Candidate {
  readonly scale: number
}

/** Padding outside the image: mid grey, which the model sees as 0. */
const padding = 128

/** Copies the `size`² window at (x, y) out of `raster`, padding what falls outside. */
export const cutTile = (raster: ImageDecoder.Raster, x: number, y: number, size: number): Uint8Array => {
  const tile = new Uint8Array(size * size * 3).fill(padding)
  const x0 = Math.max(0, x)
  const x1 = Math.min(raster.width, x + size)
  if (x1 <= x0) return tile
  for (let row = Math.max(0, y); row < Math.min(raster.height, y + size); row++) {
    const from = (row * raster.width + x0) * 3
    tile.set(raster.data.subarray(from, from + (x1 - x0) * 3), ((row - y) * size + (x0 - x)) * 3)
  }
  return tile
}

/** A level raster for every level of the plan: the finest is given, coarser ones are resized from it. */
export const levelRasters = (
  finest: ImageDecoder.Raster,
  plan: Tiling.Plan
): Effect.Effect<Array<ImageDecoder.Raster>, CorruptMedia> =>
  Effect.forEach(plan.levels, (level) =>
    level.width === finest.width && level.height === finest.height
      ? Effect.succeed(finest)
      : ImageDecoder.resize(finest, level.width, level.height)
  )

/**
 * The model is confident on well-resolved faces and less so on small ones (median score 0.83 at 16 pixels, 0.91 at
 * 40, measured on faces-dev), so the threshold applies in full to faces at least `fullSizeAt` model pixels wide and
 * drops linearly by up to `smallFaceSlack` for faces down to `slackFrom` pixels: a low score on a large, sharp
 * candidate says "not a face", on a 20-pixel face it is the norm.
 */
export const smallFaceSlack = 0.2
export const slackFrom = 20
export const fullSizeAt = 40

/** The score a candidate of `modelWidth` model pixels needs. */
export const threshold = (minScore: number, modelWidth: number): number =>
  minScore - smallFaceSlack * Math.min(1, Math.max(0, (fullSizeAt - modelWidth) / (fullSizeAt - slackFrom)))

/**
 * Keypoint plausibility: the distance from the eyes' midpoint to the mouth is 0.39 to 0.5 of the box width on every
 * face of faces-dev and the sample photos (244 faces), and far less on the textures (hair, badges, fabric) that fool
 * the model; candidates below `minEyeMouth` are dropped.
 */
export const minEyeMouth = 0.36

export const plausible = (c: BlazeFace.Candidate): boolean => {
  const k = c.keypoints
  const ex = (k[0]! + k[2]!) / 2
  const ey = (k[1]! + k[3]!) / 2
  return Math.hypot(k[6]! - ex, k[7]! - ey) >= minEyeMouth * c.box[2]
}

/** Faces in source pixels, merged, with score at least `minScore` (size-aware) and plausible keypoints. */
export const run = (
  pool: InferencePool,
  plan: Tiling.Plan,
  rasters: ReadonlyArray<ImageDecoder.Raster>,
  minScore: number
): Effect.Effect<Array<BlazeFace.Candidate>> =>
  Effect.gen(function* () {
    const jobs = plan.levels.flatMap((level, i) => level.tiles.map((tile) => ({ level, tile, raster: rasters[i]! })))
    const perTile = yield* Effect.forEach(
      jobs,
      ({ level, tile, raster }) =>
        pool.run(cutTile(raster, tile.x, tile.y, BlazeFace.inputSize)).pipe(
          Effect.map((output) =>
            BlazeFace.decode(output, minScore - smallFaceSlack).flatMap((c): Array<Found> => {
              const inLevel = [c.box[0] + tile.x, c.box[1] + tile.y, c.box[2], c.box[3]] as const
              if (!Tiling.keeps(level, tile, inLevel)) return []
              const s = level.scale
              return [
                {
                  score: c.score,
                  scale: s,
                  box: [inLevel[0] / s, inLevel[1] / s, inLevel[2] / s, inLevel[3] / s],
                  keypoints: c.keypoints.map((v, k) => (v + (k % 2 === 0 ? tile.x : tile.y)) / s)
                }
              ]
            })
          )
        ),
      { concurrency: pool.sessions * 2 }
    )
    return Nms.weighted(perTile.flat()).filter(
      (c) => c.score >= threshold(minScore, c.box[2] * c.scale) && plausible(c)
    )
  })
