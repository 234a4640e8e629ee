/**
 * ffmpeg's frames as rasters: a reader of concatenated binary PPM images, and a pulled stream of them from ffmpeg's
 * output that fails when ffmpeg stops producing.
 */
import type { Readable } from "node:stream"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { VideoDecodeFailed } from "../DetectorError.js"
import type * as ImageDecoder from "../ImageDecoder.js"

/**
 * Splits a byte stream of concatenated binary PPM images (P6, 8-bit) into rasters.
 *
 * @since 0.1.0
 */
export class PpmReader {
  // Chunks are kept as they come and joined once per image: joining on every chunk would copy each frame
  // (megabytes, in 64 KiB chunks) quadratically.
  private chunks: Array<Uint8Array> = []
  private length = 0

  /** `allocate(bytes)` gives the memory each image (header included) is assembled in; default a fresh array. */
  constructor(private readonly allocate: (bytes: number) => Uint8Array = (bytes) => new Uint8Array(bytes)) {}

  /** Feeds bytes; returns every raster completed by them. Throws on bytes that are not PPM. */
  push(chunk: Uint8Array): Array<ImageDecoder.Raster> {
    this.chunks.push(chunk)
    this.length += chunk.length
    const out: Array<ImageDecoder.Raster> = []
    for (;;) {
      const header = PpmReader.header(this.peek(Math.min(this.length, 64)))
      if (header === undefined) break
      const end = header.offset + header.width * header.height * 3
      if (this.length < end) break
      const image = this.take(end)
      out.push({ data: image.subarray(header.offset), width: header.width, height: header.height })
    }
    return out
  }

  /** Bytes received but not yet part of a complete image. */
  get pending(): number {
    return this.length
  }

  private peek(n: number): Uint8Array {
    const first = this.chunks[0]
    if (first !== undefined && first.length >= n) return first.subarray(0, n)
    const out = new Uint8Array(n)
    let at = 0
    for (const c of this.chunks) {
      if (at >= n) break
      const part = c.subarray(0, n - at)
      out.set(part, at)
      at += part.length
    }
    return out
  }

  private take(n: number): Uint8Array {
    const out = this.allocate(n)
    let at = 0
    while (at < n) {
      const c = this.chunks[0]!
      const part = c.subarray(0, n - at)
      out.set(part, at)
      at += part.length
      if (part.length === c.length) this.chunks.shift()
      else this.chunks[0] = c.subarray(part.length)
    }
    this.length -= n
    return out
  }

  private static header(b: Uint8Array): { width: number; height: number; offset: number } | undefined {
    const fields: Array<number> = []
    let i = 2
    if (b.length < 2) return undefined
    if (b[0] !== 0x50 || b[1] !== 0x36) throw new Error("not a PPM (P6) stream")
    while (fields.length < 3) {
      while (i < b.length && (b[i] === 0x20 || b[i] === 0x0a || b[i] === 0x0d || b[i] === 0x09)) i++
      let n = 0
      let digits = 0
      while (i < b.length && b[i]! >= 0x30 && b[i]! <= 0x39) {
        n = n * 10 + b[i]! - 0x30
        i++
        digits++
      }
      if (i >= b.length) return undefined
      if (digits === 0) throw new Error("malformed PPM header")
      fields.push(n)
    }
    if (fields[2] !== 255) throw new Error("only 8-bit PPM is supported")
    return { width: fields[0]!, height: fields[1]!, offset: i + 1 }
  }
}

/**
 * Rasters from ffmpeg's PPM output, parsed in the Node stream's own data events: one stream element per frame rather
 * than per 64 KiB chunk (the stream machinery's cost per element would otherwise be paid four times or more per
 * frame). Pulled: the Node stream flows only while the consumer waits for a frame, so at most one frame is being
 * assembled ahead and ffmpeg is held back by the pipe (frames with a crop-size copy are 7 MB each).
 */
export const ppmFrames = (
  readable: Readable,
  allocate: ((bytes: number) => Uint8Array) | undefined,
  stallMs: number
): Stream.Stream<ImageDecoder.Raster, VideoDecodeFailed> =>
  Stream.suspend(() => {
    const reader = new PpmReader(allocate)
    const ready: Array<ImageDecoder.Raster> = []
    let ended = false
    let failure: VideoDecodeFailed | undefined
    let wake: (() => void) | undefined
    const onData = (chunk: Buffer) => {
      try {
        ready.push(...reader.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length)))
      } catch (cause) {
        failure = new VideoDecodeFailed({ detail: `bad frame stream: ${String(cause)}`, stderr: "" })
      }
      if (ready.length > 0 || failure !== undefined) {
        readable.pause()
        wake?.()
      }
    }
    const onEnd = () => {
      ended = true
      wake?.()
    }
    const onError = (cause: Error) => {
      failure = new VideoDecodeFailed({ detail: `reading ffmpeg output: ${String(cause)}`, stderr: "" })
      wake?.()
    }
    readable.pause()
    readable.on("data", onData)
    readable.once("end", onEnd)
    readable.once("error", onError)
    const next = Effect.async<ImageDecoder.Raster, Option.Option<VideoDecodeFailed>>((resume) => {
      const settle = (): boolean => {
        const frame = ready.shift()
        if (frame !== undefined) resume(Effect.succeed(frame))
        else if (failure !== undefined) resume(Effect.fail(Option.some(failure)))
        else if (ended) resume(Effect.fail(Option.none()))
        else return false
        wake = undefined
        return true
      }
      if (settle()) return
      wake = settle
      readable.resume()
      return Effect.sync(() => {
        wake = undefined
      })
    })
    // A decoder that stops producing (a file built to make it spin or wait) fails the stream; closing the scope
    // then kills ffmpeg. Only the wait for ffmpeg counts, not the caller's time with each frame.
    const nextOrStall = next.pipe(
      Effect.timeoutFail({
        duration: stallMs,
        onTimeout: () =>
          Option.some(new VideoDecodeFailed({ detail: `ffmpeg produced no frame for ${stallMs / 1000} s`, stderr: "" }))
      })
    )
    return Stream.repeatEffectOption(nextOrStall).pipe(
      Stream.ensuring(
        Effect.sync(() => {
          readable.off("data", onData)
          readable.off("end", onEnd)
          readable.off("error", onError)
        })
      )
    )
  })
