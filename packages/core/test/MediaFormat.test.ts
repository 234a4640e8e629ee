import { describe, expect, it } from "@effect/vitest"
import * as MediaFormat from "../src/MediaFormat.js"

const bytes = (...parts: Array<string | Array<number>>) =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === "string" ? [...p].map((c) => c.charCodeAt(0)) : p)))

describe("MediaFormat", () => {
  it("recognises the image formats by their magic bytes", () => {
    expect(MediaFormat.sniff(bytes([0xff, 0xd8, 0xff, 0xe0]))).toEqual({ kind: "image", format: "jpeg" })
    expect(MediaFormat.sniff(bytes([0x89], "PNG", [0x0d, 0x0a, 0x1a, 0x0a]))).toEqual({ kind: "image", format: "png" })
    expect(MediaFormat.sniff(bytes("GIF89a"))).toEqual({ kind: "image", format: "gif" })
    expect(MediaFormat.sniff(bytes("RIFF", [1, 2, 3, 4], "WEBPVP8 "))).toEqual({ kind: "image", format: "webp" })
    expect(MediaFormat.sniff(bytes([0, 0, 0, 28], "ftypavif"))).toEqual({ kind: "image", format: "avif" })
    expect(MediaFormat.sniff(bytes("II*", [0]))).toEqual({ kind: "image", format: "tiff" })
  })

  it("recognises video containers and refuses what it does not decode, saying what it saw", () => {
    expect(MediaFormat.sniff(bytes([0, 0, 0, 32], "ftypisom"))).toEqual({ kind: "video", format: "mp4" })
    expect(MediaFormat.sniff(bytes([0, 0, 0, 20], "ftypqt  "))).toEqual({ kind: "video", format: "mov" })
    expect(MediaFormat.sniff(bytes([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x82, 0x84], "webm"))).toEqual({
      kind: "video",
      format: "webm"
    })
    expect(MediaFormat.sniff(bytes([0, 0, 0, 24], "ftypheic"))).toEqual({ kind: "unsupported", detected: "heic" })
    expect(MediaFormat.sniff(bytes("<svg xmlns="))).toEqual({ kind: "unsupported", detected: "svg" })
    expect(MediaFormat.sniff(bytes("%PDF-1.7"))).toEqual({ kind: "unsupported", detected: "pdf" })
    expect(MediaFormat.sniff(bytes("hello world"))).toEqual({ kind: "unsupported", detected: "unknown" })
    expect(MediaFormat.sniff(new Uint8Array(0))).toEqual({ kind: "unsupported", detected: "empty" })
  })
})
