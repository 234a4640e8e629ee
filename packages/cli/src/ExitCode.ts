/**
 * The `facedet` command's exit codes: one per kind of outcome a script may want to react to differently (fix the
 * input, fix the key, try again later, resume the wait), documented in the README.
 *
 * Server answers map through core's `FaceDetError` tags, so the same table holds for crun.ai and a self-hosted
 * server; the command's own failures map through `CliError` tags.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Exit from "effect/Exit"
import type { FaceDetError } from "@facedet/core"
import type { CliError } from "./CliError.js"

/**
 * @since 0.1.0
 * @category Constants
 */
export const ExitCode = {
  /** Done: the task succeeded (or `--no-wait` printed its id, or the server stopped cleanly). */
  Success: 0,
  /** A bug or an answer nobody could read (not JSON, not the API, an unknown envelope code). */
  Unexpected: 1,
  /** Bad usage or input: unknown flag, bad value, unreadable file, 422 from the server. */
  Usage: 2,
  /** The API key was refused (401, or 403 from a proxy). */
  Unauthorized: 3,
  /** No credits left (402). */
  InsufficientCredits: 4,
  /** The task (or endpoint) does not exist, or has expired (404). */
  NotFound: 5,
  /** The task ended `failed` (no face, media unusable), or the server refused the work (501, 505). */
  TaskFailed: 6,
  /** The wait deadline passed with the task still running; it goes on server-side. */
  WaitTimeout: 7,
  /** Rate limited or unavailable, still so after the retries (429, 455, 5xx). */
  Unavailable: 8,
  /** The server could not be reached (DNS, refused, reset, per-request timeout). */
  Network: 9,
  /** Interrupted (Ctrl-C) while waiting; the task goes on server-side. */
  Interrupted: 130
} as const

/**
 * @since 0.1.0
 * @category Models
 */
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

/**
 * The exit code for a server-side or wait failure.
 *
 * @since 0.1.0
 * @category Combinators
 */
export const ofFaceDetError = (error: FaceDetError.FaceDetError): ExitCode => {
  switch (error._tag) {
    case "Unauthorized":
      return ExitCode.Unauthorized
    case "InsufficientCredits":
      return ExitCode.InsufficientCredits
    case "NotFound":
      return ExitCode.NotFound
    case "ValidationError":
      return ExitCode.Usage
    case "RateLimited":
    case "ServiceUnavailable":
    case "ServerError":
      return ExitCode.Unavailable
    case "GenerationFailed":
    case "FeatureDisabled":
    case "DetectionFailed":
      return ExitCode.TaskFailed
    case "WaitTimeout":
      return ExitCode.WaitTimeout
    case "TransportError":
      return error.reason === "Aborted" ? ExitCode.Interrupted : ExitCode.Network
    case "DecodeError":
    case "UnknownApiError":
      return ExitCode.Unexpected
  }
}

/**
 * The exit code for one of the command's own failures.
 *
 * @since 0.1.0
 * @category Combinators
 */
export const ofCliError = (error: CliError): ExitCode => {
  switch (error._tag) {
    case "UsageError":
    case "FileError":
    case "MediaError":
    case "UploadUnsupported":
    case "OptionalPackageMissing":
      return ExitCode.Usage
    case "MissingApiKey":
      return ExitCode.Unauthorized
    case "TaskNotSucceeded":
      // A failed task is a task failure; one still running is "not done yet", like a wait that ran out of time.
      return error.status === "failed" ? ExitCode.TaskFailed : ExitCode.WaitTimeout
    case "CropDownloadFailed":
      return error.httpStatus === undefined
        ? ExitCode.Network
        : error.httpStatus === 404
          ? ExitCode.NotFound
          : error.httpStatus === 401 || error.httpStatus === 403
            ? ExitCode.Unauthorized
            : ExitCode.Unavailable
    case "ServeFailed":
      return error.configuration ? ExitCode.Usage : ExitCode.Unexpected
    case "MigrateFailed":
      return error.reason === "configuration"
        ? ExitCode.Usage
        : error.reason === "unreachable"
          ? ExitCode.Unavailable
          : ExitCode.Unexpected
    case "LocalDetectorUnavailable":
      return ExitCode.Unexpected
  }
}

/**
 * The process exit code for the program's `Exit`: its value on success, 130 when it was interrupted, 1 for a
 * failure that escaped the command's own handling (a defect).
 *
 * An interruption that a command turned into a clean stop (the server draining on Ctrl-C) sets
 * `process.exitCode` itself; that value wins.
 *
 * @since 0.1.0
 * @category Combinators
 */
export const ofExit = (exit: Exit.Exit<unknown, unknown>, requested?: number): number => {
  if (Exit.isSuccess(exit)) return typeof exit.value === "number" ? exit.value : ExitCode.Success
  if (Cause.isInterruptedOnly(exit.cause)) return requested ?? ExitCode.Interrupted
  return ExitCode.Unexpected
}
