/**
 * Media format detection from magic bytes, for downloads and uploads alike: `@facedet/core`'s `MediaFormat` (the
 * detector decides with the same function, so a file accepted here is never refused there), plus which formats the
 * server takes as an image or as a video. A Content-Type header or a file name is never consulted: an attacker
 * controls both, and a decoder must only ever see the formats it allow-lists.
 */
import * as Core from "@facedet/core/MediaFormat"

/** A format the server accepts, as sniffed from the bytes. */
export type MediaFormat = Core.ImageFormat | Core.VideoFormat

/** The media a URL is expected to hold. */
export type MediaKind = Core.MediaKind

/** Still-image formats (an animated GIF or WebP as an image gives its first frame). */
export const imageFormats: ReadonlySet<MediaFormat> = new Set(["jpeg", "png", "webp", "gif", "avif", "tiff"])

/** Formats accepted as a video: containers ffmpeg demuxes, and GIF/WebP (animated or not). */
export const videoFormats: ReadonlySet<MediaFormat> = new Set(["mp4", "mov", "webm", "mkv", "gif", "webp"])

/** Whether media of `kind` may be in `format`. */
export const accepts = (kind: MediaKind, format: MediaFormat): boolean =>
  (kind === "image" ? imageFormats : videoFormats).has(format)

/** How many leading bytes `sniff` and `describe` look at; fewer work when the media is shorter. */
export const headerLength = Core.headerLength

/** The accepted format of `bytes` (from their first `headerLength` bytes), or undefined when it is not one of them. */
export const sniff = (bytes: Uint8Array): MediaFormat | undefined => {
  const found = Core.sniff(bytes)
  return found.kind === "unsupported" ? undefined : found.format
}

/** A short name for what `bytes` are, accepted or not: `"jpeg"`, `"html"`, `"pdf"`, `"heic"`, `"unknown"`... */
export const describe = Core.describe
