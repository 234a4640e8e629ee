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
    expect(MediaFormat.sniff(bytes("hello world"))).toEqual({ kind: "unsupported", detected: "text" })
    expect(MediaFormat.sniff(bytes([0, 0, 0, 0, 0x80, 0x81]))).toEqual({ kind: "unsupported", detected: "unknown" })
    expect(MediaFormat.sniff(new Uint8Array(0))).toEqual({ kind: "unsupported", detected: "empty" })
  })

  it("an AVIF whose major brand is the generic mif1 is an AVIF (its compatible brands say so); a HEIC is not", () => {
    // The server and the detector both decide with this function, so such a file is never accepted at create and
    // refused later (the two used to disagree).
    const heif = (major: string, ...compatible: Array<string>) =>
      bytes([0, 0, 0, 16 + 4 * compatible.length], `ftyp${major}`, [0, 0, 0, 0], compatible.join(""))
    expect(MediaFormat.sniff(heif("mif1", "mif1", "avif", "miaf"))).toEqual({ kind: "image", format: "avif" })
    expect(MediaFormat.sniff(heif("msf1", "msf1", "avis"))).toEqual({ kind: "image", format: "avif" })
    expect(MediaFormat.sniff(heif("mif1", "mif1", "heic"))).toEqual({ kind: "unsupported", detected: "heif" })
    expect(MediaFormat.sniff(heif("heic", "mif1", "heic"))).toEqual({ kind: "unsupported", detected: "heic" })
    expect(MediaFormat.describe(heif("mif1", "mif1", "avif"))).toBe("avif")
  })
})
