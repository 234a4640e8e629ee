/**
 * Sampled frames of a video or an animated image. MP4/MOV/WebM/MKV go through ffmpeg, run on the local file only,
 * with the demuxer forced from the sniffed container, the protocol list reduced to `file`, and frames streamed back
 * as PPM (self-describing, so rotation metadata cannot desynchronise us); the ffmpeg process belongs to the caller's
 * scope and is killed when it closes (interruption included). Animated GIF/WebP are decoded by sharp. Frames come at
 * the resolution the search needs, and any one frame can be fetched again at full resolution for crops.
 */
import { open, readFile } from "node:fs/promises"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { VideoFormat } from "./Detection.js"
import { type DetectorError, MediaTooLarge, UnsupportedMedia, VideoDecodeFailed } from "./DetectorError.js"
import type * as ImageDecoder from "./ImageDecoder.js"
import * as Animation from "./internal/animation.js"
import { demuxers, ffmpeg, inputArgs, locateFfmpeg, probeFile, tail } from "./internal/ffmpeg.js"
import { prestart } from "./internal/spawner.js"
import { ppmFrames } from "./internal/ppm.js"
import { effectiveFps, fullSize } from "./internal/sampling.js"
import * as MediaFormat from "./MediaFormat.js"

export { playedDelay, samplePages } from "./internal/animation.js"
export { locateFfmpeg, type Probe, parseProbe } from "./internal/ffmpeg.js"
export { PpmReader } from "./internal/ppm.js"
export { effectiveFps, fullSize, maxAnimationFrames, maxCropSourceSide } from "./internal/sampling.js"

/**
 * Starts the process that starts ffmpeg (see the README, "Videos") now, if ffmpeg is found and the helper is
 * wanted, instead of on the first video: for a server, before it loads its models.
 *
 * @since 0.1.0
 */
export const startFfmpegHelper = (ffmpegPath?: string): void => {
  if (locateFfmpeg(ffmpegPath) !== undefined) prestart()
}

/**
 * Sampling defaults: 3 frames per second, at most 600 of them, media up to 10 minutes; two model tiles per frame
 * (see README: "Video").
 *
 * @since 0.1.0
 */
export const defaults = {
  fps: 3,
  maxFrames: 600,
  maxDurationMs: 600_000,
  minFaceSize: 40,
  maxTilesPerFrame: 2
}

/**
 * How to sample.
 *
 * @since 0.1.0
 */
export interface Sampling {
  readonly fps: number
  readonly maxFrames: number
  readonly maxDurationMs: number
}

/**
 * One sampled frame at search resolution, and at crop resolution when crops are wanted.
 *
 * @since 0.1.0
 */
export interface Frame {
  readonly index: number
  readonly timeMs: number
  readonly raster: ImageDecoder.Raster
  /** The same frame at `Source.fullScale` (only when crops are wanted). */
  readonly full: ImageDecoder.Raster | undefined
}

/**
 * An opened medium: its size and its sampled frames.
 *
 * @since 0.1.0
 */
export interface Source {
  readonly format: VideoFormat
  /** Size after rotation metadata. */
  readonly width: number
  readonly height: number
  readonly durationMs: number
  /** Frames per second actually sampled (lowered for long media to respect `maxFrames`). */
  readonly fps: number
  readonly frames: Stream.Stream<Frame, DetectorError>
  /** Scale of `Frame.full` relative to the source size. */
  readonly fullScale: number
}

/**
 * Options for opening a medium.
 *
 * @since 0.1.0
 */
export interface OpenOptions extends Sampling {
  readonly maxPixels: number
  /** Largest video file. */
  readonly maxBytes: number
  /** Largest animated GIF/WebP file (read into memory whole). */
  readonly maxAnimationBytes: number
  readonly ffmpegPath?: string | undefined
  /** Size at which frames are wanted, from the medium's (rotated) size. */
  readonly frameSize: (width: number, height: number) => { readonly width: number; readonly height: number }
  /** Also deliver each frame at crop resolution. */
  readonly crops: boolean
  /**
   * Memory for decoded video frames (default: fresh arrays). A caller that recycles frame memory (the detector
   * reuses shared buffers, so frames reach its inference workers without a copy) passes its allocator here.
   */
  readonly allocate?: ((bytes: number) => Uint8Array) | undefined
  /** ffmpeg producing no frame for this long fails the decoding with `VideoDecodeFailed`. Default 60 000. */
  readonly stallMs?: number | undefined
}

/**
 * How long ffmpeg may go without producing a frame, by default: far longer than any honest file needs.
 *
 * @since 0.1.0
 */
export const defaultStallMs = 60_000

/**
 * Splits a frame made of the search frame (padded to the full width) stacked over the full frame.
 *
 * @since 0.1.0
 */
export const unstack = (
  stacked: ImageDecoder.Raster,
  small: { readonly width: number; readonly height: number },
  allocate: (bytes: number) => Uint8Array = (bytes) => new Uint8Array(bytes)
): { readonly raster: ImageDecoder.Raster; readonly full: ImageDecoder.Raster } => {
  const data = allocate(small.width * small.height * 3)
  for (let y = 0; y < small.height; y++) {
    data.set(stacked.data.subarray(y * stacked.width * 3, (y * stacked.width + small.width) * 3), y * small.width * 3)
  }
  return {
    raster: { data, width: small.width, height: small.height },
    full: {
      data: stacked.data.subarray(small.height * stacked.width * 3),
      width: stacked.width,
      height: stacked.height - small.height
    }
  }
}

const videoFile = (
  path: string,
  format: "mp4" | "mov" | "webm" | "mkv",
  options: OpenOptions
): Effect.Effect<Source, DetectorError, Scope.Scope> =>
  Effect.gen(function* () {
    const binary = locateFfmpeg(options.ffmpegPath)
    if (binary === undefined) {
      return yield* new VideoDecodeFailed({
        detail:
          "ffmpeg not found: install it (apt-get install ffmpeg) or set FACEDET_FFMPEG_PATH (FACEDET_FFMPEG_FALLBACK=npm uses @ffmpeg-installer/ffmpeg's old static build, if installed)",
        stderr: ""
      })
    }
    const demuxer = demuxers[format]
    const probe = yield* probeFile(binary, demuxer, path, format)
    const rotated = probe.rotation === 90 || probe.rotation === 270
    const width = rotated ? probe.height : probe.width
    const height = rotated ? probe.width : probe.height
    if (width * height > options.maxPixels) {
      return yield* new MediaTooLarge({ reason: "pixels", limit: options.maxPixels, actual: width * height })
    }
    if (probe.durationMs !== undefined && probe.durationMs > options.maxDurationMs) {
      return yield* new MediaTooLarge({ reason: "duration", limit: options.maxDurationMs, actual: probe.durationMs })
    }
    const fps = effectiveFps(probe.durationMs ?? 0, options)
    const size = options.frameSize(width, height)
    const full = fullSize(width, height)
    // With crops, one output carries both sizes (search frame padded to the full width, stacked on the full frame):
    // two pipes could deadlock when ffmpeg blocks on the one we are not reading.
    const filter = options.crops
      ? `[0:v:0]fps=${fps},split=2[a][b];[a]scale=${size.width}:${size.height}:flags=lanczos,pad=${full.width}:${size.height}:0:0[top];[b]scale=${full.width}:${full.height}:flags=bicubic[bottom];[top][bottom]vstack[out]`
      : `[0:v:0]fps=${fps},scale=${size.width}:${size.height}:flags=lanczos[out]`
    // One decoding thread: a job's CPU stays predictable when the server runs several at once.
    const args = [
      ...inputArgs(demuxer, path).slice(0, -4),
      "-threads",
      "1",
      "-t",
      String(options.maxDurationMs / 1000),
      ...inputArgs(demuxer, path).slice(-4),
      "-an",
      "-sn",
      "-dn",
      "-filter_threads",
      "1",
      "-filter_complex",
      filter,
      "-map",
      "[out]",
      "-frames:v",
      String(options.maxFrames),
      "-f",
      "image2pipe",
      "-c:v",
      "ppm",
      "-loglevel",
      "error",
      "pipe:1"
    ]
    const frames: Stream.Stream<Frame, DetectorError> = Stream.unwrapScoped(
      Effect.gen(function* () {
        const run = yield* ffmpeg(binary, args)
        const decoded = ppmFrames(run.readable, options.allocate, options.stallMs ?? defaultStallMs).pipe(
          Stream.zipWithIndex,
          Stream.map(([raster, index]): Frame => {
            const timeMs = Math.round((index * 1000) / fps)
            return options.crops
              ? { index, timeMs, ...unstack(raster, size, options.allocate) }
              : { index, timeMs, raster, full: undefined }
          })
        )
        const checkExit = Stream.fromEffect(
          run.exit.pipe(
            Effect.flatMap(({ code, stderr }) =>
              code === 0
                ? Effect.void
                : new VideoDecodeFailed({
                    detail: `ffmpeg exited with code ${code}`,
                    stderr: tail(stderr),
                    ...(code === null ? {} : { exitCode: code })
                  })
            )
          )
        ).pipe(Stream.drain)
        return Stream.concat(decoded, checkExit)
      })
    )
    return { format, width, height, durationMs: probe.durationMs ?? 0, fps, frames, fullScale: full.scale }
  })

/**
 * Opens a local file, sniffing its format from its first bytes.
 *
 * @since 0.1.0
 */
export const openFile = (path: string, options: OpenOptions): Effect.Effect<Source, DetectorError, Scope.Scope> =>
  Effect.gen(function* () {
    const head = yield* Effect.tryPromise({
      try: async () => {
        const file = await open(path, "r")
        try {
          const buffer = new Uint8Array(MediaFormat.headerLength)
          const { bytesRead } = await file.read(buffer, 0, buffer.length, 0)
          return { head: buffer.subarray(0, bytesRead), size: (await file.stat()).size }
        } finally {
          await file.close()
        }
      },
      catch: (cause) => new UnsupportedMedia({ detected: "unreadable file", reason: String(cause) })
    })
    if (head.size > options.maxBytes) {
      return yield* new MediaTooLarge({ reason: "bytes", limit: options.maxBytes, actual: head.size })
    }
    const sniffed = MediaFormat.sniff(head.head)
    if (sniffed.kind === "unsupported") return yield* new UnsupportedMedia({ detected: sniffed.detected })
    if (sniffed.kind === "video") return yield* videoFile(path, sniffed.format, options)
    if (sniffed.format !== "gif" && sniffed.format !== "webp") {
      return yield* new UnsupportedMedia({ detected: sniffed.format, reason: "a still image: use detectImage" })
    }
    if (head.size > options.maxAnimationBytes) {
      return yield* new MediaTooLarge({ reason: "bytes", limit: options.maxAnimationBytes, actual: head.size })
    }
    const bytes = yield* Effect.tryPromise({
      try: () => readFile(path),
      catch: (cause) => new UnsupportedMedia({ detected: "unreadable file", reason: String(cause) })
    })
    return yield* Animation.open(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), options)
  })
