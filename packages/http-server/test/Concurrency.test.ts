/**
 * How many tasks run at once: `workers` in all, of which at most `heavyWorkers` heavy ones (videos, images over 4
 * megapixels); small images keep running beside them, and a video waiting for its turn keeps its lease.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import sharp from "sharp"
import {
  call,
  fakeDetector,
  fakeFace,
  makeMovingMedia,
  type Origin,
  paths,
  photo,
  startOrigin,
  startServer,
  waitTerminal,
  withDetector
} from "./support.js"

let origin: Origin
let big: Buffer
beforeAll(async () => {
  // 4.8 megapixels of one colour: large by its size, small on the wire.
  big = await sharp({ create: { width: 2400, height: 2000, channels: 3, background: "#777" } })
    .jpeg()
    .toBuffer()
  origin = await startOrigin({
    "/a.jpg": { body: photo(1) },
    "/big.jpg": { body: big },
    "/clip.mp4": { body: makeMovingMedia(photo(1)).mp4 }
  })
})
afterAll(() => origin.close())

describe("tasks at once", () => {
  it("at most heavyWorkers videos, while images run beside them", async () => {
    let videos = 0
    let images = 0
    let mostVideos = 0
    let mostAtOnce = 0
    let imagesBesideVideos = 0
    let videoRuns = 0
    const running = (kind: "image" | "video", work: Effect.Effect<void>) =>
      Effect.acquireUseRelease(
        Effect.sync(() => {
          if (kind === "video") {
            videos++
            videoRuns++
          } else {
            images++
            if (videos > 0) imagesBesideVideos++
          }
          mostVideos = Math.max(mostVideos, videos)
          mostAtOnce = Math.max(mostAtOnce, videos + images)
        }),
        () => work,
        () => Effect.sync(() => (kind === "video" ? videos-- : images--))
      )
    const face = await fakeFace(0)
    const detector = fakeDetector({
      detectImage: () =>
        Effect.as(running("image", Effect.sleep("100 millis")), {
          kind: "image" as const,
          width: 200,
          height: 100,
          format: "jpeg" as const,
          faces: [face]
        }),
      detectVideo: () =>
        Effect.as(running("video", Effect.sleep("600 millis")), {
          kind: "video" as const,
          width: 200,
          height: 100,
          format: "mp4" as const,
          durationMs: 2000,
          framesSampled: 10,
          faces: [{ ...face, first_seen_ms: 0, last_seen_ms: 1800, appearances: [[0, 1800]] as const }]
        })
    })
    const server = await startServer(
      // A lease shorter than the last video's wait (1.2 s): a video waiting for its turn must renew it, or the reaper
      // would hand it on and it would run twice.
      { workers: 4, heavyWorkers: 1, allowPrivateUrls: true, leaseMs: 1_000 },
      { dependencies: withDetector(detector) }
    )
    try {
      const create = async (kind: "image" | "video", path: string) => {
        const r = await call(`${server.url}${kind === "image" ? paths.image : paths.video}`, {
          body: { [`${kind}_url`]: `${origin.url}${path}` }
        })
        expect(r.status).toBe(200)
        return r.body.data.detect_task_id as string
      }
      const ids = [
        ...(await Promise.all([1, 2, 3].map(() => create("video", "/clip.mp4")))),
        ...(await Promise.all([1, 2, 3, 4, 5, 6].map(() => create("image", "/a.jpg"))))
      ]
      for (const id of ids) expect((await waitTerminal(server.url, id)).status).toBe("succeeded")
      expect(mostVideos).toBe(1)
      expect(videoRuns).toBe(3)
      expect(imagesBesideVideos).toBeGreaterThan(0)
      expect(mostAtOnce).toBeGreaterThan(1)
      expect(mostAtOnce).toBeLessThanOrEqual(4)
      // Each task ran once: a lost lease would have run a video twice and shown it in the log.
      expect(server.logs.filter((l) => /lease lost/.test(l))).toEqual([])
    } finally {
      await server.close()
    }
  })

  it("at most heavyWorkers images over 4 megapixels, while small ones run beside them", async () => {
    let large = 0
    let small = 0
    let mostLarge = 0
    let smallBesideLarge = 0
    const face = await fakeFace(0)
    const detector = fakeDetector({
      detectImage: (bytes) => {
        const isLarge = bytes.length === big.length
        return Effect.acquireUseRelease(
          Effect.sync(() => {
            if (isLarge) large++
            else {
              small++
              if (large > 0) smallBesideLarge++
            }
            mostLarge = Math.max(mostLarge, large)
          }),
          () => Effect.sleep(isLarge ? "300 millis" : "100 millis"),
          () => Effect.sync(() => (isLarge ? large-- : small--))
        ).pipe(Effect.as({ kind: "image" as const, width: 200, height: 100, format: "jpeg" as const, faces: [face] }))
      }
    })
    const server = await startServer(
      { workers: 4, heavyWorkers: 1, allowPrivateUrls: true },
      { dependencies: withDetector(detector) }
    )
    try {
      const create = async (path: string) => {
        const r = await call(`${server.url}${paths.image}`, { body: { image_url: `${origin.url}${path}` } })
        expect(r.status).toBe(200)
        return r.body.data.detect_task_id as string
      }
      const ids = [
        ...(await Promise.all([1, 2, 3].map(() => create("/big.jpg")))),
        ...(await Promise.all([1, 2, 3, 4, 5, 6].map(() => create("/a.jpg"))))
      ]
      for (const id of ids) expect((await waitTerminal(server.url, id)).status).toBe("succeeded")
      expect(mostLarge).toBe(1)
      expect(smallBesideLarge).toBeGreaterThan(0)
    } finally {
      await server.close()
    }
  })
})
