/**
 * `facedet detect --local`: detection with no server at all. `@facedet/detector` runs in this process on a file
 * (or on a URL this command downloads first), the face crops are written as `face-<id>.jpg` files, and the result
 * is the same `data` object a server would answer (core's `DetectTask.ResultData`): ids in crun.ai's shapes,
 * `status: "succeeded"` / `result.status: "succeed"`, UTC timestamps, `file://` links, facedet's box, score and
 * landmarks. No face is a `failed` task with `FaceSwap.Detect.Failed`, as on a server.
 *
 * This module loads the detector (onnxruntime, sharp); the command imports it only when `--local` is given.
 *
 * @since 0.1.0
 */
import { randomBytes } from "node:crypto"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as HttpClient from "@effect/platform/HttpClient"
import type { DetectTask, Face } from "@facedet/core"
import { TaskErrorCode, TaskId, Timestamp } from "@facedet/core"
import { Detection, DetectorError, FaceDetector } from "@facedet/detector"
import type { DetectedFace, ImageDetection, VideoDetection } from "@facedet/detector/Detection"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as ConfigError from "effect/ConfigError"
import * as Layer from "effect/Layer"
import { LocalDetectorUnavailable, UsageError } from "./CliError.js"
import type { CliError } from "./CliError.js"
import * as LocalMedia from "./LocalMedia.js"
import type { Kind } from "./MediaKind.js"

/**
 * @since 0.1.0
 * @category Models
 */
export interface Options {
  /** A local path or an http(s) URL. */
  readonly source: string
  /** Forces the image or video path; otherwise the bytes decide. */
  readonly kind?: Kind | undefined
  /** Where crops are written; default: a new folder under the OS temp dir. */
  readonly outDir?: string | undefined
  /** Add each face's embedding (128 numbers) to the result. Default false. */
  readonly embeddings?: boolean | undefined
}

/**
 * What a local detection produced.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Outcome {
  /** The wire-shaped result: `succeeded`, or `failed` when no face was found or the media could not be used. */
  readonly data: DetectTask.ResultData
  /** The folder holding the crops. */
  readonly outDir: string
}

/**
 * The task error code for media the detector refused (`FaceSwap.Detect.Failed` is for "no face"): the detector's
 * own mapping (`DetectorError.taskError`), the one the HTTP server records too.
 *
 * @since 0.1.0
 * @category Combinators
 */
export const taskErrorCode = (error: Exclude<DetectorError.DetectorError, DetectorError.ModelLoadFailed>): string =>
  DetectorError.taskError(error).code

/**
 * The wire face for a detected one, with its crop at `link` (the detector's `Detection.toWireFace`).
 *
 * @since 0.1.0
 * @category Combinators
 */
export const toWireFace = (face: DetectedFace, link: string): Face.Face => Detection.toWireFace(face, link)

/**
 * A succeeded result `data` for faces already written to disk.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const succeeded = (args: {
  readonly detectTaskId: string
  readonly detectId: string
  readonly faces: ReadonlyArray<Face.Face>
  readonly startedAt: number
  readonly finishedAt: number
}): DetectTask.ResultData => ({
  detect_task_id: args.detectTaskId,
  status: "succeeded",
  result: {
    id: args.detectId,
    status: "succeed",
    type: "face_detect",
    hair_id: null,
    faces: [...args.faces],
    started_at: Timestamp.format(args.startedAt),
    finished_at: Timestamp.format(args.finishedAt),
    error: null
  },
  error: null
})

/**
 * A failed result `data`.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const failed = (detectTaskId: string, code: string, message: string): DetectTask.ResultData => ({
  detect_task_id: detectTaskId,
  status: "failed",
  result: null,
  error: { code, message }
})

/**
 * Runs the detector on `options.source`.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const detect = (
  options: Options
): Effect.Effect<Outcome, CliError, FaceDetector.FaceDetector | FileSystem.FileSystem | HttpClient.HttpClient> =>
  Effect.scoped(
    Effect.gen(function* () {
      const detector = yield* FaceDetector.FaceDetector
      const detectTaskId = TaskId.makeDetectTaskId(randomBytes)
      const startedAt = yield* Clock.currentTimeMillis
      const media = yield* LocalMedia.open(options.source)
      const kind = options.kind ?? media.kind
      const outDir = yield* LocalMedia.outputDirectory(options.outDir)
      const run: Effect.Effect<ImageDetection | VideoDetection, DetectorError.DetectorError> =
        kind === "video"
          ? detector.detectVideo(media.path, { crops: true, embeddings: options.embeddings === true })
          : detector.detectImage(yield* media.bytes, { crops: true, embeddings: options.embeddings === true })
      const detection = yield* Effect.either(run)
      if (detection._tag === "Left") {
        const error = detection.left
        if (error._tag === "ModelLoadFailed") {
          return yield* new LocalDetectorUnavailable({ message: error.message, cause: error })
        }
        return { outDir, data: failed(detectTaskId, taskErrorCode(error), error.message) }
      }
      const found = detection.right.faces
      if (found.length === 0) {
        return {
          outDir,
          data: failed(detectTaskId, TaskErrorCode.TaskErrorCode.NoFace, `no face detected in ${options.source}`)
        }
      }
      const faces: Array<Face.Face> = []
      for (const face of found) {
        // Crops were asked for; a detector that left one out is a bug, reported as the task's internal failure.
        if (face.crop === undefined) {
          const message = `the detector returned no crop for face ${face.id}`
          return { outDir, data: failed(detectTaskId, TaskErrorCode.TaskErrorCode.Internal, message) }
        }
        const file = join(outDir, `face-${face.id}.jpg`)
        yield* LocalMedia.write(file, face.crop)
        faces.push(toWireFace(face, pathToFileURL(file).href))
      }
      const finishedAt = yield* Clock.currentTimeMillis
      const data = succeeded({ detectTaskId, detectId: TaskId.makeDetectId(randomBytes), faces, startedAt, finishedAt })
      return { outDir, data }
    })
  )

/**
 * The detector for `--local`, configured like the server's (`FACEDET_DETECTOR_*`, `FACEDET_MIN_FACE_SCORE`, ...).
 * A bad variable is a `UsageError`; a model that cannot load is a `LocalDetectorUnavailable`.
 *
 * @since 0.1.0
 * @category Layers
 */
export const detectorLayer: Layer.Layer<FaceDetector.FaceDetector, CliError> = Layer.mapError(
  FaceDetector.layerConfig,
  (error) =>
    ConfigError.isConfigError(error)
      ? new UsageError({ message: `invalid detector setting: ${String(error)}` })
      : new LocalDetectorUnavailable({ message: error.message, cause: error })
)
