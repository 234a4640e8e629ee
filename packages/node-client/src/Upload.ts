/**
 * The facedet server's upload call (`POST /api/v1/client/upload`, raw bytes): it answers a URL on that server,
 * usable as `image_url` / `video_url` for one hour, so local files can be detected. crun.ai has no such call and
 * answers it with an error (a typed `NotFound`, or whatever its answer says).
 *
 * @since 0.1.0
 */
import { z } from "zod"

/**
 * `data` of an upload answer.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const UploadData = z.looseObject({
  url: z.string().pipe(z.url({ protocol: /^https?$/, error: "url must be an http(s) URL" }))
})

/**
 * @since 0.1.0
 * @category Models
 */
export type UploadData = z.infer<typeof UploadData>

/**
 * The content types an upload accepts: `image/*` or `video/*` (parameters such as `; charset` are not allowed).
 *
 * @since 0.1.0
 * @category Constants
 */
export const contentTypePattern: RegExp = /^(image|video)\/[a-z0-9][a-z0-9.+-]{0,126}$/i

/**
 * How long an uploaded file's URL stays usable on a facedet server.
 *
 * @since 0.1.0
 * @category Constants
 */
export const urlValidityMs = 60 * 60 * 1000
