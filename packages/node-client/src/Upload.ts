/**
 * The facedet server's upload call (`POST /api/v1/client/upload`, raw bytes): it answers a URL on that server,
 * usable as `image_url` / `video_url` for one hour, so local files can be detected. crun.ai has no such call and
 * answers it with an error (a typed `NotFound`, or whatever its answer says).
 *
 * @since 0.1.0
 */
import { Upload } from "@facedet/core"
import * as Duration from "effect/Duration"

/**
 * `data` of an upload answer (core's `Upload.UploadData`).
 *
 * @since 0.1.0
 * @category Schemas
 */
export const UploadData = Upload.UploadData

/**
 * @since 0.1.0
 * @category Models
 */
export type UploadData = Upload.UploadData

/**
 * The content types an upload accepts: `image/*` or `video/*` (parameters such as `; charset` are not allowed).
 *
 * @since 0.1.0
 * @category Constants
 */
export const contentTypePattern: RegExp = Upload.contentTypePattern

/**
 * How long an uploaded file's URL stays usable on a facedet server.
 *
 * @since 0.1.0
 * @category Constants
 */
export const urlValidityMs: number = Duration.toMillis(Upload.validity)
