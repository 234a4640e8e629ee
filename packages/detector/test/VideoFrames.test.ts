import { chmodSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FaceDetector from "../src/FaceDetector.js"
import * as VideoFrames from "../src/VideoFrames.js"
import * as Media from "./fixtures/media.js"

const ppm = (width: number, height: number, fill: number) => {
  const header = new TextEncoder().encode(`P6\n${width} ${height}\n255\n`)
  const out = new Uint8Array(header.length + width * height * 3)
  out.set(header)
  out.fill(fill, header.length)
  return out
}

describe("VideoFrames", () => {
  it("reads ffmpeg's stream summary: size, duration, rotation", () => {
    const stderr = `Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'file:/tmp/a.mp4':
  Duration: 00:01:02.50, start: 0.000000, bitrate: 406 kb/s
  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(tv, progressive), 1920x1080 [SAR 1:1 DAR 16:9], 401 kb/s, 25 fps, 25 tbr, 12800 tbn (default)
    Side data:
      displaymatrix: rotation of -90.00 degrees
  Stream #0:1[0x2](und): Audio: aac (LC), 44100 Hz, stereo, fltp, 128 kb/s`
    expect(VideoFrames.parseProbe(stderr)).toEqual({
      codec: "h264",
      width: 1920,
      height: 1080,
      rotation: 270,
      durationMs: 62_500
    })
    expect(VideoFrames.parseProbe("Duration: N/A\n  Stream #0:0: Video: vp9, yuv420p, 640x360, 30 fps")).toEqual({
      codec: "vp9",
      width: 640,
      height: 360,
      rotation: 0,
      durationMs: undefined
    })
    expect(VideoFrames.parseProbe("Stream #0:0: Audio: mp3, 44100 Hz")).toBeUndefined()
  })

  it("splits a PPM byte stream into frames, whatever the chunking", () => {
    const stream = new Uint8Array([...ppm(3, 2, 7), ...ppm(2, 2, 9)])
    for (const size of [1, 5, 17, stream.length]) {
      const reader = new VideoFrames.PpmReader()
      const frames = []
      for (let i = 0; i < stream.length; i += size) frames.push(...reader.push(stream.subarray(i, i + size)))
      expect(frames.map((f) => [f.width, f.height, f.data.length, f.data[0]])).toEqual([
        [3, 2, 18, 7],
        [2, 2, 12, 9]
      ])
      expect(reader.pending).toBe(0)
    }
    expect(() => new VideoFrames.PpmReader().push(new TextEncoder().encode("GIF89a"))).toThrow()
    // frames can be assembled in memory the caller recycles (the detector's shared buffers)
    const sizes: Array<number> = []
    const pooled = new VideoFrames.PpmReader((bytes) => {
      sizes.push(bytes)
      return new Uint8Array(new SharedArrayBuffer(bytes))
    })
    const [first, second] = pooled.push(stream)
    expect(first!.data.buffer).toBeInstanceOf(SharedArrayBuffer)
    expect([first!.data[0], second!.data[0], second!.data.length]).toEqual([7, 9, 12])
    expect(sizes).toEqual([ppm(3, 2, 7).length, ppm(2, 2, 9).length])
  })

  it("lowers the sampling rate of long media to stay within the frame cap", () => {
    const sampling = { fps: 3, maxFrames: 600, maxDurationMs: 600_000 }
    expect(VideoFrames.effectiveFps(10_000, sampling)).toBe(3)
    expect(VideoFrames.effectiveFps(400_000, sampling)).toBe(1.5)
    expect(VideoFrames.effectiveFps(0, sampling)).toBe(3)
  })

  it("samples the animation frame on screen at each sample time, as browsers play GIF delays", () => {
    // four frames of 500 ms, then one of 0 ms (played as 100 ms)
    const samples = VideoFrames.samplePages([500, 500, 500, 500, 0], 5, { fps: 2, maxFrames: 100, maxDurationMs: 1e6 })
    expect(samples).toEqual([
      { page: 0, timeMs: 0 },
      { page: 1, timeMs: 500 },
      { page: 2, timeMs: 1000 },
      { page: 3, timeMs: 1500 },
      { page: 4, timeMs: 2000 }
    ])
    expect(VideoFrames.samplePages([], 1, { fps: 3, maxFrames: 10, maxDurationMs: 1e6 })).toEqual([
      { page: 0, timeMs: 0 }
    ])
  })

  it("separates the search frame from the crop frame stacked under it", () => {
    const stacked = { data: new Uint8Array(4 * 3 * 3), width: 4, height: 3 }
    stacked.data.fill(1, 0, 4 * 3) // first row: search frame (2 pixels) + padding
    stacked.data.fill(2, 4 * 3)
    const { raster, full } = VideoFrames.unstack(stacked, { width: 2, height: 1 })
    expect([raster.width, raster.height, [...raster.data]]).toEqual([2, 1, [1, 1, 1, 1, 1, 1]])
    expect([full.width, full.height, full.data.every((v) => v === 2)]).toEqual([4, 2, true])
  })

  it("finds an ffmpeg (PATH or the npm static build) unless one is configured", () => {
    expect(VideoFrames.locateFfmpeg("/opt/custom/ffmpeg")).toBe("/opt/custom/ffmpeg")
    expect(VideoFrames.locateFfmpeg()).toMatch(/ffmpeg$/)
    // Without ffmpeg on PATH, the npm static build is used only when asked for.
    expect(VideoFrames.locateFfmpeg(undefined, { PATH: "/nonexistent" })).toBeUndefined()
    expect(VideoFrames.locateFfmpeg(undefined, { PATH: "/nonexistent", FACEDET_FFMPEG_FALLBACK: "npm" })).toMatch(
      /@ffmpeg-installer.*ffmpeg$/
    )
  })

  it.live("fails a video whose decoder stops producing frames, and kills it", () =>
    Effect.gen(function* () {
      // A stand-in ffmpeg: it describes a valid video when probed, then hangs instead of decoding. `exec` makes the
      // hanging process ffmpeg itself, so its death can be checked.
      const dir = Media.tempDir()
      const fake = join(dir, "ffmpeg")
      const pidFile = join(dir, "pid")
      writeFileSync(
        fake,
        `#!/bin/sh
case "$*" in
  *pipe:1*) echo $$ > ${pidFile}; exec sleep 30 ;;
  *) echo "  Duration: 00:00:02.00, start: 0.000000, bitrate: 100 kb/s" >&2
     echo "  Stream #0:0: Video: mpeg4, yuv420p, 320x214, 6 fps" >&2; exit 1 ;;
esac
`
      )
      chmodSync(fake, 0o755)
      const video = join(dir, "clip.mp4")
      // Real MP4 bytes, so the file sniffs as a video; the fake never reads them.
      writeFileSync(
        video,
        Uint8Array.from([0, 0, 0, 24, ...Buffer.from("ftypisom"), 0, 0, 2, 0, ...Buffer.from("isomiso2")])
      )
      const started = Date.now()
      const exit = yield* Effect.scoped(
        Effect.flatMap(FaceDetector.make({ sessions: 1, ffmpegPath: fake }), (detector) =>
          Effect.exit(detector.detectVideo(video, { stallMs: 500 }))
        )
      )
      expect(Date.now() - started).toBeLessThan(10_000)
      expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error._tag).toBe("VideoDecodeFailed")
      expect(String(Exit.isFailure(exit) ? exit.cause : "")).toMatch(/ffmpeg produced no frame for 0.5 s/)
      const pid = Number(readFileSync(pidFile, "utf8").trim())
      // Killed with the decoding's scope (a zombie, if any, is already dead).
      yield* Effect.sleep("200 millis")
      let alive = true
      try {
        alive = !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"))
      } catch {
        alive = false
      }
      expect(alive).toBe(false)
    })
  )
})
