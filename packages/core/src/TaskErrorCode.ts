/**
 * The `error.code` strings a failed detection task carries. crun.ai documents one (`FaceSwap.Detect.Failed`, no
 * face found); the facedet server adds its own for media it could not use, so a client can tell "no face" from
 * "bad URL" without parsing messages. Codes from other servers pass through untouched.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 * @category Models
 */
export const TaskErrorCode = {
  /** crun.ai's code: no face was found in the media. */
  NoFace: "FaceSwap.Detect.Failed",
  /** The media URL could not be downloaded (DNS, connection, HTTP status other than 2xx). */
  DownloadFailed: "Media.DownloadFailed",
  /** The media URL (or a redirect) points at an address the server refuses to fetch (private, loopback, ...). */
  Forbidden: "Media.Forbidden",
  /** The media is larger than the server accepts (bytes, pixels, frames or duration). */
  TooLarge: "Media.TooLarge",
  /** The bytes are not an image or video format the server handles. */
  UnsupportedFormat: "Media.UnsupportedFormat",
  /** The bytes claim a supported format but cannot be decoded (truncated, corrupt). */
  Corrupt: "Media.Corrupt",
  /** Downloading the media took longer than allowed. */
  DownloadTimeout: "Media.Timeout",
  /** Detection itself took longer than allowed. */
  DetectTimeout: "Detect.Timeout",
  /** An unexpected failure inside the server; the message says what. */
  Internal: "Detect.Internal",
  /**
   * Every attempt at this task ended with its worker gone (a crash, an out-of-memory kill, a lease that ran out, or
   * an inference thread that died or whose onnxruntime run threw, each time on a fresh one): the input is taken to
   * be what kills workers and is not tried again.
   */
  WorkerLost: "Detect.WorkerLost"
} as const

/**
 * @since 0.1.0
 * @category Models
 */
export type TaskErrorCode = (typeof TaskErrorCode)[keyof typeof TaskErrorCode]
