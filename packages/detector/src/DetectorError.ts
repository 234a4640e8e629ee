/**
 * The ways detection can fail, as tagged values a caller can act on (the HTTP server maps each to a task error
 * code). Bad media never throws or dies: every problem with the input becomes one of these.
 */
import * as TaskErrorCode from "@facedet/core/TaskErrorCode"
import * as Data from "effect/Data"

/**
 * The bytes are not an image or video format the detector handles. `detected` names what the bytes look like.
 *
 * @since 0.1.0
 */
export class UnsupportedMedia extends Data.TaggedError("UnsupportedMedia")<{
  readonly detected: string
  readonly reason?: string
}> {
  override get message(): string {
    return `unsupported media: ${this.detected}${this.reason ? ` (${this.reason})` : ""}`
  }
}

/**
 * The bytes claim a supported format but are truncated or cannot be decoded.
 *
 * @since 0.1.0
 */
export class CorruptMedia extends Data.TaggedError("CorruptMedia")<{
  readonly format: string
  readonly detail: string
}> {
  override get message(): string {
    return `corrupt or truncated ${this.format}: ${this.detail}`
  }
}

/**
 * Which limit a medium exceeded.
 *
 * @since 0.1.0
 */
export type Limit = "pixels" | "frames" | "duration" | "bytes"

/**
 * The medium exceeds a configured limit (pixel count, animation frames, video duration or size in bytes).
 *
 * @since 0.1.0
 */
export class MediaTooLarge extends Data.TaggedError("MediaTooLarge")<{
  readonly reason: Limit
  readonly limit: number
  /** The measured value, when it is known before decoding. */
  readonly actual?: number
}> {
  override get message(): string {
    const unit = { pixels: "pixels", frames: "frames", duration: "ms", bytes: "bytes" }[this.reason]
    const actual = this.actual === undefined ? "" : `: ${this.actual} ${unit}`
    return `media too large${actual} (limit ${this.limit} ${unit})`
  }
}

/**
 * ffmpeg is missing, refused the file or failed while decoding it. `stderr` is the tail of its output.
 *
 * @since 0.1.0
 */
export class VideoDecodeFailed extends Data.TaggedError("VideoDecodeFailed")<{
  readonly detail: string
  readonly stderr: string
  readonly exitCode?: number
}> {
  override get message(): string {
    const tail = this.stderr.trim().split("\n").slice(-3).join(" | ")
    return `video decoding failed: ${this.detail}${tail ? ` (ffmpeg: ${tail})` : ""}`
  }
}

/**
 * The model file is missing, does not match its pinned checksum, or the inference session could not start.
 *
 * @since 0.1.0
 */
export class ModelLoadFailed extends Data.TaggedError("ModelLoadFailed")<{
  readonly path: string
  readonly detail: string
}> {
  override get message(): string {
    return `face model could not be loaded from ${this.path}: ${this.detail}`
  }
}

/**
 * Inference on this media killed its worker (the thread ended, or onnxruntime threw) on every attempt, each on a
 * fresh worker: the input is taken to be what kills workers and is not tried again. The pool replaced the workers.
 *
 * @since 0.1.0
 */
export class InferenceFailed extends Data.TaggedError("InferenceFailed")<{
  readonly attempts: number
  readonly detail: string
}> {
  override get message(): string {
    return `face model inference failed on ${this.attempts} worker${this.attempts === 1 ? "" : "s"}: ${this.detail}`
  }
}

/**
 * Any failure of the detector.
 *
 * @since 0.1.0
 */
export type DetectorError =
  | UnsupportedMedia
  | CorruptMedia
  | MediaTooLarge
  | VideoDecodeFailed
  | ModelLoadFailed
  | InferenceFailed

/**
 * What a detection task reports for each failure: the task error code (`@facedet/core`'s `TaskErrorCode`) and a
 * message for whoever created the task, worded for them (no paths or internals). The HTTP server records it; the
 * CLI's local detection reports the same code. A face-swap client sees the same code from either.
 *
 * @since 0.1.0
 */
export const taskError = (
  error: DetectorError
): { readonly code: TaskErrorCode.TaskErrorCode; readonly message: string } => {
  switch (error._tag) {
    case "UnsupportedMedia":
      return {
        code: TaskErrorCode.TaskErrorCode.UnsupportedFormat,
        message: "the file is not an image or video format this server reads"
      }
    case "CorruptMedia":
    case "VideoDecodeFailed":
      return {
        code: TaskErrorCode.TaskErrorCode.Corrupt,
        message: "the media could not be decoded (corrupt, truncated or unsupported encoding)"
      }
    case "MediaTooLarge":
      return {
        code: TaskErrorCode.TaskErrorCode.TooLarge,
        message: "the media is larger than this server accepts (pixels, frames or duration); send a smaller one"
      }
    case "ModelLoadFailed":
      return { code: TaskErrorCode.TaskErrorCode.Internal, message: "the server failed while processing this task" }
    case "InferenceFailed":
      return {
        code: TaskErrorCode.TaskErrorCode.WorkerLost,
        message: `the face model crashed on this media ${error.attempts} times, each on a fresh worker; it is not tried again`
      }
  }
}
