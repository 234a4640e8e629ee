/**
 * Format sniffing from magic bytes: the real fixture files, hand-made headers, and bytes that must be refused.
 */
import { readFileSync } from "node:fs"
import { describe, expect, it } from "@effect/vitest"
import * as MediaFetcher from "../src/MediaFetcher.js"

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`./fixtures/media/${name}`, import.meta.url)))
const bytes = (...parts: ReadonlyArray<string | ReadonlyArray<number>>): Uint8Array =>
  new Uint8Array(parts.flatMap((p) => (typeof p === "string" ? [...p].map((c) => c.charCodeAt(0)) : [...p])))
const be32 = (n: number) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]
const ftyp = (major: string, ...compatible: ReadonlyArray<string>) =>
  bytes(be32(16 + 4 * compatible.length), "ftyp", major, [0, 0, 0, 0], compatible.join(""), "....moov")

describe("sniff", () => {
  it.each([
    ["photo.jpg", "jpeg"],
    ["photo.png", "png"],
    ["photo.webp", "webp"],
    ["anim.gif", "gif"],
    ["clip.mp4", "mp4"],
    ["clip.webm", "webm"]
  ])("recognises the fixture %s as %s", (name, format) => {
    expect(MediaFetcher.sniff(fixture(name))).toBe(format)
  })

  it("recognises container and image headers", () => {
    expect(MediaFetcher.sniff(bytes("GIF87a", [1, 0, 1, 0]))).toBe("gif")
    expect(MediaFetcher.sniff(bytes("II", [0x2a, 0], [8, 0, 0, 0]))).toBe("tiff")
    expect(MediaFetcher.sniff(bytes("MM", [0, 0x2a], [0, 0, 0, 8]))).toBe("tiff")
    expect(MediaFetcher.sniff(ftyp("avif", "mif1", "miaf"))).toBe("avif")
    expect(MediaFetcher.sniff(ftyp("avis", "msf1"))).toBe("avif")
    expect(MediaFetcher.sniff(ftyp("mif1", "avif", "miaf"))).toBe("avif")
    expect(MediaFetcher.sniff(ftyp("qt  ", "qt  "))).toBe("mov")
    expect(MediaFetcher.sniff(ftyp("isom", "iso2", "mp41"))).toBe("mp4")
    expect(MediaFetcher.sniff(ftyp("3gp4", "isom"))).toBe("mp4")
    expect(MediaFetcher.sniff(bytes([0, 0, 0, 8], "wide", [0, 0, 0, 8], "mdat"))).toBe("mov")
    // Matroska EBML header with DocType "matroska" and "webm".
    const ebml = (docType: string) =>
      bytes([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 0x01, 0x42, 0x82, 0x80 | docType.length], docType)
    expect(MediaFetcher.sniff(ebml("matroska"))).toBe("mkv")
    // The EBML magic followed by zeros (no DocType) is not a video: it used to pass, letting 200 MiB of zeros in.
    expect(MediaFetcher.sniff(bytes([0x1a, 0x45, 0xdf, 0xa3], "\u0000".repeat(252)))).toBeUndefined()
    expect(MediaFetcher.sniff(ebml("webm"))).toBe("webm")
    // Animated WebP (VP8X with the animation flag) is still WebP.
    expect(MediaFetcher.sniff(bytes("RIFF", be32(0), "WEBPVP8X", [10, 0, 0, 0, 0x12, 0, 0, 0]))).toBe("webp")
  })

  it.each([
    [bytes("<!DOCTYPE html><html><body>x</body></html>"), "html"],
    [bytes("\n  <html lang=en>"), "html"],
    [bytes([0xef, 0xbb, 0xbf], '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>'), "svg"],
    [bytes('<svg xmlns="http://www.w3.org/2000/svg"></svg>'), "svg"],
    [bytes("%PDF-1.7\n"), "pdf"],
    [bytes("BM", [0, 0, 0, 0]), "bmp"],
    [bytes([0, 0, 1, 0, 1, 0]), "ico"],
    [ftyp("heic", "mif1", "heic"), "heic"],
    [ftyp("mif1", "heic"), "heif"],
    [ftyp("M4A ", "isom"), "m4a-audio"],
    [bytes("RIFF", be32(0), "AVI LIST"), "avi"],
    [bytes("RIFF", be32(0), "WAVEfmt "), "wav"],
    [bytes("OggS", [0, 2]), "ogg"],
    [bytes("ID3", [4, 0]), "mp3"],
    [bytes([0x50, 0x4b, 0x03, 0x04]), "zip"],
    [bytes([0x1f, 0x8b, 0x08]), "gzip"],
    [bytes('{"error":"not found"}'), "json"],
    [bytes("hello, world"), "text"],
    [bytes([0x00, 0x01, 0x02, 0x03, 0xfe]), "unknown"],
    [new Uint8Array(0), "empty"]
  ])("refuses %s and names it", (input, detected) => {
    expect(MediaFetcher.sniff(input)).toBeUndefined()
    expect(MediaFetcher.describe(input)).toBe(detected)
  })

  it("never needs more than the first bytes, and a truncated header is not a match", () => {
    const jpeg = fixture("photo.jpg")
    expect(MediaFetcher.sniff(jpeg.subarray(0, 3))).toBe("jpeg")
    expect(MediaFetcher.sniff(jpeg.subarray(0, 2))).toBeUndefined()
    expect(MediaFetcher.sniff(bytes("GIF8"))).toBeUndefined()
    expect(MediaFetcher.sniff(bytes([0x89, 0x50, 0x4e, 0x47]))).toBeUndefined()
  })

  it("accepts images for kind image, and containers plus GIF/WebP for kind video", () => {
    expect([...MediaFetcher.imageFormats].filter((f) => MediaFetcher.accepts("video", f)).sort()).toEqual([
      "gif",
      "webp"
    ])
    expect(MediaFetcher.accepts("image", "jpeg")).toBe(true)
    expect(MediaFetcher.accepts("image", "mp4")).toBe(false)
    expect(MediaFetcher.accepts("video", "mkv")).toBe(true)
    expect(MediaFetcher.accepts("video", "png")).toBe(false)
  })
})
