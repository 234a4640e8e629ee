/**
 * Test media: real photos with faces from the `@vladmandic/face-api` package's demo set (six group photos, people
 * counted by eye), so tests use genuine media without shipping copies of it, and media made at test time: a photo
 * with no face, and short clips made with ffmpeg from a photo.
 */
import { execFileSync } from "node:child_process"
import { readFileSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import sharp from "sharp"
import { tempDir } from "./Files.js"

const demo = join(dirname(createRequire(import.meta.url).resolve("@vladmandic/face-api/package.json")), "demo")

/** The path of `demo/sample<n>.jpg` (n = 1..6, 1920 px wide). */
export const photoPath = (n: number): string => join(demo, `sample${n}.jpg`)

/** The bytes of `demo/sample<n>.jpg`. */
export const photo = (n: number): Buffer => readFileSync(photoPath(n))

/** People in each demo photo, counted by looking at them (all faces clearly visible). */
export const peopleIn: Readonly<Record<number, number>> = { 1: 3, 2: 3, 3: 3, 4: 4, 5: 5, 6: 4 }

/** A 500x375 JPEG with no face: a smooth colour gradient. */
export const noFacePhoto = async (): Promise<Buffer> => {
  const width = 500
  const height = 375
  const raw = Buffer.alloc(width * height * 3)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3
      raw[i] = Math.round((x / width) * 255)
      raw[i + 1] = Math.round((y / height) * 255)
      raw[i + 2] = 128
    }
  }
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .jpeg()
    .toBuffer()
}

/** Runs ffmpeg quietly, overwriting its output; throws with its message on failure. */
export const ffmpeg = (binary: string, args: ReadonlyArray<string>): void => {
  execFileSync(binary, ["-v", "error", "-y", ...args], { stdio: "pipe" })
}

/**
 * An MP4 (2 s, 5 fps, 640 px wide) and an animated GIF (1.5 s, 4 fps, 480 px wide) of a still photo, made with
 * the given ffmpeg.
 */
export const movingMedia = (binary: string, source: Uint8Array): { readonly mp4: Buffer; readonly gif: Buffer } => {
  const dir = tempDir("facedet-media-")
  const input = join(dir, "in.jpg")
  writeFileSync(input, source)
  const still = ["-loop", "1", "-i", input]
  ffmpeg(binary, [...still, "-t", "2", "-r", "5", "-vf", "scale=640:-2", "-pix_fmt", "yuv420p", join(dir, "clip.mp4")])
  ffmpeg(binary, [...still, "-t", "1.5", "-r", "4", "-vf", "scale=480:-2", join(dir, "anim.gif")])
  return { mp4: readFileSync(join(dir, "clip.mp4")), gif: readFileSync(join(dir, "anim.gif")) }
}
