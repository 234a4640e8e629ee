/**
 * Whether a piece of media goes to the image or the video detection call.
 *
 * - A local file is judged by its bytes (the detector's magic-byte sniffing), never by its name: an animated GIF or
 *   WebP is a video (people are tracked across its frames), a still one an image.
 * - A URL is judged by the extension of its path: the bytes are the server's to fetch. `.gif` counts as video, as
 *   crun.ai lists GIF under its video call; anything unknown counts as image. `--video` / `--image` override.
 *
 * @since 0.1.0
 */
import * as MediaFormat from "@facedet/core/MediaFormat"

/**
 * @since 0.1.0
 * @category Models
 */
export type Kind = MediaFormat.MediaKind

/**
 * What the bytes of a file are.
 *
 * @since 0.1.0
 * @category Models
 */
export type Sniffed =
  | { readonly kind: Kind; readonly format: string; readonly contentType: string }
  | { readonly kind: "unsupported"; readonly detected: string }

const contentTypes: Record<string, string> = {
  jpeg: "image/jpeg",
  png: "image/png",
  gif: "image/gif",
  webp: "image/webp",
  avif: "image/avif",
  tiff: "image/tiff",
  mp4: "video/mp4",
  mov: "video/quicktime",
  webm: "video/webm",
  mkv: "video/x-matroska"
}

/**
 * Sniffs a whole file's bytes (the whole file is needed to tell an animated GIF from a still one).
 *
 * @since 0.1.0
 * @category Constructors
 */
export const ofBytes = (bytes: Uint8Array): Sniffed => {
  const sniffed = MediaFormat.sniff(bytes.subarray(0, MediaFormat.headerLength))
  if (sniffed.kind === "unsupported") return sniffed
  const contentType = contentTypes[sniffed.format] ?? "application/octet-stream"
  if (sniffed.kind === "video") return { kind: "video", format: sniffed.format, contentType }
  const animated =
    (sniffed.format === "gif" && gifFrameCount(bytes, 2) > 1) || (sniffed.format === "webp" && isAnimatedWebp(bytes))
  return { kind: animated ? "video" : "image", format: sniffed.format, contentType }
}

const videoExtensions = new Set(["mp4", "m4v", "mov", "qt", "webm", "mkv", "gif"])

/**
 * The kind of a media URL, from the extension of its path (query and fragment ignored); unknown counts as image.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const ofUrl = (url: URL): Kind => {
  const name = url.pathname.split("/").pop() ?? ""
  const dot = name.lastIndexOf(".")
  const extension = dot < 0 ? "" : decodeURIComponent(name.slice(dot + 1)).toLowerCase()
  return videoExtensions.has(extension) ? "video" : "image"
}

/**
 * Counts a GIF's frames (image descriptors) by walking its block structure, stopping at `stopAt`. A truncated or
 * malformed file counts the frames seen so far.
 *
 * @since 0.1.0
 * @category Combinators
 */
export const gifFrameCount = (bytes: Uint8Array, stopAt = Number.POSITIVE_INFINITY): number => {
  if (bytes.length < 13) return 0
  let i = 13
  const packed = bytes[10]!
  if (packed & 0x80) i += 3 * 2 ** ((packed & 0x07) + 1)
  let frames = 0
  const skipSubBlocks = (): void => {
    while (i < bytes.length) {
      const size = bytes[i]!
      i += 1
      if (size === 0) return
      i += size
    }
  }
  while (i < bytes.length && frames < stopAt) {
    const block = bytes[i]!
    if (block === 0x3b) break // trailer
    if (block === 0x21) {
      i += 2 // introducer and label
      skipSubBlocks()
    } else if (block === 0x2c) {
      frames += 1
      if (i + 10 > bytes.length) break
      const local = bytes[i + 9]!
      i += 10
      if (local & 0x80) i += 3 * 2 ** ((local & 0x07) + 1)
      i += 1 // LZW minimum code size
      skipSubBlocks()
    } else {
      break
    }
  }
  return frames
}

/**
 * Whether a WebP is animated: an extended (`VP8X`) header with the animation flag.
 *
 * @since 0.1.0
 * @category Guards
 */
export const isAnimatedWebp = (bytes: Uint8Array): boolean =>
  bytes.length > 20 &&
  String.fromCharCode(bytes[12]!, bytes[13]!, bytes[14]!, bytes[15]!) === "VP8X" &&
  (bytes[20]! & 0x02) !== 0
