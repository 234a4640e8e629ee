/**
 * The paths of the crun.ai face-detection API, and of facedet's compatible extensions.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 * @category Constants
 */
export const defaultBaseUrl = "https://api.crun.ai"

/**
 * @since 0.1.0
 * @category Constants
 */
export const paths = {
  createImage: "/api/v1/client/job/detect-face-image",
  createVideo: "/api/v1/client/job/detect-face-video",
  result: "/api/v1/client/job/detect-face-result",
  createTask: "/api/v1/client/job/CreateTask",
  taskInfo: "/api/v1/client/job/TaskInfo",
  /** facedet only: upload raw media bytes, get back a URL on the server usable as image_url / video_url. */
  upload: "/api/v1/client/upload"
} as const

/**
 * Header names used on the wire.
 *
 * @since 0.1.0
 * @category Constants
 */
export const headers = {
  apiKey: "x-api-key",
  idempotencyKey: "idempotency-key",
  retryAfter: "retry-after",
  retryAfterMs: "retry-after-ms",
  requestId: "x-request-id",
  longPoll: "x-facedet-long-poll"
} as const
