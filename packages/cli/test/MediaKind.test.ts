import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import * as MediaKind from "../src/MediaKind.js"
import { photoPath as samplePhoto } from "@facedet/testkit/Media"

/** A GIF with `frames` 1x1 frames, built block by block. */
const gif = (frames: number, globalTable = true): Uint8Array => {
  const header = [...Buffer.from("GIF89a"), 1, 0, 1, 0, globalTable ? 0x80 : 0x00, 0, 0]
  const table = globalTable ? [0, 0, 0, 255, 255, 255] : []
  const loop = [0x21, 0xff, 11, ...Buffer.from("NETSCAPE2.0"), 3, 1, 0, 0, 0]
  const frame = [
    0x21,
    0xf9,
    4,
    0,
    10,
    0,
    0,
    0, // graphic control extension
    0x2c,
    0,
    0,
    0,
    0,
    1,
    0,
    1,
    0,
    0, // image descriptor, no local table
    2,
    2,
    0x4c,
    0x01,
    0 // LZW min code size, one sub-block, terminator
  ]
  return Uint8Array.from([...header, ...table, ...(frames > 1 ? loop : []), ...Array(frames).fill(frame).flat(), 0x3b])
}

const webp = (animated: boolean): Uint8Array => {
  const bytes = new Uint8Array(40)
  bytes.set(Buffer.from("RIFF"), 0)
  bytes.set(Buffer.from("WEBPVP8X"), 8)
  bytes[20] = animated ? 0x02 : 0x00
  return bytes
}

describe("MediaKind.ofBytes", () => {
  it("a JPEG photo is an image", () => {
    expect(MediaKind.ofBytes(readFileSync(samplePhoto(1)))).toEqual({
      kind: "image",
      format: "jpeg",
      contentType: "image/jpeg"
    })
  })

  it("tells an animated GIF (a video) from a still one (an image)", () => {
    expect(MediaKind.gifFrameCount(gif(1))).toBe(1)
    expect(MediaKind.gifFrameCount(gif(3))).toBe(3)
    expect(MediaKind.gifFrameCount(gif(3, false))).toBe(3)
    expect(MediaKind.ofBytes(gif(1))).toMatchObject({ kind: "image", contentType: "image/gif" })
    expect(MediaKind.ofBytes(gif(2))).toMatchObject({ kind: "video", contentType: "image/gif" })
  })

  it("a truncated GIF counts the frames it has", () => {
    const bytes = gif(3)
    expect(MediaKind.gifFrameCount(bytes.subarray(0, bytes.length - 20))).toBe(2)
  })

  it("tells an animated WebP from a still one", () => {
    expect(MediaKind.ofBytes(webp(true))).toMatchObject({ kind: "video", format: "webp" })
    expect(MediaKind.ofBytes(webp(false))).toMatchObject({ kind: "image", format: "webp" })
  })

  it("an MP4 is a video; a PDF is refused by name", () => {
    const mp4 = Uint8Array.from([0, 0, 0, 24, ...Buffer.from("ftypisom"), 0, 0, 2, 0])
    expect(MediaKind.ofBytes(mp4)).toEqual({ kind: "video", format: "mp4", contentType: "video/mp4" })
    expect(MediaKind.ofBytes(Buffer.from("%PDF-1.7\n"))).toEqual({ kind: "unsupported", detected: "pdf" })
  })
})

describe("MediaKind.ofUrl", () => {
  it.each([
    ["https://cdn.example/a/photo.JPG?size=2", "image"],
    ["https://cdn.example/clip.mp4", "video"],
    ["https://cdn.example/clip.webm#t=3", "video"],
    ["https://cdn.example/dance.gif", "video"],
    ["https://cdn.example/render?id=7", "image"],
    ["https://cdn.example/movie.mov/", "image"]
  ])("%s is %s", (url, kind) => {
    expect(MediaKind.ofUrl(new URL(url))).toBe(kind)
  })
})
