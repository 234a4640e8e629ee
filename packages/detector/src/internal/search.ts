/**
 * Runs a tiling plan: each level's windows go through the inference pool, each window keeps its own faces, which are
 * mapped to source pixels and merged across windows and levels.
 */
import * as Effect from "effect/Effect"
import * as BlazeFace from "../BlazeFace.js"
import type { CorruptMedia, InferenceFailed } from "../DetectorError.js"
import * as ImageDecoder from "../ImageDecoder.js"
import * as Nms from "../Nms.js"
import * as Tiling from "../Tiling.js"
import { type InferencePool, isShared, release, share } from "./inferencePool.js"

/** A candidate in source pixels, with the scale of the level that found it. */
interface Found extends BlazeFace.Candidate {
  readonly scale: number
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

/** Splits `items` into at most `n` contiguous runs of near-equal length. */
const chunks = <A>(items: ReadonlyArray<A>, n: number): Array<Array<A>> => {
  const size = Math.ceil(items.length / Math.max(1, n))
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size))
}

/** Faces in source pixels, merged, with score at least `minScore` (size-aware) and plausible keypoints. */
export const run = (
  pool: InferencePool,
  plan: Tiling.Plan,
  rasters: ReadonlyArray<ImageDecoder.Raster>,
  minScore: number
): Effect.Effect<Array<BlazeFace.Candidate>, InferenceFailed> =>
  Effect.gen(function* () {
    const floor = minScore - smallFaceSlack
    const minLogit = BlazeFace.minLogit(floor)
    // Each level's tiles are shared out between the sessions, in contiguous runs (one message each). Rasters already
    // in shared memory belong to the caller; copies made here are released here.
    const copied = rasters.filter((r) => !isShared(r))
    const shared = rasters.map(share)
    const jobs = plan.levels.flatMap((level, i) =>
      chunks(level.tiles, pool.sessions).map((tiles) => ({ level, tiles, shared: shared[i]! }))
    )
    const perJob = yield* Effect.forEach(
      jobs,
      ({ level, tiles, shared }) =>
        pool
          .run(
            shared,
            tiles.map((t) => [t.x, t.y, t.width, t.height] as const),
            minLogit
          )
          .pipe(
            Effect.map((outputs) =>
              outputs.flatMap((output, k) => {
                const tile = tiles[k]!
                return BlazeFace.decode(output, floor, tile).flatMap((c): Array<Found> => {
                  const inLevel = [c.box[0] + tile.x, c.box[1] + tile.y, c.box[2], c.box[3]] as const
                  if (!Tiling.keeps(level, tile, inLevel)) return []
                  const s = level.scale
                  return [
                    {
                      score: c.score,
                      scale: s,
                      box: [inLevel[0] / s, inLevel[1] / s, inLevel[2] / s, inLevel[3] / s],
                      keypoints: c.keypoints.map((v, j) => (v + (j % 2 === 0 ? tile.x : tile.y)) / s)
                    }
                  ]
                })
              })
            )
          ),
      { concurrency: "unbounded" }
    ).pipe(
      Effect.ensuring(
        Effect.sync(() => {
          for (const [i, r] of shared.entries()) if (copied.includes(rasters[i]!)) release(r)
        })
      )
    )
    return Nms.weighted(perJob.flat()).filter((c) => c.score >= threshold(minScore, c.box[2] * c.scale) && plausible(c))
  })
