/**
 * facedet's upload call (`POST /api/v1/client/upload`, raw image or video bytes): the server stores the bytes and
 * answers a URL on itself, usable as `image_url` / `video_url` for one hour, so local files can be detected.
 * crun.ai has no such call.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import { z } from "zod"

/**
 * `data` of an upload answer.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const UploadData = z
  .looseObject({
    url: z
      .string()
      .pipe(z.url({ protocol: /^https?$/, error: "url must be an http(s) URL" }))
      .meta({ description: "Use as image_url / video_url on this server, for one hour" })
  })
  .meta({ id: "UploadData" })

/**
 * @since 0.1.0
 * @category Models
 */
export type UploadData = z.infer<typeof UploadData>

/**
 * The `Content-Type` of an upload: `image/*` or `video/*`, without parameters. The server trusts the bytes, not
 * this header; a client checks it before sending anything.
 *
 * @since 0.1.0
 * @category Constants
 */
export const contentTypePattern: RegExp = /^(image|video)\/[a-z0-9][a-z0-9.+-]{0,126}$/i

/**
 * How long an uploaded file's URL stays usable.
 *
 * @since 0.1.0
 * @category Constants
 */
export const validity: Duration.Duration = Duration.hours(1)
