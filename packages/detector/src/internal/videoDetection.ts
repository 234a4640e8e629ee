/**
 * detectVideo: samples frames, searches each for faces, links the faces into people across frames (cutting tracks
 * at scene changes) and crops each person from the frame where they were seen best. The crop square is cut while the
 * frame is in hand (the tracker keeps only a few observations per person), so long videos stay in bounded memory.
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type * as BlazeFace from "../BlazeFace.js"
import * as Crop from "../Crop.js"
import type { DetectedFace, VideoDetection } from "../Detection.js"
import type { DetectorError } from "../DetectorError.js"
import type { Raster } from "../ImageDecoder.js"
import * as SceneCut from "../SceneCut.js"
import * as Tiling from "../Tiling.js"
import * as Tracker from "../Tracker.js"
import * as VideoFrames from "../VideoFrames.js"
import { allocate, type InferencePool, release } from "./inferencePool.js"
import * as Search from "./search.js"

export interface Settings {
  readonly minScore: number
  readonly maxPixels: number
  readonly maxBytes: number
  readonly maxAnimationBytes: number
  readonly ffmpegPath: string | undefined
  readonly cropSize: number
  readonly cropQuality: number
  readonly fps: number
  readonly maxFrames: number
  readonly maxDurationMs: number
  readonly crops: boolean
  readonly minFaceSize: number
  readonly maxTilesPerFrame: number
  readonly stallMs: number
}

/** Copies a square region out of a raster (the region is inside it). */
export const cut = (raster: Raster, region: Crop.Rect): Raster => {
  const [left, top, width, height] = region
  const data = new Uint8Array(width * height * 3)
  for (let y = 0; y < height; y++) {
    const from = ((top + y) * raster.width + left) * 3
    data.set(raster.data.subarray(from, from + width * 3), y * width * 3)
  }
  return { data, width, height }
}

interface Seen {
  readonly candidate: BlazeFace.Candidate
  readonly crop: Raster | undefined
}

export const detect = (
  pool: InferencePool,
  path: string,
  settings: Settings,
  toFace: (c: BlazeFace.Candidate) => DetectedFace
): Effect.Effect<VideoDetection, DetectorError> =>
  Effect.scoped(
    Effect.gen(function* () {
      let plan: Tiling.Plan | undefined
      const source = yield* VideoFrames.openFile(path, {
        fps: settings.fps,
        maxFrames: settings.maxFrames,
        maxDurationMs: settings.maxDurationMs,
        maxPixels: settings.maxPixels,
        maxBytes: settings.maxBytes,
        maxAnimationBytes: settings.maxAnimationBytes,
        ffmpegPath: settings.ffmpegPath,
        stallMs: settings.stallMs,
        crops: settings.crops,
        // Frames are read straight into shared memory the inference workers can read, recycled after each frame.
        allocate,
        frameSize: (width, height) => {
          plan = Tiling.plan(width, height, { minFaceSize: settings.minFaceSize, maxTiles: settings.maxTilesPerFrame })
          return { width: plan.levels[0]!.width, height: plan.levels[0]!.height }
        }
      })
      const framePlan = plan!
      let tracks = Tracker.empty<Seen>()
      let previous: Float32Array | undefined
      yield* Stream.runForEach(source.frames, (frame) =>
        Effect.gen(function* () {
          const rasters = yield* Search.levelRasters(frame.raster, framePlan)
          const found = yield* Search.run(pool, framePlan, rasters, settings.minScore)
          const signature = SceneCut.signature(frame.raster)
          const isCut = SceneCut.isCut(previous, signature)
          previous = signature
          const full = frame.full
          tracks = Tracker.step(
            tracks,
            { index: frame.index, timeMs: frame.timeMs, cut: isCut },
            found.map((candidate) => {
              const face = toFace(candidate)
              const crop =
                full === undefined
                  ? undefined
                  : cut(full, Crop.scaled(Crop.rect(face.box, source.width, source.height), source.fullScale, full))
              return { box: face.box, score: candidate.score, data: { candidate, crop } }
            })
          )
        }).pipe(
          Effect.ensuring(
            Effect.sync(() => {
              release(frame.raster)
              if (frame.full !== undefined) release(frame.full)
            })
          )
        )
      )
      const people = Tracker.finish(tracks)
      const faces = yield* Effect.forEach(people, (person, id) =>
        Effect.gen(function* () {
          const face: DetectedFace = {
            ...toFace(person.best.data.candidate),
            id,
            firstSeenMs: person.firstSeenMs,
            lastSeenMs: person.lastSeenMs
          }
          const crop = person.best.data.crop
          if (crop === undefined) return face
          const jpeg = yield* Crop.encode(crop, [0, 0, crop.width, crop.height], {
            size: settings.cropSize,
            quality: settings.cropQuality
          })
          return { ...face, crop: jpeg }
        })
      )
      const result: VideoDetection = {
        kind: "video",
        width: source.width,
        height: source.height,
        format: source.format,
        durationMs: source.durationMs,
        framesSampled: tracks.frames,
        faces
      }
      return result
    })
  )
