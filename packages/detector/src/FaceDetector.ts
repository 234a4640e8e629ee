/**
 * The face detector service: loads the model once (checksum checked, warm-up run), keeps one inference session per
 * worker thread, and answers `detectImage` / `detectVideo` with typed results and typed errors.
 *
 * @example
 * ```ts
 * import { FaceDetector } from "@facedet/detector"
 * import * as Effect from "effect/Effect"
 *
 * const program = Effect.gen(function* () {
 *   const detector = yield* FaceDetector.FaceDetector
 *   const result = yield* detector.detectImage(bytes)
 *   console.log(result.faces.map((f) => f.box))
 * })
 * Effect.runPromise(program.pipe(Effect.provide(FaceDetector.layer())))
 * ```
 */
import { availableParallelism } from "node:os"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as BlazeFace from "./BlazeFace.js"
import * as Crop from "./Crop.js"
import * as FaceCheckModel from "./FaceCheckModel.js"
import * as FaceEmbedding from "./FaceEmbedding.js"
import type { Box, DetectedFace, ImageDetection, Landmarks, VideoDetection } from "./Detection.js"
import { landmarkNames, numberLeftToRight, round1 } from "./Detection.js"
import { CorruptMedia, type DetectorError } from "./DetectorError.js"
import * as Identity from "./Identity.js"
import * as ImageDecoder from "./ImageDecoder.js"
import * as ModelWorker from "./internal/modelWorker.js"
import { type InferencePool, make as makePool } from "./internal/inferencePool.js"
import * as Search from "./internal/search.js"
import * as VideoSearch from "./internal/videoDetection.js"
import * as ModelFile from "./ModelFile.js"
import * as RecognitionModel from "./RecognitionModel.js"
import * as SecondLook from "./SecondLook.js"
import * as Tiling from "./Tiling.js"
import * as VideoFrames from "./VideoFrames.js"

/**
 * How frames are sampled from a video or an animated image.
 *
 * @since 0.1.0
 */
export interface VideoOptions {
  /** Sampled frames per second (lowered for long clips so that at most `maxFrames` are taken). Default 3. */
  readonly fps?: number
  /** At most this many sampled frames. Default 600. */
  readonly maxFrames?: number
  /** Longer media fail with `MediaTooLarge` ("duration"). Default 600 000 (10 minutes). */
  readonly maxDurationMs?: number
  /** Encode one representative crop per person. Default true. */
  readonly crops?: boolean
  /** Smallest face to look for, in source pixels. Default 40. */
  readonly minFaceSize?: number
  /** Search budget per frame in 256x256 tiles (about 4.3 ms of one core each; see `maxTiles`). Default 2. */
  readonly maxTilesPerFrame?: number
  /** ffmpeg producing no frame for this long fails the video with `VideoDecodeFailed`. Default 60 000. */
  readonly stallMs?: number
  /** Add each person's embedding (the mean over their appearances). Default false. */
  readonly embeddings?: boolean
  /**
   * Join the tracks of one person (split by cuts, occlusions, zooms) by their faces, with the recognition model.
   * Default true; false makes every track a person of its own.
   */
  readonly identify?: boolean
  /**
   * Tracks whose faces' embeddings are closer than this (on average) are one person, unless seen in the same frame.
   * Lower splits more, higher merges more. Default `Identity.defaultThreshold` (0.45).
   */
  readonly identityThreshold?: number
}

/**
 * Detector sizing and thresholds; every field has a default.
 *
 * @since 0.1.0
 */
export interface DetectorOptions {
  /** Intra-op threads per inference session. Default 1. */
  readonly threads?: number
  /** Parallel inference sessions (one worker thread each). Default: the number of cores. */
  readonly sessions?: number
  /** Faces scoring below this are dropped. Default `defaultMinScore`. */
  readonly minScore?: number
  /** Largest image or frame in pixels (decompression-bomb guard). Default 50 000 000. */
  readonly maxPixels?: number
  /** Largest image input (and animated GIF/WebP file) in bytes. Default 64 MiB. */
  readonly maxImageBytes?: number
  /** Largest video file in bytes. Default 2 GiB. */
  readonly maxVideoBytes?: number
  /** Smallest face to look for in images, in source pixels (box width). Default 40. */
  readonly minFaceSize?: number
  /**
   * Search budget per image in 256x256 tiles (about 4.3 ms of one core each): sets the finest scale of large photos,
   * which then run as fewer, larger windows. Default 32.
   */
  readonly maxTiles?: number
  /** Side of the square JPEG crops. Default 256. */
  readonly cropSize?: number
  /** JPEG quality of crops. Default 88. */
  readonly cropQuality?: number
  readonly video?: VideoOptions
  /** ffmpeg binary; default: `ffmpeg` on PATH (`@ffmpeg-installer/ffmpeg` only with FACEDET_FFMPEG_FALLBACK=npm). */
  readonly ffmpegPath?: string
  /** Model file; default: the copy shipped in this package. Its checksum must match the pin either way. */
  readonly modelPath?: string
  /**
   * Face-recognition model file (embeddings, and people across cuts in videos); default: the copy in this package's
   * `dist/model/`, loaded on first use. Its checksum must match `RecognitionModel.sha256`.
   */
  readonly recognitionModelPath?: string
  /**
   * The 8-bit copy of the face-recognition model that joins a video's tracks into people when no embeddings are asked
   * for (`RecognitionModel.int8`); default: the copy in this package's `dist/model/`, loaded on first use. Its
   * checksum must match `RecognitionModel.int8.sha256`.
   */
  readonly recognitionInt8ModelPath?: string
  /**
   * Confirm doubtful candidates with the face-check model before reporting them (`SecondLook`); in a video, each track
   * whose best view is doubtful. Default true. A candidate scored well above `minScore` is never checked, so an image
   * without doubtful candidates costs nothing more.
   */
  readonly secondLook?: boolean
  /**
   * Face-check model file (the second look); default: the copy in this package's `dist/model/`, loaded on first use.
   * Its checksum must match `FaceCheckModel.sha256`.
   */
  readonly faceCheckModelPath?: string
  /**
   * Attempts at inference whose worker thread dies under it (or whose onnxruntime run throws), each on a fresh
   * worker, before the media fails with `InferenceFailed`. Default 3.
   */
  readonly inferenceAttempts?: number
  /** For tests only: workers fail as a crash would on rasters of a given width (see the README, "Reliability"). */
  readonly inferenceFault?: InferenceFault
}

/**
 * A crash injected into the inference workers, for tests: the next `times` inference jobs on a raster `width`
 * pixels wide end their worker thread (`exit`) or make onnxruntime throw (`throw`).
 *
 * @since 0.1.0
 */
export interface InferenceFault {
  readonly kind: "exit" | "throw"
  readonly width: number
  readonly times: number
}

/**
 * The score threshold, chosen on measured precision (see README: "Score threshold").
 *
 * @since 0.1.0
 */
export const defaultMinScore = 0.68

/**
 * Options for one image.
 *
 * @since 0.1.0
 */
export interface ImageOptions {
  /** Encode a JPEG crop per face. Default true. */
  readonly crops?: boolean
  /** Add each face's embedding (128 numbers from the recognition model; see `FaceEmbedding`). Default false. */
  readonly embeddings?: boolean
  /** Confirm doubtful candidates with the face-check model (`SecondLook`). Default: the detector's `secondLook`. */
  readonly secondLook?: boolean
}

/**
 * The detector's operations.
 *
 * @since 0.1.0
 */
export interface Service {
  /** Faces in a still image (an animated one gives its first frame), ordered left to right. */
  readonly detectImage: (bytes: Uint8Array, options?: ImageOptions) => Effect.Effect<ImageDetection, DetectorError>
  /**
   * Distinct people in a local video file (MP4, MOV, WebM, MKV via ffmpeg) or animated GIF/WebP (via sharp), sniffed
   * from the file's bytes. Interrupting the effect kills ffmpeg.
   */
  readonly detectVideo: (path: string, options?: VideoOptions) => Effect.Effect<VideoDetection, DetectorError>
  /**
   * `detectImage` without crops, and `crops`: the faces' crops, in order, as `detectImage` makes them, encoded when
   * run from the raster this detection decoded (or, when the faces need more resolution than the search used, from a
   * second decode at the resolution they need, as `detectImage` does). A server can record the faces first and encode
   * the crops after; run `crops` soon, since it holds the raster until then. `embeddings: true` adds each face's
   * embedding to the detection, as `detectImage` does.
   */
  readonly detectImageDeferringCrops: (
    bytes: Uint8Array,
    options?: Pick<ImageOptions, "embeddings">
  ) => Effect.Effect<
    {
      readonly detection: ImageDetection
      readonly crops: Effect.Effect<Array<Uint8Array>, DetectorError>
    },
    DetectorError
  >
  /**
   * Embeddings of face chips made by the caller: each 150x150 RGB (`FaceEmbedding.chipSize`, 67 500 bytes), the face
   * framed as `FaceEmbedding.chip` frames it. Other sizes fail with `CorruptMedia`.
   */
  readonly embedChips: (chips: ReadonlyArray<Uint8Array>) => Effect.Effect<Array<ReadonlyArray<number>>, DetectorError>
  /** A square JPEG crop around `box` (source pixels) of an image, as `detectImage` makes them. */
  readonly encodeCrop: (bytes: Uint8Array, box: Box) => Effect.Effect<Uint8Array, DetectorError>
  /** The options in force, defaults filled in. */
  readonly options: ResolvedOptions
}

/**
 * The face detector.
 *
 * @since 0.1.0
 */
export class FaceDetector extends Context.Tag("@facedet/detector/FaceDetector")<FaceDetector, Service>() {}

/**
 * Options with every default filled in.
 *
 * @since 0.1.0
 */
export interface ResolvedOptions {
  readonly threads: number
  readonly sessions: number
  readonly minScore: number
  readonly maxPixels: number
  readonly maxImageBytes: number
  readonly maxVideoBytes: number
  readonly minFaceSize: number
  readonly maxTiles: number
  readonly cropSize: number
  readonly cropQuality: number
  readonly video: Required<VideoOptions>
  readonly ffmpegPath: string | undefined
  readonly modelPath: string | undefined
  readonly recognitionModelPath: string | undefined
  readonly recognitionInt8ModelPath: string | undefined
  readonly secondLook: boolean
  readonly faceCheckModelPath: string | undefined
  readonly inferenceAttempts: number
  readonly inferenceFault: InferenceFault | undefined
}

/**
 * Fills in defaults.
 *
 * @since 0.1.0
 */
export const resolve = (options: DetectorOptions = {}): ResolvedOptions => ({
  threads: Math.max(1, Math.floor(options.threads ?? 1)),
  sessions: Math.max(1, Math.floor(options.sessions ?? availableParallelism())),
  minScore: options.minScore ?? defaultMinScore,
  maxPixels: options.maxPixels ?? 50_000_000,
  maxImageBytes: options.maxImageBytes ?? 64 * 1024 * 1024,
  maxVideoBytes: options.maxVideoBytes ?? 2 * 1024 * 1024 * 1024,
  minFaceSize: options.minFaceSize ?? Tiling.defaults.minFaceSize,
  maxTiles: options.maxTiles ?? Tiling.defaults.maxTiles,
  cropSize: options.cropSize ?? Crop.defaults.size,
  cropQuality: options.cropQuality ?? Crop.defaults.quality,
  video: {
    ...VideoFrames.defaults,
    crops: true,
    embeddings: false,
    identify: true,
    identityThreshold: Identity.defaultThreshold,
    stallMs: VideoFrames.defaultStallMs,
    ...definedOnly(options.video ?? {})
  },
  ffmpegPath: options.ffmpegPath,
  modelPath: options.modelPath,
  recognitionModelPath: options.recognitionModelPath,
  recognitionInt8ModelPath: options.recognitionInt8ModelPath,
  secondLook: options.secondLook ?? true,
  faceCheckModelPath: options.faceCheckModelPath,
  inferenceAttempts: Math.max(1, Math.floor(options.inferenceAttempts ?? 3)),
  inferenceFault: options.inferenceFault
})

/** Drops keys whose value is `undefined`, so they do not override defaults. */
const definedOnly = <T extends object>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>
  }

/**
 * Converts a merged candidate (source pixels) into a face (without id and crop).
 *
 * @since 0.1.0
 */
export const toFace = (c: BlazeFace.Candidate): DetectedFace => {
  const landmarks = Object.fromEntries(
    landmarkNames.map((name, k) => [name, [round1(c.keypoints[2 * k]!), round1(c.keypoints[2 * k + 1]!)] as const])
  ) as unknown as Landmarks
  return {
    id: 0,
    box: [round1(c.box[0]), round1(c.box[1]), round1(c.box[2]), round1(c.box[3])],
    score: Math.round(c.score * 10_000) / 10_000,
    landmarks
  }
}

/** `faces` with their embeddings, `vectors` in the same order. */
const withEmbeddings = (
  faces: ReadonlyArray<DetectedFace>,
  vectors: ReadonlyArray<ReadonlyArray<number>>
): Array<DetectedFace> => faces.map((f, i) => ({ ...f, embedding: vectors[i]! }))

/**
 * A raster of the image at least `wanted` times its size (at most full size), and the scale it is at.
 */
type RasterAt = (
  wanted: number
) => Effect.Effect<{ readonly raster: ImageDecoder.Raster; readonly scale: number }, DetectorError>

/**
 * Parts of an image at full resolution (`ImageDecoder.regions`), for when no raster at `wanted` times the source is
 * at hand; `undefined`: read them from `RasterAt`'s raster.
 */
type RegionsAt = (
  wanted: number,
  rects: ReadonlyArray<readonly [number, number, number, number]>
) => Effect.Effect<
  ReadonlyArray<{ readonly raster: ImageDecoder.Raster; readonly origin: readonly [number, number] }> | undefined
>

/**
 * Builds the service: loads and checks the model, starts the inference workers (closed with the scope).
 *
 * @since 0.1.0
 */
export const make = (options: DetectorOptions = {}): Effect.Effect<Service, DetectorError, Scope.Scope> =>
  Effect.gen(function* () {
    const o = resolve(options)
    const model = yield* ModelFile.load(o.modelPath)
    const pool: InferencePool = yield* makePool(
      {
        bytes: model.bytes,
        path: model.path,
        inputName: BlazeFace.inputName,
        inputSize: BlazeFace.inputSize,
        scoreOutputs: BlazeFace.scoreOutputs,
        boxOutputs: BlazeFace.boxOutputs,
        valuesPerAnchor: BlazeFace.valuesPerAnchor
      },
      {
        sessions: o.sessions,
        threads: o.threads,
        maxAttempts: o.inferenceAttempts,
        ...(o.inferenceFault === undefined ? {} : { fault: o.inferenceFault })
      }
    )
    const embedder = yield* ModelWorker.make(RecognitionModel.io, RecognitionModel.load(o.recognitionModelPath))
    const joiner = yield* ModelWorker.make(RecognitionModel.io, RecognitionModel.loadInt8(o.recognitionInt8ModelPath))
    const faceCheck = yield* ModelWorker.make(FaceCheckModel.io, FaceCheckModel.load(o.faceCheckModelPath))

    /**
     * The candidates that are not doubtful, and the doubtful ones that a window confirms (`SecondLook`), read from a
     * raster sharp enough for their windows: each window is tried only by the candidates that no earlier window
     * confirmed.
     */
    const confirm = (
      candidates: ReadonlyArray<BlazeFace.Candidate>,
      size: { readonly width: number; readonly height: number },
      rasterAt: RasterAt,
      regionsAt: RegionsAt
    ): Effect.Effect<Array<BlazeFace.Candidate>, DetectorError> =>
      Effect.gen(function* () {
        // The source's full resolution is at hand (a second decode), so a candidate too small there stays unchecked.
        const doubtful = candidates.filter(
          (c) => SecondLook.isDoubtful(c.score, o.minScore) && SecondLook.isCheckable(c.box, 1)
        )
        if (doubtful.length === 0) return [...candidates]
        const wanted = Math.max(...doubtful.map((c) => SecondLook.resolutionFor(c.box, FaceCheckModel.io.size)))
        // Without a sharp enough raster, only the parts the windows read are decoded (at full resolution), if the
        // file allows; else one raster at the resolution wanted.
        const parts = yield* regionsAt(
          wanted,
          doubtful.map((c) => SecondLook.region(c.box, 1, size.width, size.height))
        )
        const windowOf =
          parts === undefined
            ? yield* Effect.map(
                rasterAt(wanted),
                ({ raster, scale }) =>
                  (c: BlazeFace.Candidate, windowScale: number, out: Uint8Array) => {
                    SecondLook.window(raster, scale, c.box, windowScale, FaceCheckModel.io.size, [0, 0], out)
                  }
              )
            : (c: BlazeFace.Candidate, windowScale: number, out: Uint8Array) => {
                const { raster, origin } = parts[doubtful.indexOf(c)]!
                SecondLook.window(raster, 1, c.box, windowScale, FaceCheckModel.io.size, origin, out)
              }
        const confirmed = yield* SecondLook.confirmed(doubtful, windowOf, faceCheck.runInto)
        const checked = new Set(doubtful)
        return candidates.filter((c) => !checked.has(c) || confirmed.has(c))
      })
    const limits: ImageDecoder.Limits = { maxPixels: o.maxPixels, maxBytes: o.maxImageBytes }
    const cropOptions = { size: o.cropSize, quality: o.cropQuality }

    /** Crops for `faces` of an image, from a raster at a resolution that the crop size actually needs. */
    const cropFaces = (
      faces: ReadonlyArray<DetectedFace>,
      width: number,
      height: number,
      rasterAt: RasterAt
    ): Effect.Effect<Array<DetectedFace>, DetectorError> =>
      Effect.gen(function* () {
        if (faces.length === 0) return []
        const rects = faces.map((f) => Crop.rect(f.box, width, height))
        const source = yield* rasterAt(Math.max(...rects.map((r) => o.cropSize / r[2])))
        const crops = yield* Crop.encodeAll(
          source.raster,
          rects.map((r) => Crop.scaled(r, source.scale, source.raster)),
          cropOptions
        )
        return faces.map((f, i) => ({ ...f, crop: crops[i]! }))
      })

    /**
     * Embeddings of `faces`, from a raster where each face's chip spans the model's 150 pixels (or the source's full
     * resolution, if less).
     */
    const embedFaces = (
      faces: ReadonlyArray<DetectedFace>,
      rasterAt: RasterAt
    ): Effect.Effect<Array<ReadonlyArray<number>>, DetectorError> =>
      Effect.gen(function* () {
        if (faces.length === 0) return []
        const source = yield* rasterAt(
          Math.max(...faces.map((f) => FaceEmbedding.chipSize / FaceEmbedding.chipSide(f.box)))
        )
        const vectors = yield* embedder.runInto(faces, (f, out) => {
          FaceEmbedding.chip(source.raster, source.scale, f, [0, 0], out)
        })
        return vectors.map(FaceEmbedding.rounded)
      })

    /**
     * Faces of an image (numbered left to right, no crops yet), and how to crop them from the decoded raster.
     * `cropsWanted` / `embeddingsWanted`: the caller will make the crops or embeddings, so a raster sharp enough for
     * them is likely to be needed.
     */
    const search = (bytes: Uint8Array, secondLook: boolean, cropsWanted: boolean, embeddingsWanted: boolean) =>
      Effect.gen(function* () {
        const info = yield* ImageDecoder.probe(bytes, limits)
        const plan = Tiling.plan(info.width, info.height, { minFaceSize: o.minFaceSize, maxTiles: o.maxTiles })
        const finest = plan.levels[0]!
        // Above half size the whole image is decoded anyway (a JPEG shrinks while it decodes only by 2, 4 or 8), so it
        // is kept, and the second look, crops and embeddings read it instead of decoding again. Down to a third, sharp
        // still decodes a JPEG whole (it shrinks on load only when 3x or more remains), so when crops are coming, whose
        // small faces need the full resolution, the whole raster is kept too: one decode instead of two.
        const keepWhole =
          finest.scale < 1 && (finest.scale >= 0.5 || (cropsWanted && info.format === "jpeg" && finest.scale > 1 / 3))
        const whole = keepWhole
          ? yield* ImageDecoder.render(bytes, info, { width: info.width, height: info.height }, limits)
          : undefined
        const raster =
          whole === undefined
            ? yield* ImageDecoder.render(bytes, info, { width: finest.width, height: finest.height }, limits)
            : yield* ImageDecoder.resize(whole, finest.width, finest.height)
        const rasters = yield* Search.levelRasters(raster, plan)
        // The second look, crops and embeddings read the search raster when it is sharp enough for them, else one
        // second decode at the scale they need, shared by all that it serves (crops need more than chips: 1.5x boxes
        // at 256 pixels against 1.25x boxes at 150; small faces' windows usually want the full resolution).
        let rendered: { readonly raster: ImageDecoder.Raster; readonly scale: number } | undefined =
          whole === undefined ? undefined : { raster: whole, scale: 1 }
        const rasterAt: RasterAt = (wanted) =>
          Effect.gen(function* () {
            const needed = Math.min(1, wanted)
            if (needed <= finest.scale * 1.05) return { raster, scale: finest.scale }
            if (rendered !== undefined && needed <= rendered.scale * 1.05) return rendered
            const size = {
              width: Math.max(1, Math.round(info.width * needed)),
              height: Math.max(1, Math.round(info.height * needed))
            }
            rendered = { raster: yield* ImageDecoder.render(bytes, info, size, limits), scale: needed }
            return rendered
          })
        const regionsAt: RegionsAt = (wanted, rects) => {
          const needed = Math.min(1, wanted)
          const atHand = needed <= finest.scale * 1.05 || (rendered !== undefined && needed <= rendered.scale * 1.05)
          // Crops and embeddings will want a raster of their own, which the windows can share.
          return atHand || cropsWanted || embeddingsWanted
            ? Effect.succeed(undefined)
            : ImageDecoder.regions(bytes, info, rects, limits)
        }
        const found = yield* Search.run(pool, plan, rasters, o.minScore)
        const candidates = secondLook ? yield* confirm(found, info, rasterAt, regionsAt) : found
        const detection: ImageDetection = {
          kind: "image",
          width: info.width,
          height: info.height,
          format: info.format,
          faces: numberLeftToRight(candidates.map(toFace))
        }
        const crops = cropFaces(detection.faces, info.width, info.height, rasterAt)
        const embeddings = embedFaces(detection.faces, rasterAt)
        return { detection, crops, embeddings }
      })

    const detectImage = (bytes: Uint8Array, imageOptions: ImageOptions = {}) =>
      Effect.gen(function* () {
        const { detection, crops, embeddings } = yield* search(
          bytes,
          imageOptions.secondLook ?? o.secondLook,
          imageOptions.crops ?? true,
          imageOptions.embeddings ?? false
        )
        const withCrops = (imageOptions.crops ?? true) ? yield* crops : detection.faces
        if (!(imageOptions.embeddings ?? false)) return { ...detection, faces: withCrops }
        return { ...detection, faces: withEmbeddings(withCrops, yield* embeddings) }
      })

    const detectImageDeferringCrops = (bytes: Uint8Array, imageOptions: Pick<ImageOptions, "embeddings"> = {}) =>
      Effect.gen(function* () {
        const { detection, crops, embeddings } = yield* search(
          bytes,
          o.secondLook,
          true,
          imageOptions.embeddings ?? false
        )
        const vectors = (imageOptions.embeddings ?? false) ? yield* embeddings : undefined
        return {
          detection:
            vectors === undefined ? detection : { ...detection, faces: withEmbeddings(detection.faces, vectors) },
          crops: Effect.map(crops, (faces) => faces.map((f) => f.crop!))
        }
      })

    const encodeCrop = (bytes: Uint8Array, box: Box) =>
      Effect.gen(function* () {
        const info = yield* ImageDecoder.probe(bytes, limits)
        const r = Crop.rect(box, info.width, info.height)
        const scale = Math.min(1, o.cropSize / r[2])
        const size = {
          width: Math.max(1, Math.round(info.width * scale)),
          height: Math.max(1, Math.round(info.height * scale))
        }
        const raster = yield* ImageDecoder.render(bytes, info, size, limits)
        return yield* Crop.encode(raster, Crop.scaled(r, scale, raster), cropOptions)
      })

    const detectVideo = (path: string, videoOptions: VideoOptions = {}) =>
      VideoSearch.detect(
        pool,
        { embedder, joiner, faceCheck },
        path,
        {
          ...o.video,
          ...definedOnly(videoOptions),
          minScore: o.minScore,
          secondLook: o.secondLook,
          maxPixels: o.maxPixels,
          maxBytes: o.maxVideoBytes,
          maxAnimationBytes: o.maxImageBytes,
          ffmpegPath: o.ffmpegPath,
          cropSize: o.cropSize,
          cropQuality: o.cropQuality
        },
        toFace
      )

    const chipBytes = FaceEmbedding.chipSize * FaceEmbedding.chipSize * 3
    const embedChips = (chips: ReadonlyArray<Uint8Array>) =>
      Effect.gen(function* () {
        const wrong = chips.findIndex((c) => c.length !== chipBytes)
        if (wrong >= 0) {
          return yield* new CorruptMedia({
            format: "face chip",
            detail: `chip ${wrong} has ${chips[wrong]!.length} bytes, expected ${chipBytes} (150x150 RGB)`
          })
        }
        return (yield* embedder.run(chips)).map(FaceEmbedding.rounded)
      })

    return {
      detectImage,
      detectImageDeferringCrops,
      detectVideo,
      embedChips,
      encodeCrop,
      options: o
    } satisfies Service
  })

/**
 * The detector as a layer; the model loads (and warms up) when the layer is built.
 *
 * @since 0.1.0
 */
export const layer = (options: DetectorOptions = {}): Layer.Layer<FaceDetector, DetectorError> =>
  Layer.scoped(FaceDetector, make(options))

/**
 * The detector configured from the environment:
 * `FACEDET_DETECTOR_THREADS`, `FACEDET_DETECTOR_SESSIONS`, `FACEDET_MIN_FACE_SCORE`, `FACEDET_SECOND_LOOK`,
 * `FACEDET_MAX_PIXELS`, `FACEDET_MIN_FACE_SIZE`, `FACEDET_MAX_TILES`, `FACEDET_CROP_SIZE`, `FACEDET_VIDEO_FPS`,
 * `FACEDET_VIDEO_MAX_FRAMES`, `FACEDET_VIDEO_MAX_DURATION_MS`, `FACEDET_FFMPEG_PATH` (all optional).
 *
 * @since 0.1.0
 */
export const layerConfig: Layer.Layer<FaceDetector, DetectorError | ConfigError.ConfigError> = Layer.unwrapScoped(
  Effect.gen(function* () {
    const opt = <A>(config: Config.Config<A>) =>
      Config.option(config).pipe(Effect.map((o) => (o._tag === "Some" ? o.value : undefined)))
    const threads = yield* opt(Config.integer("FACEDET_DETECTOR_THREADS"))
    const sessions = yield* opt(Config.integer("FACEDET_DETECTOR_SESSIONS"))
    const minScore = yield* opt(Config.number("FACEDET_MIN_FACE_SCORE"))
    const secondLook = yield* opt(Config.boolean("FACEDET_SECOND_LOOK"))
    const maxPixels = yield* opt(Config.integer("FACEDET_MAX_PIXELS"))
    const minFaceSize = yield* opt(Config.number("FACEDET_MIN_FACE_SIZE"))
    const maxTiles = yield* opt(Config.integer("FACEDET_MAX_TILES"))
    const cropSize = yield* opt(Config.integer("FACEDET_CROP_SIZE"))
    const fps = yield* opt(Config.number("FACEDET_VIDEO_FPS"))
    const maxFrames = yield* opt(Config.integer("FACEDET_VIDEO_MAX_FRAMES"))
    const maxDurationMs = yield* opt(Config.integer("FACEDET_VIDEO_MAX_DURATION_MS"))
    const ffmpegPath = yield* opt(Config.string("FACEDET_FFMPEG_PATH"))
    const options: DetectorOptions = definedOnly({
      threads,
      sessions,
      minScore,
      secondLook,
      maxPixels,
      minFaceSize,
      maxTiles,
      cropSize,
      ffmpegPath,
      video: definedOnly({ fps, maxFrames, maxDurationMs })
    })
    return layer(options)
  })
)
