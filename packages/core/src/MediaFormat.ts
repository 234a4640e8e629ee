/**
 * What a file is, from its first bytes: never from a name or a Content-Type. The detector hands a decoder only
 * formats it allow-lists here, so SVG, PDF and other loaders never see untrusted bytes; the CLI uses it to choose
 * the image or video call without loading the detector.
 *
 * @since 0.1.0
 */

/**
 * What a task detects faces in: a still image, or a video (animated GIF and WebP included).
 *
 * @since 0.1.0
 * @category Models
 */
export type MediaKind = "image" | "video"

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

/** How many leading bytes `sniff` and `describe` look at; fewer work when the media is shorter. */
export const headerLength = 256

const ascii = (bytes: Uint8Array, start: number, end: number): string => {
  let out = ""
  for (let i = start; i < Math.min(end, bytes.length); i++) out += String.fromCharCode(bytes[i]!)
  return out
}

const startsWith = (bytes: Uint8Array, signature: ReadonlyArray<number>, offset = 0): boolean =>
  bytes.length >= offset + signature.length && signature.every((b, i) => bytes[offset + i] === b)

const u32 = (bytes: Uint8Array, offset: number): number =>
  ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0

/** The major and compatible brands of an ISO-BMFF `ftyp` box at the start, or undefined. */
const ftypBrands = (bytes: Uint8Array): ReadonlyArray<string> | undefined => {
  if (bytes.length < 12 || ascii(bytes, 4, 8) !== "ftyp") return undefined
  const size = u32(bytes, 0)
  const end = Math.min(bytes.length, Math.max(size, 16))
  const brands = [ascii(bytes, 8, 12)]
  // Bytes 12..16 are the minor version; compatible brands follow, four bytes each.
  for (let i = 16; i + 4 <= end; i += 4) brands.push(ascii(bytes, i, i + 4))
  return brands
}

const avifBrands = new Set(["avif", "avis"])
const heicBrands = new Set(["heic", "heix", "heim", "heis", "hevc", "hevx", "hevm", "hevs"])
const audioBrands = new Set(["M4A ", "M4B ", "M4P ", "F4A ", "F4B "])
// A QuickTime file may open with one of these atoms instead of `ftyp`.
const quickTimeAtoms = new Set(["moov", "mdat", "wide", "free", "skip", "pnot"])

type Classified = { readonly format: ImageFormat | VideoFormat } | { readonly other: string }

/** The Matroska DocType ("webm", "matroska") from the EBML header, if it is in the first bytes. */
const ebmlDocType = (bytes: Uint8Array): string | undefined => {
  for (let i = 4; i + 3 < bytes.length; i++) {
    if (bytes[i] !== 0x42 || bytes[i + 1] !== 0x82) continue
    const lengthByte = bytes[i + 2]!
    // One-byte EBML size (0x80 | n): the only form muxers write for the DocType.
    if ((lengthByte & 0x80) === 0) continue
    const length = lengthByte & 0x7f
    return ascii(bytes, i + 3, i + 3 + length)
  }
  return undefined
}

const classify = (bytes: Uint8Array): Classified => {
  if (bytes.length === 0) return { other: "empty" }
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return { format: "jpeg" }
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return { format: "png" }
  const head6 = ascii(bytes, 0, 6)
  if (head6 === "GIF87a" || head6 === "GIF89a") return { format: "gif" }
  if (ascii(bytes, 0, 4) === "RIFF") {
    const form = ascii(bytes, 8, 12)
    if (form === "WEBP") return { format: "webp" }
    if (form === "AVI ") return { other: "avi" }
    if (form === "WAVE") return { other: "wav" }
    return { other: "riff" }
  }
  if (startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a])) {
    return { format: "tiff" }
  }
  const brands = ftypBrands(bytes)
  if (brands !== undefined) {
    const major = brands[0]!
    if (avifBrands.has(major)) return { format: "avif" }
    if (heicBrands.has(major)) return { other: "heic" }
    if (major === "mif1" || major === "msf1") {
      if (brands.some((b) => avifBrands.has(b))) return { format: "avif" }
      return { other: "heif" }
    }
    if (audioBrands.has(major)) return { other: "m4a-audio" }
    if (major === "crx ") return { other: "camera-raw" }
    if (major === "qt  ") return { format: "mov" }
    return { format: "mp4" }
  }
  if (bytes.length >= 8 && quickTimeAtoms.has(ascii(bytes, 4, 8))) return { format: "mov" }
  if (startsWith(bytes, [0x1a, 0x45, 0xdf, 0xa3])) {
    const docType = ebmlDocType(bytes)
    if (docType === "webm") return { format: "webm" }
    // The four magic bytes alone prove nothing (zeros after them passed as MKV): a real file names its DocType
    // within its first bytes.
    if (docType === "matroska") return { format: "mkv" }
    if (docType === undefined) return { other: "ebml-without-doctype" }
    return { other: `ebml-${docType}` }
  }
  return { other: name(bytes) }
}

/** Printable ASCII with tabs and line breaks: text of some kind. */
const isPrintable = (bytes: Uint8Array): boolean =>
  bytes.every((b) => b === 0x09 || b === 0x0a || b === 0x0d || (b >= 0x20 && b <= 0x7e))

/** A name for bytes we refuse, so an error can say what they were. */
const name = (bytes: Uint8Array): string => {
  if (startsWith(bytes, [0x25, 0x50, 0x44, 0x46])) return "pdf"
  if (startsWith(bytes, [0x42, 0x4d])) return "bmp"
  if (startsWith(bytes, [0x00, 0x00, 0x01, 0x00])) return "ico"
  if (startsWith(bytes, [0xff, 0x0a]) || startsWith(bytes, [0x00, 0x00, 0x00, 0x0c, 0x4a, 0x58, 0x4c, 0x20])) {
    return "jpeg-xl"
  }
  if (startsWith(bytes, [0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50, 0x20, 0x20])) return "jpeg-2000"
  if (startsWith(bytes, [0x47]) && bytes.length > 188 && bytes[188] === 0x47) return "mpeg-ts"
  if (startsWith(bytes, [0x00, 0x00, 0x01, 0xba])) return "mpeg-ps"
  if (ascii(bytes, 0, 4) === "OggS") return "ogg"
  if (ascii(bytes, 0, 4) === "fLaC") return "flac"
  if (ascii(bytes, 0, 3) === "ID3" || startsWith(bytes, [0xff, 0xfb])) return "mp3"
  if (ascii(bytes, 0, 3) === "FWS" || ascii(bytes, 0, 3) === "CWS") return "flash"
  if (startsWith(bytes, [0x50, 0x4b, 0x03, 0x04])) return "zip"
  if (startsWith(bytes, [0x1f, 0x8b])) return "gzip"
  if (startsWith(bytes, [0x38, 0x42, 0x50, 0x53])) return "photoshop"
  // Text formats: skip a UTF-8 byte-order mark and leading white space.
  const text = ascii(bytes, startsWith(bytes, [0xef, 0xbb, 0xbf]) ? 3 : 0, headerLength)
    .trimStart()
    .toLowerCase()
  if (text.startsWith("<svg") || (text.startsWith("<?xml") && text.includes("<svg"))) return "svg"
  if (text.startsWith("<!doctype html") || text.startsWith("<html") || text.startsWith("<head")) return "html"
  if (text.startsWith("<?xml") || text.startsWith("<")) return "xml-or-html"
  if (text.startsWith("{") || text.startsWith("[")) return "json"
  if (isPrintable(bytes.subarray(0, 64))) return "text"
  return "unknown"
}

const stillFormats: ReadonlySet<string> = new Set(["jpeg", "png", "webp", "gif", "avif", "tiff"])

/**
 * Identifies the format of `bytes` from its first `headerLength` bytes. An ISO-BMFF file is an AVIF when its major
 * brand says so, or when it is a generic HEIF (`mif1`, `msf1`) listing `avif` among its compatible brands; other
 * HEIF files (HEIC) are refused by name.
 *
 * @since 0.1.0
 * @category Sniffing
 */
export const sniff = (bytes: Uint8Array): Sniffed => {
  const found = classify(bytes.subarray(0, headerLength))
  if ("other" in found) return { kind: "unsupported", detected: found.other }
  return stillFormats.has(found.format)
    ? { kind: "image", format: found.format as ImageFormat }
    : { kind: "video", format: found.format as Exclude<VideoFormat, "gif" | "webp"> }
}

/**
 * A short name for what `bytes` are, accepted or not: `"jpeg"`, `"html"`, `"pdf"`, `"heic"`, `"unknown"`...
 *
 * @since 0.1.0
 * @category Sniffing
 */
export const describe = (bytes: Uint8Array): string => {
  const found = classify(bytes.subarray(0, headerLength))
  return "format" in found ? found.format : found.other
}
