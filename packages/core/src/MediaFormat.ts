/**
 * What a file is, from its first bytes: never from a name or a Content-Type. The detector hands a decoder only
 * formats it allow-lists here, so SVG, PDF and other loaders never see untrusted bytes; the CLI uses it to choose
 * the image or video call without loading the detector.
 *
 * @since 0.1.0
 */

/**
 * The image formats the detector decodes.
 *
 * @since 0.1.0
 * @category Models
 */
export type ImageFormat = "jpeg" | "png" | "webp" | "gif" | "avif" | "tiff"

/**
 * The moving-picture formats the detector's video call accepts.
 *
 * @since 0.1.0
 * @category Models
 */
export type VideoFormat = "gif" | "webp" | "mp4" | "mov" | "webm" | "mkv"

/** A sniffed format: one the detector decodes, or a named (or unknown) format it refuses. */
export type Sniffed =
  | { readonly kind: "image"; readonly format: ImageFormat }
  | { readonly kind: "video"; readonly format: Exclude<VideoFormat, "gif" | "webp"> }
  | { readonly kind: "unsupported"; readonly detected: string }

/** How many leading bytes `sniff` looks at. */
export const headerLength = 64

const ascii = (bytes: Uint8Array, start: number, end: number): string =>
  String.fromCharCode(...bytes.subarray(start, Math.min(end, bytes.length)))

const startsWith = (bytes: Uint8Array, signature: ReadonlyArray<number>, offset = 0): boolean =>
  bytes.length >= offset + signature.length && signature.every((b, i) => bytes[offset + i] === b)

// ISO base media brands that mean a still image (HEIF family) rather than a movie.
const avifBrands = new Set(["avif", "avis"])
const heicBrands = new Set(["heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1"])
// QuickTime files may start with one of these atoms instead of `ftyp`.
const quickTimeAtoms = new Set(["moov", "mdat", "wide", "free", "skip", "pnot"])

/** Identifies the format of `bytes` from its first `headerLength` bytes. */
export const sniff = (bytes: Uint8Array): Sniffed => {
  if (bytes.length === 0) return { kind: "unsupported", detected: "empty" }
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return { kind: "image", format: "jpeg" }
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return { kind: "image", format: "png" }
  const head6 = ascii(bytes, 0, 6)
  if (head6 === "GIF87a" || head6 === "GIF89a") return { kind: "image", format: "gif" }
  if (ascii(bytes, 0, 4) === "RIFF" && ascii(bytes, 8, 12) === "WEBP") return { kind: "image", format: "webp" }
  if (ascii(bytes, 0, 4) === "RIFF" && ascii(bytes, 8, 11) === "AVI") return { kind: "unsupported", detected: "avi" }
  if (startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a])) {
    return { kind: "image", format: "tiff" }
  }
  if (ascii(bytes, 4, 8) === "ftyp") {
    const brand = ascii(bytes, 8, 12)
    if (avifBrands.has(brand)) return { kind: "image", format: "avif" }
    if (heicBrands.has(brand)) return { kind: "unsupported", detected: "heic" }
    if (brand === "qt  ") return { kind: "video", format: "mov" }
    return { kind: "video", format: "mp4" }
  }
  if (quickTimeAtoms.has(ascii(bytes, 4, 8))) return { kind: "video", format: "mov" }
  if (startsWith(bytes, [0x1a, 0x45, 0xdf, 0xa3])) {
    return ascii(bytes, 0, headerLength).includes("webm")
      ? { kind: "video", format: "webm" }
      : { kind: "video", format: "mkv" }
  }
  return { kind: "unsupported", detected: guess(bytes) }
}

/** A name for formats we refuse, so the error says what the bytes were. */
const guess = (bytes: Uint8Array): string => {
  if (startsWith(bytes, [0x42, 0x4d])) return "bmp"
  if (startsWith(bytes, [0x25, 0x50, 0x44, 0x46])) return "pdf"
  if (startsWith(bytes, [0x00, 0x00, 0x01, 0x00])) return "ico"
  if (startsWith(bytes, [0xff, 0x0a]) || startsWith(bytes, [0x00, 0x00, 0x00, 0x0c, 0x4a, 0x58, 0x4c])) return "jxl"
  if (startsWith(bytes, [0x47]) && bytes.length > 188 && bytes[188] === 0x47) return "mpeg-ts"
  const text = ascii(bytes, 0, headerLength).trimStart().toLowerCase()
  if (text.startsWith("<svg") || (text.startsWith("<?xml") && text.includes("svg"))) return "svg"
  if (text.startsWith("<")) return "html/xml"
  return "unknown"
}
