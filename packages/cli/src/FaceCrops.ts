/**
 * Saving the face crops of a succeeded detection into a folder as `face-<id>.jpg`: `http(s)` links are downloaded
 * (the API key is sent only to the target server's own origin, never to a CDN nor across a redirect). Any other
 * link is refused: a server's answer must not make the command read local files (`--local` writes its crops itself).
 *
 * @since 0.1.0
 */
import { join } from "node:path"
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as HttpClient from "@effect/platform/HttpClient"
import type { Face } from "@facedet/core"
import * as Endpoints from "@facedet/core/Endpoints"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { CropDownloadFailed, FileError } from "./CliError.js"
import * as Download from "./internal/download.js"
import * as LocalMedia from "./LocalMedia.js"
import type { Target } from "./Target.js"
import { sameOrigin } from "./Target.js"

/**
 * @since 0.1.0
 * @category Constants
 */
export const limits = {
  /** A crop larger than this is refused (crops are small JPEGs; this guards against a hostile link). */
  maxBytes: 32 * 1024 * 1024,
  /** Per crop. */
  timeout: Duration.minutes(1),
  /** Crops fetched at once. */
  concurrency: 4
} as const

/**
 * One saved crop.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Saved {
  readonly id: number
  readonly link: string
  readonly path: string
}

/**
 * The file name of a face's crop.
 *
 * @since 0.1.0
 * @category Constants
 */
export const fileName = (id: number): string => `face-${id}.jpg`

/**
 * Saves every face's crop into `dir` (created if needed), in face order.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const saveAll = (
  faces: ReadonlyArray<Face.Face>,
  dir: string,
  target?: Target
): Effect.Effect<ReadonlyArray<Saved>, CropDownloadFailed | FileError, FileSystem.FileSystem | HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const out = yield* LocalMedia.outputDirectory(dir)
    return yield* Effect.forEach(
      faces,
      (face) => {
        const path = join(out, fileName(face.id))
        return Effect.as(save(face.link, path, target), { id: face.id, link: face.link, path })
      },
      { concurrency: limits.concurrency }
    )
  })

const save = (
  link: string,
  path: string,
  target: Target | undefined
): Effect.Effect<void, CropDownloadFailed | FileError, FileSystem.FileSystem | HttpClient.HttpClient> => {
  const key =
    target !== undefined && Option.isSome(target.apiKey) && sameOrigin(link, target.baseUrl)
      ? { [Endpoints.headers.apiKey]: Redacted.value(target.apiKey.value) }
      : undefined
  return Download.toFile(link, path, {
    maxBytes: limits.maxBytes,
    timeout: limits.timeout,
    ...(key === undefined ? {} : { headers: key })
  }).pipe(
    Effect.mapError((error) =>
      error.reason === "Write"
        ? new FileError({ path, message: error.message, cause: error })
        : new CropDownloadFailed({
            link,
            message: error.message,
            ...(error.httpStatus === undefined ? {} : { httpStatus: error.httpStatus }),
            cause: error
          })
    ),
    Effect.asVoid
  )
}
