/**
 * detectVideo: samples frames, searches each for faces, links the faces into tracks across frames (cutting tracks
 * at scene changes), drops the tracks whose best view the second look does not confirm, joins the tracks of one
 * person by their faces' embeddings (`Identity`), and crops each person from the frame where they were seen best over
 * all their appearances. The crop square, the embedding chip and the second look's window are cut while the frame is
 * in hand, and only for a track's best view (the tracker keeps only a few observations per track), so long videos
 * stay in bounded memory.
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type * as BlazeFace from "../BlazeFace.js"
import * as Crop from "../Crop.js"
import * as FaceEmbedding from "../FaceEmbedding.js"
import type { DetectedFace, VideoDetection } from "../Detection.js"
import type { DetectorError } from "../DetectorError.js"
import * as Identity from "../Identity.js"
import type { Raster } from "../ImageDecoder.js"
import * as FaceCheckModel from "../FaceCheckModel.js"
import * as SceneCut from "../SceneCut.js"
import * as SecondLook from "../SecondLook.js"
import * as Tiling from "../Tiling.js"
import * as Tracker from "../Tracker.js"
import * as VideoFrames from "../VideoFrames.js"
import type { ModelWorker } from "./modelWorker.js"
import { allocate, type InferencePool, release } from "./inferencePool.js"
import * as Search from "./search.js"

export interface Settings {
  readonly minScore: number
  readonly secondLook: boolean
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
  readonly embeddings: boolean
  readonly identify: boolean
  readonly identityThreshold: number
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

/**
 * A face seen in a frame. Its pixels are cut only if it becomes its track's best view while the frame is in hand
 * (`views`): only a track's best view is cropped, embedded or looked at again.
 */
interface Seen {
  readonly candidate: BlazeFace.Candidate
  readonly face: DetectedFace
  views: Views | undefined
}

interface Views {
  readonly crop: Raster | undefined
  /** The face as the recognition model reads it (when people are identified or embeddings asked for). */
  readonly chip: Chip | undefined
  /** The pixels the second look reads, kept for doubtful candidates only (`SecondLook.region`). */
  readonly window: Chip | undefined
}

/** The frame's pixels around a face, kept to make its chip later (`FaceEmbedding.region`). */
interface Chip {
  readonly raster: Raster
  readonly scale: number
  readonly origin: readonly [number, number]
  readonly face: FaceEmbedding.FaceGeometry
}

/** Copies the part of `raster` (at `scale` of the source) that the face's chip will read. */
const keepChip = (raster: Raster, scale: number, face: FaceEmbedding.FaceGeometry): Chip => {
  const area = FaceEmbedding.region(face, scale, raster.width, raster.height)
  return { raster: cut(raster, area), scale, origin: [area[0], area[1]], face }
}

const makeChip = (c: Chip, out: Uint8Array): Uint8Array => FaceEmbedding.chip(c.raster, c.scale, c.face, c.origin, out)

/** Copies the part of `raster` (at `scale` of the source) that the second look at a face will read. */
const keepWindow = (raster: Raster, scale: number, face: FaceEmbedding.FaceGeometry): Chip => {
  const area = SecondLook.region(face.box, scale, raster.width, raster.height)
  return { raster: cut(raster, area), scale, origin: [area[0], area[1]], face }
}

/** The models a video may need besides the detector, each loaded on first use. */
export interface Models {
  /** The float recognition model: the embeddings callers ask for. */
  readonly embedder: ModelWorker
  /** Its 8-bit copy: joining tracks when no embeddings are asked for (`RecognitionModel.int8`). */
  readonly joiner: ModelWorker
  readonly faceCheck: ModelWorker
}

export const detect = (
  pool: InferencePool,
  models: Models,
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
      const needsChips = settings.identify || settings.embeddings
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
          // The chip comes from the sharper raster the frame was read at.
          const chipSource =
            full === undefined
              ? { raster: frame.raster, scale: framePlan.levels[0]!.scale }
              : { raster: full, scale: source.fullScale }
          tracks = Tracker.step(
            tracks,
            { index: frame.index, timeMs: frame.timeMs, cut: isCut },
            found.map((candidate) => {
              const face = toFace(candidate)
              return { box: face.box, score: candidate.score, data: { candidate, face, views: undefined } }
            })
          )
          // The faces of this frame that became their track's best view: cut now, the frame is recycled after.
          for (const track of tracks.open) {
            const best = track.best
            if (best.frame !== frame.index || best.data.views !== undefined) continue
            const { face, candidate } = best.data
            best.data.views = {
              crop:
                full === undefined
                  ? undefined
                  : cut(full, Crop.scaled(Crop.rect(face.box, source.width, source.height), source.fullScale, full)),
              chip: needsChips ? keepChip(chipSource.raster, chipSource.scale, face) : undefined,
              // Faces too small in the sharpest raster at hand stay unchecked (without crops: the search raster).
              window:
                settings.secondLook &&
                SecondLook.isDoubtful(candidate.score, settings.minScore) &&
                SecondLook.isCheckable(face.box, chipSource.scale)
                  ? keepWindow(chipSource.raster, chipSource.scale, face)
                  : undefined
            }
          }
        }).pipe(
          Effect.ensuring(
            Effect.sync(() => {
              release(frame.raster)
              if (frame.full !== undefined) release(frame.full)
            })
          )
        )
      )
      const people = yield* identify(
        settings.embeddings ? models.embedder : models.joiner,
        yield* confirmTracks(models.faceCheck, Tracker.finish(tracks)),
        settings
      )
      const faces = yield* Effect.forEach(people, (person, id) =>
        Effect.gen(function* () {
          const face: DetectedFace = {
            ...person.best.data.face,
            id,
            firstSeenMs: person.appearances[0]![0],
            lastSeenMs: person.appearances[person.appearances.length - 1]![1],
            appearances: person.appearances,
            ...(person.embedding === undefined ? {} : { embedding: FaceEmbedding.rounded(person.embedding) })
          }
          const crop = person.best.data.views?.crop
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

/**
 * The tracks whose best view was not doubtful, and those the face-check model confirms on that view (`SecondLook`):
 * a track is one thing seen over time, so one look at its best view decides it.
 */
const confirmTracks = (
  faceCheck: ModelWorker,
  tracks: ReadonlyArray<Tracker.Track<Seen>>
): Effect.Effect<Array<Tracker.Track<Seen>>, DetectorError> =>
  Effect.gen(function* () {
    const doubtful = tracks.filter((t) => t.best.data.views?.window !== undefined)
    if (doubtful.length === 0) return [...tracks]
    const confirmed = yield* SecondLook.confirmed(
      doubtful,
      (t, windowScale, out) => {
        const w = t.best.data.views!.window!
        SecondLook.window(w.raster, w.scale, w.face.box, windowScale, FaceCheckModel.io.size, w.origin, out)
      },
      faceCheck.runInto
    )
    return tracks.filter((t) => t.best.data.views?.window === undefined || confirmed.has(t))
  })

interface Person {
  readonly best: Tracker.Observation<Seen>
  readonly appearances: ReadonlyArray<readonly [number, number]>
  /** Present when embeddings were asked for. */
  readonly embedding: Float32Array | undefined
}

/**
 * Tracks joined into people by their faces: each track that could join another is embedded (`embedTracks`), and the
 * groups `Identity` finds become people, ordered by first appearance (then left to right), with the best view over
 * all their tracks. With `identify` off every track is a person, as before tracks were joined. `embedder` is the float
 * model when the embeddings are returned, the 8-bit one when they only join tracks.
 */
const identify = (
  embedder: ModelWorker,
  tracks: ReadonlyArray<Tracker.Track<Seen>>,
  settings: Pick<Settings, "identify" | "identityThreshold" | "embeddings">
): Effect.Effect<Array<Person>, DetectorError> =>
  Effect.gen(function* () {
    if (tracks.length === 0) return []
    const wanted = settings.embeddings
      ? tracks.map(() => true)
      : settings.identify
        ? Identity.joinable(tracks.map((t) => t.frames))
        : tracks.map(() => false)
    const embeddings = yield* embedTracks(embedder, tracks, wanted)
    const groups = settings.identify
      ? Identity.group(
          tracks.map((t, i) => ({ frames: t.frames, embedding: embeddings[i] })),
          settings.identityThreshold
        )
      : tracks.map((_, i) => [i])
    return groups.map((members) => ({
      best: members.map((i) => tracks[i]!.best).reduce((a, b) => (Tracker.quality(b) > Tracker.quality(a) ? b : a)),
      appearances: Identity.segments(members.map((i) => [tracks[i]!.firstSeenMs, tracks[i]!.lastSeenMs] as const)),
      embedding: settings.embeddings ? FaceEmbedding.mean(members.map((i) => embeddings[i]!)) : undefined
    }))
  })

/**
 * The `wanted` tracks' embeddings, each from its best view (one batch for all tracks). Averaging the first and last
 * views as well joined no more tracks on the development clips and tripled the cost.
 */
const embedTracks = (
  embedder: ModelWorker,
  tracks: ReadonlyArray<Tracker.Track<Seen>>,
  wanted: ReadonlyArray<boolean>
): Effect.Effect<Array<Float32Array | undefined>, DetectorError> =>
  Effect.gen(function* () {
    const chosen = wanted.flatMap((w, i) => (w ? [i] : []))
    if (chosen.length === 0) return tracks.map(() => undefined)
    const vectors = yield* embedder.runInto(chosen, (i, out) => {
      makeChip(tracks[i]!.best.data.views!.chip!, out)
    })
    const out: Array<Float32Array | undefined> = tracks.map(() => undefined)
    chosen.forEach((i, k) => {
      out[i] = vectors[k]
    })
    return out
  })
