/**
 * Animated GIF and WebP, decoded by sharp (no ffmpeg): the frames on screen at each sample time, with the limits on
 * frames and duration checked before any frame is decoded. `VideoFrames` re-exports `playedDelay` and `samplePages`.
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { type DetectorError, MediaTooLarge, UnsupportedMedia } from "../DetectorError.js"
import * as ImageDecoder from "../ImageDecoder.js"
import type { Frame, OpenOptions, Sampling, Source } from "../VideoFrames.js"
import { effectiveFps, fullSize, maxAnimationFrames } from "./sampling.js"

/**
 * GIF frame delays as browsers play them: 0-10 ms means 100 ms.
 *
 * @since 0.1.0
 */
export const playedDelay = (delay: number): number => (delay <= 10 ? 100 : delay)

/**
 * The animation frames to sample: for each sample time, the page on screen then.
 *
 * @since 0.1.0
 */
export const samplePages = (
  delays: ReadonlyArray<number>,
  pages: number,
  sampling: Sampling
): Array<{ readonly page: number; readonly timeMs: number }> => {
  const played = Array.from({ length: pages }, (_, i) => playedDelay(delays[i] ?? 100))
  const duration = played.reduce((a, b) => a + b, 0)
  const fps = effectiveFps(duration, sampling)
  const out: Array<{ page: number; timeMs: number }> = []
  let page = 0
  let pageEnd = played[0]!
  for (let k = 0; k < sampling.maxFrames; k++) {
    const t = (k * 1000) / fps
    if (t >= duration && k > 0) break
    while (t >= pageEnd && page < pages - 1) pageEnd += played[++page]!
    out.push({ page, timeMs: Math.round(t) })
  }
  return out
}

/** An animation's source: its size, its duration as played and its sampled frames. */
export const open = (bytes: Uint8Array, options: OpenOptions): Effect.Effect<Source, DetectorError> =>
  Effect.gen(function* () {
    const limits = { maxPixels: options.maxPixels, maxBytes: options.maxAnimationBytes }
    const info = yield* ImageDecoder.probe(bytes, limits)
    if (info.format !== "gif" && info.format !== "webp") {
      return yield* new UnsupportedMedia({ detected: info.format, reason: "a still image: use detectImage" })
    }
    if (info.pages > maxAnimationFrames) {
      return yield* new MediaTooLarge({ reason: "frames", limit: maxAnimationFrames, actual: info.pages })
    }
    const durationMs = Array.from({ length: info.pages }, (_, i) => playedDelay(info.delays[i] ?? 100)).reduce(
      (a, b) => a + b,
      0
    )
    if (info.pages > 1 && durationMs > options.maxDurationMs) {
      return yield* new MediaTooLarge({ reason: "duration", limit: options.maxDurationMs, actual: durationMs })
    }
    const samples = samplePages(info.delays, info.pages, options)
    const size = options.frameSize(info.width, info.height)
    const full = fullSize(info.width, info.height)
    const frames = Stream.fromIterable(samples).pipe(
      Stream.zipWithIndex,
      Stream.mapEffect(([sample, index]) =>
        options.crops
          ? ImageDecoder.render(
              bytes,
              info,
              { width: full.width, height: full.height, page: sample.page },
              limits
            ).pipe(
              Effect.flatMap((fullRaster) =>
                ImageDecoder.resize(fullRaster, size.width, size.height).pipe(
                  Effect.map((raster): Frame => ({ raster, full: fullRaster, index, timeMs: sample.timeMs }))
                )
              )
            )
          : ImageDecoder.render(bytes, info, { ...size, page: sample.page }, limits).pipe(
              Effect.map((raster): Frame => ({ raster, full: undefined, index, timeMs: sample.timeMs }))
            )
      )
    )
    return {
      format: info.format,
      width: info.width,
      height: info.height,
      durationMs: info.pages > 1 ? durationMs : 0,
      fps: effectiveFps(durationMs, options),
      frames,
      fullScale: full.scale
    }
  })
