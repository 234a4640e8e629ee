/**
 * A server whose inference workers die (the detector's test hook: the worker thread exits on one photo size): a
 * task whose worker died once still succeeds, a photo that kills every worker it meets ends `failed` with
 * `Detect.WorkerLost`, and the server stays ready and keeps serving other tasks.
 */
import { FaceDetector } from "@facedet/detector"
import * as Layer from "effect/Layer"
import sharp from "sharp"
import { afterEach, describe, expect, it } from "vitest"
import * as MediaFetcher from "../src/MediaFetcher.js"
import type * as ServerConfig from "../src/ServerConfig.js"
import * as SqliteJobStore from "../src/SqliteJobStore.js"
import { call, paths, photo, type Running, startServer, waitTerminal } from "./support.js"

/** 500 px wide: searched as one 333 px window, the width the fault aims at; other photos are not touched. */
const poisonWidth = 333
const poison = () => sharp(photo(1)).resize({ width: 500 }).jpeg().toBuffer()

let app: Running | undefined
afterEach(() => app?.close())

const start = (times: number) =>
  startServer(
    { rateLimitPerSecond: 0 },
    {
      dependencies: (config: ServerConfig.ServerConfig) =>
        Layer.mergeAll(
          SqliteJobStore.layer({ dataDir: config.dataDir }),
          FaceDetector.layer({
            sessions: 2,
            inferenceAttempts: 3,
            inferenceFault: { kind: "exit", width: poisonWidth, times }
          }),
          MediaFetcher.layer({ allowPrivate: true })
        )
    }
  )

/** Uploads `bytes`, creates an image task on the upload and waits for its end. */
const detect = async (base: string, bytes: Buffer) => {
  const up = await call(`${base}${paths.upload}`, { raw: bytes })
  expect(up.status).toBe(200)
  const created = await call(`${base}${paths.image}`, { body: { image_url: up.body.data.url } })
  expect(created.status).toBe(200)
  return waitTerminal(base, created.body.data.detect_task_id)
}

describe("crashed inference workers", { timeout: 120_000 }, () => {
  it("a worker lost once costs a retry: the task succeeds", async () => {
    app = await start(1)
    const ended = await detect(app.url, await poison())
    expect(ended.status).toBe("succeeded")
    expect(ended.result.faces.length).toBeGreaterThan(0)
    expect((await call(`${app.url}/readyz`)).status).toBe(200)
  })

  it("a photo that kills every worker ends failed with Detect.WorkerLost; the server stays ready", async () => {
    app = await start(1_000)
    const [poisoned, healthy] = await Promise.all([detect(app.url, await poison()), detect(app.url, photo(2))])
    expect(poisoned.status).toBe("failed")
    expect(poisoned.error.code).toBe("Detect.WorkerLost")
    expect(poisoned.error.message).toMatch(/crashed on this media 3 times/)
    expect(healthy.status).toBe("succeeded")
    expect((await call(`${app.url}/readyz`)).status).toBe(200)
    // The pool refilled: both sessions serve again.
    const after = await Promise.all([detect(app.url, photo(3)), detect(app.url, photo(4))])
    expect(after.map((d) => d.status)).toEqual(["succeeded", "succeeded"])
  })
})
