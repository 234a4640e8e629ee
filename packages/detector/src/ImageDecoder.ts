/**
 * Decoding still images (and single frames of animated GIF/WebP) with sharp into RGB rasters, with the limits an
 * untrusted upload needs: the format is allow-listed by its bytes, the pixel count is checked from the header before
 * any pixel is decoded, EXIF orientation is applied, alpha is flattened onto white, and every libvips failure becomes
 * a typed error.
 */
import * as Effect from "effect/Effect"
import sharp from "sharp"
import type { ImageFormat } from "./Detection.js"
import { CorruptMedia, MediaTooLarge, UnsupportedMedia } from "./DetectorError.js"
import * as JpegRegions from "./internal/jpegRegions.js"
import * as Orientation from "./internal/orientation.js"
import * as MediaFormat from "./MediaFormat.js"

/**
 * Decoder limits.
 *
 * @since 0.1.0
 */
export interface Limits {
  /** Largest image (or animation frame) in pixels; larger headers are refused before decoding. */
  readonly maxPixels: number
  /** Largest input in bytes. */
  readonly maxBytes: number
}

/**
 * What the header says, after EXIF orientation.
 *
 * @since 0.1.0
 */
export interface ImageInfo {
  readonly format: ImageFormat
  readonly width: number
  readonly height: number
  /** Frames in an animated GIF/WebP, 1 for still images. */
  readonly pages: number
  /** Per-frame display time in ms for animations. */
  readonly delays: ReadonlyArray<number>
  /** The EXIF orientation (1-8) the stored pixels are turned by before any use, when the file has one. */
  readonly orientation?: number
}

/**
 * An 8-bit RGB raster, rows top to bottom, 3 bytes per pixel.
 *
 * @since 0.1.0
 */
export interface Raster {
  readonly data: Uint8Array
  readonly width: number
  readonly height: number
}

// libvips names AVIF "heif".
const sharpNames: Record<ImageFormat, ReadonlyArray<string>> = {
  jpeg: ["jpeg"],
  png: ["png"],
  webp: ["webp"],
  gif: ["gif"],
  avif: ["heif", "avif"],
  tiff: ["tiff"]
}

const describe = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause)).split("\n")[0]!

const translate = (format: string, maxPixels: number) => (cause: unknown) => {
  const detail = describe(cause)
  if (/pixel limit/i.test(detail)) return new MediaTooLarge({ reason: "pixels", limit: maxPixels })
  if (/^timeout/i.test(detail)) {
    return new CorruptMedia({ format, detail: `decoding took longer than ${decodeTimeoutSeconds} s` })
  }
  return new CorruptMedia({ format, detail })
}

/**
 * libvips stops a decoding after this long. An honest 50-megapixel image decodes in about a second here; a file
 * built to make the decoder crawl fails instead of holding a worker.
 *
 * @since 0.1.0
 */
export const decodeTimeoutSeconds = 30

/**
 * Reads the header: format (from the bytes), oriented size and animation frames, enforcing the limits.
 *
 * @since 0.1.0
 */
export const probe = (
  bytes: Uint8Array,
  limits: Limits
): Effect.Effect<ImageInfo, UnsupportedMedia | CorruptMedia | MediaTooLarge> =>
  Effect.gen(function* () {
    if (bytes.length > limits.maxBytes) {
      return yield* new MediaTooLarge({ reason: "bytes", limit: limits.maxBytes, actual: bytes.length })
    }
    const sniffed = MediaFormat.sniff(bytes)
    if (sniffed.kind === "unsupported") return yield* new UnsupportedMedia({ detected: sniffed.detected })
    if (sniffed.kind === "video") {
      return yield* new UnsupportedMedia({ detected: sniffed.format, reason: "a video: use detectVideo" })
    }
    const format = sniffed.format
    const meta = yield* Effect.tryPromise({
      try: () => sharp(bytes, { limitInputPixels: false, failOn: "error" }).metadata(),
      catch: translate(format, limits.maxPixels)
    })
    if (!sharpNames[format].includes(meta.format)) {
      return yield* new CorruptMedia({ format, detail: `decoder reads it as ${meta.format}` })
    }
    const width = meta.autoOrient?.width ?? meta.width
    const height = meta.autoOrient?.height ?? meta.height
    if (!(width > 0 && height > 0)) return yield* new CorruptMedia({ format, detail: "no image size in header" })
    if (width * height > limits.maxPixels) {
      return yield* new MediaTooLarge({ reason: "pixels", limit: limits.maxPixels, actual: width * height })
    }
    const animated = format === "gif" || format === "webp"
    const pages = animated ? Math.max(1, meta.pages ?? 1) : 1
    return {
      format,
      width,
      height,
      pages,
      delays: animated ? (meta.delay ?? []) : [],
      ...(meta.orientation === undefined ? {} : { orientation: meta.orientation })
    }
  })

/**
 * Decodes `page` (default 0) to RGB at `width` x `height` (the oriented size, or a smaller one).
 *
 * @since 0.1.0
 */
export const render = (
  bytes: Uint8Array,
  info: ImageInfo,
  size: { readonly width: number; readonly height: number; readonly page?: number },
  limits: Pick<Limits, "maxPixels">
): Effect.Effect<Raster, CorruptMedia | MediaTooLarge> =>
  Effect.tryPromise({
    try: async () => {
      let pipeline = sharp(bytes, {
        limitInputPixels: limits.maxPixels,
        failOn: "error",
        autoOrient: true,
        ...(info.pages > 1 ? { page: size.page ?? 0, pages: 1 } : {})
      })
        .timeout({ seconds: decodeTimeoutSeconds })
        .flatten({ background: "#ffffff" })
        .toColourspace("srgb")
      if (size.width !== info.width || size.height !== info.height) {
        pipeline = pipeline.resize(size.width, size.height, { fit: "fill", kernel: "lanczos3" })
      }
      const { data, info: out } = await pipeline.removeAlpha().raw().toBuffer({ resolveWithObject: true })
      if (out.channels !== 3 || out.width !== size.width || out.height !== size.height) {
        throw new Error(`unexpected raster ${out.width}x${out.height}x${out.channels}`)
      }
      return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: out.width, height: out.height }
    },
    catch: translate(info.format, limits.maxPixels)
  })

/**
 * Resizes an RGB raster (Lanczos: sharper small faces score higher), e.g. to build the coarser levels of the search from the finest one.
 *
 * @since 0.1.0
 */
export const resize = (raster: Raster, width: number, height: number): Effect.Effect<Raster, CorruptMedia> =>
  Effect.tryPromise({
    try: async () => {
      const data = await sharp(raster.data, { raw: { width: raster.width, height: raster.height, channels: 3 } })
        .resize(width, height, { fit: "fill", kernel: "lanczos3" })
        .raw()
        .toBuffer()
      return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width, height }
    },
    catch: (cause) => new CorruptMedia({ format: "raw", detail: describe(cause) })
  })

/**
 * Parts of an image at full resolution, without decoding the rest: `rects` (`[left, top, width, height]` in the
 * upright image's pixels, inside it) as rasters of their own, each with its top-left. For a baseline JPEG, the parts'
 * blocks are cut out of the file and decoded alone (`internal/jpegRegions`), which on a large photo costs a fraction
 * of a whole decode and its memory; a part of a photo stored turned (EXIF orientation) is cut from the stored pixels
 * and turned upright here. `undefined` when that does not apply (another format, a progressive or CMYK JPEG, parts
 * covering more than `share` of the image, anything the cut or its decode refuses): the caller decodes the whole image
 * instead, which also reports what is wrong with a broken file.
 *
 * @since 0.1.0
 */
export const regions = (
  bytes: Uint8Array,
  info: ImageInfo,
  rects: ReadonlyArray<JpegRegions.Rect>,
  limits: Pick<Limits, "maxPixels">,
  share = 0.5
): Effect.Effect<ReadonlyArray<{ readonly raster: Raster; readonly origin: readonly [number, number] }> | undefined> =>
  Effect.gen(function* () {
    const orientation = info.orientation ?? 1
    if (info.format !== "jpeg" || !(orientation >= 1 && orientation <= 8) || rects.length === 0) return undefined
    const whole = rects.map(
      ([left, top, width, height]) =>
        [
          Math.floor(left),
          Math.floor(top),
          Math.ceil(left + width) - Math.floor(left),
          Math.ceil(top + height) - Math.floor(top)
        ] as const
    )
    if (whole.some(([l, t, w, h]) => l < 0 || t < 0 || w < 1 || h < 1 || l + w > info.width || t + h > info.height)) {
      return undefined
    }
    // The stored image's size, and each part in its pixels.
    const [storedWidth, storedHeight] = Orientation.swaps(orientation)
      ? [info.height, info.width]
      : [info.width, info.height]
    const stored = whole.map((r) => Orientation.storedRect(orientation, r, storedWidth, storedHeight))
    const cut = yield* Effect.try(() =>
      JpegRegions.cut(bytes, stored, Math.min(limits.maxPixels, info.width * info.height * share))
    ).pipe(Effect.option)
    if (cut._tag === "None") return undefined
    const { jpeg, width, height, covers } = cut.value
    const strip = yield* render(
      jpeg,
      { format: "jpeg", width, height, pages: 1, delays: [] },
      { width, height },
      limits
    ).pipe(Effect.option)
    if (strip._tag === "None") return undefined
    return whole.map((rect, i) => {
      const [left, top, w, h] = rect
      const [sl, st, sw, sh] = stored[i]!
      const cover = covers[i]!
      const part = new Uint8Array(sw * sh * 3)
      const x = cover.x + sl - cover.left
      for (let row = 0; row < sh; row++) {
        const from = ((cover.y + st - cover.top + row) * width + x) * 3
        part.set(strip.value.data.subarray(from, from + sw * 3), row * sw * 3)
      }
      const data =
        orientation === 1 ? part : Orientation.upright(orientation, part, rect, stored[i]!, storedWidth, storedHeight)
      return { raster: { data, width: w, height: h }, origin: [left, top] as const }
    })
  })
