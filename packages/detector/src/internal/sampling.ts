/**
 * Sampling arithmetic shared by the video and animation sources (re-exported by `VideoFrames`).
 */
import type { Sampling } from "../VideoFrames.js"

/**
 * Animations with more frames than this are refused (a cheap file can declare very many).
 *
 * @since 0.1.0
 */
export const maxAnimationFrames = 10_000

/**
 * Crops are cut from frames at most this many pixels on their long side (bounds memory and pipe traffic on 4K).
 *
 * @since 0.1.0
 */
export const maxCropSourceSide = 1920

/**
 * Sampling rate for a medium of `durationMs`, so that at most `maxFrames` frames are taken.
 *
 * @since 0.1.0
 */
export const effectiveFps = (durationMs: number, sampling: Sampling): number =>
  durationMs > 0 ? Math.min(sampling.fps, (sampling.maxFrames * 1000) / durationMs) : sampling.fps

/**
 * Scale and size of the crop-resolution copy of a `width` x `height` medium.
 *
 * @since 0.1.0
 */
export const fullSize = (width: number, height: number) => {
  const scale = Math.min(1, maxCropSourceSide / Math.max(width, height))
  return { scale, width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) }
}
