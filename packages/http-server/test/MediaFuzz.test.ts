/**
 * Media fuzzing through the server: mutated JPEG, PNG, WebP, GIF and MP4 files (cuts, bit flips, corrupted spans,
 * seeded like the detector's fuzzing: FACEDET_FUZZ_SEED, FACEDET_FUZZ_CASES, FACEDET_FUZZ_SAVE_DIR), uploaded and
 * detected by a real server with the real detector. Each upload is refused with a 4xx envelope or accepted; each task
 * ends within its bound, `succeeded` or `failed` with a media code (never `Detect.Internal`, never a 5xx); the server
 * stays healthy and leaves no ffmpeg running.
 */
import { execFileSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { FaceDetector, VideoFrames } from "@facedet/detector"
import * as Layer from "effect/Layer"
import sharp from "sharp"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Fuzz from "@facedet/testkit/Mutation"
import * as Processes from "@facedet/testkit/Processes"
import * as MediaFetcher from "../src/MediaFetcher.js"
import type * as ServerConfig from "../src/ServerConfig.js"
import * as SqliteJobStore from "../src/SqliteJobStore.js"
import { call, paths, photo, type Running, startServer, tempDir, waitTerminal } from "./support.js"

const { seed, cases, saveDir } = Fuzz.settings(16)
/** The codes a task on broken media may end with: the media's fault, said precisely. */
const mediaCodes = new Set(["Media.UnsupportedFormat", "Media.Corrupt", "Media.TooLarge", "FaceSwap.Detect.Failed"])
const ffmpeg = VideoFrames.locateFfmpeg()

let app: Running
beforeAll(async () => {
  app = await startServer(
    { rateLimitPerSecond: 0 },
    {
      dependencies: (config: ServerConfig.ServerConfig) =>
        Layer.mergeAll(
          SqliteJobStore.layer({ dataDir: config.dataDir }),
          FaceDetector.layer({ sessions: 1 }),
          MediaFetcher.layer({ allowPrivate: true })
        )
    }
  )
})
afterAll(() => app?.close())

const bases = async (): Promise<ReadonlyArray<readonly [string, "image" | "video", Uint8Array]>> => {
  const small = sharp(photo(1)).resize({ width: 320 })
  const out: Array<readonly [string, "image" | "video", Uint8Array]> = [
    ["jpeg", "image", new Uint8Array(await small.clone().jpeg().toBuffer())],
    ["png", "image", new Uint8Array(await small.clone().png().toBuffer())],
    ["webp", "image", new Uint8Array(await small.clone().webp().toBuffer())],
    ["gif", "image", new Uint8Array(await small.clone().gif().toBuffer())]
  ]
  if (ffmpeg !== undefined) {
    const dir = tempDir()
    const still = join(dir, "still.jpg")
    await small.clone().jpeg().toFile(still)
    const clip = join(dir, "clip.mp4")
    execFileSync(
      ffmpeg,
      ["-y", "-loglevel", "error", "-loop", "1", "-i", still, "-t", "2", "-r", "4"].concat([
        "-vf",
        "format=yuv420p",
        "-c:v",
        "mpeg4",
        "-q:v",
        "4",
        clip
      ])
    )
    out.push(["mp4", "video", new Uint8Array(readFileSync(clip))])
  }
  return out
}

/** Uploads `bytes` and, when the upload is accepted, detects it; returns how it ended. */
const detect = async (kind: "image" | "video", bytes: Uint8Array): Promise<string> => {
  const up = await call(`${app.url}${paths.upload}`, { raw: bytes })
  expect(up.status, JSON.stringify(up.body)).toBeLessThan(500)
  expect(up.body).toHaveProperty("code")
  if (up.status !== 200) return `upload ${up.status}`
  const body = kind === "image" ? { image_url: up.body.data.url } : { video_url: up.body.data.url }
  const created = await call(`${app.url}${kind === "image" ? paths.image : paths.video}`, { body })
  // An upload of one kind used as the other is refused (422): a fuzzed video can sniff as an image.
  if (created.status === 422) return "create 422"
  expect(created.status, JSON.stringify(created.body)).toBe(200)
  const ended = await waitTerminal(app.url, created.body.data.detect_task_id, undefined, 3)
  if (ended.status === "succeeded") return "succeeded"
  expect(mediaCodes.has(ended.error.code), `${ended.error.code}: ${ended.error.message}`).toBe(true)
  return ended.error.code
}

describe("fuzzed media through the server", { timeout: 300_000 }, () => {
  it(
    `${cases} mutations per format end as a 4xx upload, a success or a media failure`,
    async () => {
      for (const [format, kind, base] of await bases()) {
        expect(await detect(kind, base)).toBe("succeeded")
        const counts = new Map<string, number>()
        for (const [i, m] of Fuzz.sample(seed, cases).entries()) {
          const bytes = Fuzz.apply(base, m)
          let ended: string
          try {
            ended = await detect(kind, bytes)
          } catch (e) {
            Fuzz.save(saveDir, `server-${format}-seed${seed}-case${i}.bin`, bytes)
            throw e
          }
          counts.set(ended, (counts.get(ended) ?? 0) + 1)
        }
        process.stdout.write(`fuzz server ${format}: ${cases} cases, ${JSON.stringify(Object.fromEntries(counts))}\n`)
      }
      expect((await call(`${app.url}/readyz`)).status).toBe(200)
      expect(await Processes.ffmpegLeftAfter(2_000)).toBe(0)
      // Nothing the server logged was a defect (the worker's words for one: "unexpected failure").
      expect(app.logs.filter((l) => /unexpected failure|Detect\.Internal/.test(l))).toEqual([])
    },
    120_000 + cases * 10_000
  )
})
