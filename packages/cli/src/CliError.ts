/**
 * Failures that belong to the command itself rather than to a server answer: a flag value that makes no sense, a
 * file that cannot be read, a local path sent to a server that cannot take uploads, a task that is not in the
 * state a command needs, a download of a face crop that went wrong. Server answers stay `FaceDetError`s from core.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"

/**
 * A flag, argument or combination of them that cannot work (`--timeout 5 parsecs`, `--local` with `--no-wait`).
 *
 * @since 0.1.0
 * @category Errors
 */
export class UsageError extends Data.TaggedError("UsageError")<{
  readonly message: string
  /** What to try instead, printed on its own line. */
  readonly hint?: string
}> {}

/**
 * A local file or folder could not be read or written.
 *
 * @since 0.1.0
 * @category Errors
 */
export class FileError extends Data.TaggedError("FileError")<{
  readonly message: string
  readonly path: string
  readonly cause?: unknown
}> {}

/**
 * Media the command refuses before any server sees it: not an image or video it can recognise, empty, or too large.
 *
 * @since 0.1.0
 * @category Errors
 */
export class MediaError extends Data.TaggedError("MediaError")<{
  readonly message: string
  readonly source: string
}> {}

/**
 * A local path was given, but the target server only takes media URLs (crun.ai, or any server without facedet's
 * upload call).
 *
 * @since 0.1.0
 * @category Errors
 */
export class UploadUnsupported extends Data.TaggedError("UploadUnsupported")<{
  readonly baseUrl: string
  readonly path: string
}> {
  override get message(): string {
    return `${this.baseUrl} takes media by URL only, and ${this.path} is a local file`
  }
}

/**
 * No API key was given (`--api-key` or `FACEDET_API_KEY`); every crun.ai and facedet call needs one.
 *
 * @since 0.1.0
 * @category Errors
 */
export class MissingApiKey extends Data.TaggedError("MissingApiKey")<{ readonly baseUrl: string }> {
  override get message(): string {
    return `no API key for ${this.baseUrl}`
  }
}

/**
 * A command needs a succeeded task and got one that failed or is still running.
 *
 * @since 0.1.0
 * @category Errors
 */
export class TaskNotSucceeded extends Data.TaggedError("TaskNotSucceeded")<{
  readonly detectTaskId: string
  readonly status: string
}> {
  override get message(): string {
    return `detect task ${this.detectTaskId} is ${this.status}, not succeeded`
  }
}

/**
 * A face crop could not be downloaded (bad link, HTTP error, connection failure).
 *
 * @since 0.1.0
 * @category Errors
 */
export class CropDownloadFailed extends Data.TaggedError("CropDownloadFailed")<{
  readonly message: string
  readonly link: string
  /** The HTTP status, when the server answered. */
  readonly httpStatus?: number
  readonly cause?: unknown
}> {}

/**
 * The self-hosted server could not start (bad configuration, port in use, unreadable data directory, model).
 *
 * @since 0.1.0
 * @category Errors
 */
export class ServeFailed extends Data.TaggedError("ServeFailed")<{
  readonly message: string
  /** True when the configuration was invalid (exit code 2) rather than the start failing. */
  readonly configuration: boolean
  readonly cause?: unknown
}> {}

/**
 * `facedet db migrate` could not migrate the database: a bad URL (`configuration`), a database out of reach
 * (`unreachable`), or a failing migration.
 *
 * @since 0.1.0
 * @category Errors
 */
export class MigrateFailed extends Data.TaggedError("MigrateFailed")<{
  readonly message: string
  readonly reason: "configuration" | "unreachable" | "failed"
  readonly cause?: unknown
}> {}

/**
 * The in-process detector could not run at all (its model or native runtime failed to load).
 *
 * @since 0.1.0
 * @category Errors
 */
export class LocalDetectorUnavailable extends Data.TaggedError("LocalDetectorUnavailable")<{
  readonly message: string
  readonly cause?: unknown
}> {}

/**
 * A command needs a package that `@facedet/cli` lists as an optional peer and that is not installed: the detector
 * (for `--local`) or the server (for `serve`). Users who only talk to crun.ai or a facedet server never download
 * them.
 *
 * @since 0.1.0
 * @category Errors
 */
export class OptionalPackageMissing extends Data.TaggedError("OptionalPackageMissing")<{
  /** The missing package, e.g. `@facedet/detector`. */
  readonly packageName: string
  /** What needed it, e.g. `facedet detect --local`. */
  readonly feature: string
  readonly cause?: unknown
}> {
  override get message(): string {
    return `${this.feature} needs ${this.packageName}, which is not installed`
  }
}

/**
 * Every error of the command itself.
 *
 * @since 0.1.0
 * @category Models
 */
export type CliError =
  | UsageError
  | FileError
  | MediaError
  | UploadUnsupported
  | MissingApiKey
  | TaskNotSucceeded
  | CropDownloadFailed
  | ServeFailed
  | MigrateFailed
  | LocalDetectorUnavailable
  | OptionalPackageMissing
