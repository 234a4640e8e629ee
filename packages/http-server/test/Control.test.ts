/**
 * The server's protective behaviour, over real HTTP with a fake detector the test controls: SSRF refusals through
 * the API (the origin proves it was never contacted), rate limits, the queue bound, the per-task hard timeout and
 * the graceful drain.
 */
import * as Worker from "../src/Worker.js"
import { existsSync, readdirSync } from "node:fs"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { JobStore, StoreError } from "../src/JobStore.js"
import * as MediaFetcher from "../src/MediaFetcher.js"
import * as SqliteJobStore from "../src/SqliteJobStore.js"
import {
  call,
  createImage,
  fakeDetector,
  fakeFace,
  type Origin,
  otherKey,
  paths,
  photo,
  type Running,
  rawRequest,
  startOrigin,
  startServer,
  tempDir,
  testKey,
  waitTerminal
} from "./support.js"

let origin: Origin
let app: Running
/** How the fake detector behaves: it waits for `gate`, then `delayMs`, then finds two faces. */
let mode: { gate: Promise<void>; delayMs: number } = { gate: Promise.resolve(), delayMs: 0 }
let openGate = () => {}
const closeGate = () => {
  mode = {
    ...mode,
    gate: new Promise<void>((resolve) => {
      openGate = resolve
    })
  }
}
let faces: Array<Awaited<ReturnType<typeof fakeFace>>>
/** Reading this task fails inside the store (a disk error whose message names a private path). */
const brokenTaskId = "brokenbrokenbroken"

/** The store, except that reading `brokenTaskId` fails. */
const storeWithABadSector = (dataDir: string) =>
  Layer.effect(
    JobStore,
    Effect.map(JobStore, (store) => ({
      ...store,
      get: (id: string) =>
        id === brokenTaskId
          ? Effect.fail(
              new StoreError({ operation: "get", cause: new Error("disk I/O error in /srv/secret/jobs.sqlite") })
            )
          : store.get(id)
    }))
  ).pipe(Layer.provide(SqliteJobStore.layer({ dataDir })))

const detectorLayer = () =>
  fakeDetector({
    detectImage: () =>
      Effect.promise(() => mode.gate).pipe(
        Effect.zipRight(Effect.sleep(mode.delayMs)),
        Effect.as({ kind: "image" as const, width: 100, height: 100, format: "jpeg" as const, faces })
      )
  })

beforeAll(async () => {
  faces = [await fakeFace(0), await fakeFace(1)]
  origin = await startOrigin({ "/face.jpg": { body: photo(1) } })
  // Every name resolves to the loopback origin: the DNS answer, not the spelling, must be refused.
  const lookup: MediaFetcher.Lookup = async () => [{ address: "127.0.0.1", family: 4 }]
  app = await startServer(
    {
      allowPrivateUrls: false,
      workers: 1,
      queueSize: 3,
      imageTimeoutMs: 1500,
      rateLimitPerSecond: 1,
      rateLimitBurst: 100,
      shutdownGraceMs: 5000,
      maxImageBytes: 1024 * 1024,
      maxVideoBytes: 2 * 1024 * 1024
    },
    {
      dependencies: (config) =>
        Layer.mergeAll(
          storeWithABadSector(config.dataDir),
          detectorLayer(),
          MediaFetcher.layer({ allowPrivate: false, lookup })
        )
    }
  )
})

afterAll(async () => {
  await app?.close()
  await origin?.close()
})

const url = (path: string) => `${app.url}${path}`

describe("SSRF through the API", () => {
  it("refuses loopback and private addresses in many spellings at create, without contacting them", async () => {
    const port = origin.port
    const spellings = [
      `http://127.0.0.1:${port}/face.jpg`,
      `http://127.1:${port}/face.jpg`,
      `http://2130706433:${port}/face.jpg`,
      `http://0x7f000001:${port}/face.jpg`,
      `http://0177.0.0.1:${port}/face.jpg`,
      `http://[::1]:${port}/face.jpg`,
      `http://[::ffff:127.0.0.1]:${port}/face.jpg`,
      `http://localhost:${port}/face.jpg`,
      "http://169.254.169.254/latest/meta-data/",
      "http://10.0.0.1/face.jpg",
      "http://[fd00:ec2::254]/face.jpg",
      "http://metadata.google.internal/computeMetadata/v1/"
    ]
    for (const spelling of spellings) {
      const r = await call(url(paths.image), { body: { image_url: spelling } })
      expect(r.status, spelling).toBe(422)
      expect(r.body.code, spelling).toBe(422)
      expect(r.body.message, spelling).toMatch(/image_url/)
    }
    expect(origin.totalHits()).toBe(0)
  })

  it("fails a public-looking name that resolves to a private address like any download failure, never connecting", async () => {
    const id = await createImage(app.url, `http://media.example.com:${origin.port}/face.jpg`)
    const data = await waitTerminal(app.url, id)
    expect(data.status).toBe("failed")
    // The same code and words as a name that does not exist: nothing tells an internal name from a missing one.
    expect(data.error).toEqual({ code: "Media.DownloadFailed", message: Worker.downloadFailedMessage })
    expect(origin.totalHits()).toBe(0)
  })
})

describe("limits", () => {
  it("answers 429 with Retry-After once a key's burst is spent; other keys are not affected", async () => {
    const answers = await Promise.all(
      Array.from({ length: 130 }, () => call(url(`${paths.result}?detect_task_id=x`), { key: otherKey }))
    )
    const limited = answers.filter((r) => r.status === 429)
    expect(limited.length).toBeGreaterThanOrEqual(20)
    for (const r of limited) {
      expect(r.body.code).toBe(429)
      expect(Number(r.headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
    }
    expect((await call(url(`${paths.result}?detect_task_id=x`))).status).toBe(404)
  })

  it("answers 429 with Retry-After when the queue is full, and times out a stuck task with Detect.Timeout", async () => {
    closeGate()
    const up = await call(url(paths.upload), { raw: photo(2) })
    expect(up.status).toBe(200)
    const ids = [
      await createImage(app.url, up.body.data.url),
      await createImage(app.url, up.body.data.url),
      await createImage(app.url, up.body.data.url)
    ]
    const full = await call(url(paths.image), { body: { image_url: up.body.data.url } })
    expect(full.status).toBe(429)
    expect(full.body.message).toMatch(/queue is full/)
    expect(Number(full.headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
    const first = await waitTerminal(app.url, ids[0]!)
    expect(first.status).toBe("failed")
    expect(first.error.code).toBe("Detect.Timeout")
    openGate()
    for (const id of ids.slice(1)) expect((await waitTerminal(app.url, id)).status).toBe("succeeded")
  })

  it("refuses request bodies over the JSON limit and uploads that are not media", async () => {
    const big = await call(url(paths.image), {
      raw: JSON.stringify({ image_url: `https://a.example/${"x".repeat(70_000)}` })
    })
    expect(big.status).toBe(422)
    const empty = await call(url(paths.upload), { raw: new Uint8Array(0) })
    expect(empty.status).toBe(422)
  })
})

describe("uploads over the limit", () => {
  it("refuses an upload that streams past the limit, and one whose Content-Length says so before a byte", async () => {
    const uploads = join(app.config.dataDir, "uploads")
    // A refused upload is removed before its answer, so no new file may remain once the three answers are in.
    const before = new Set(readdirSync(uploads))
    // No Content-Length (a stream): cut off once past 2 MiB, the partial file removed.
    const chunks = new ReadableStream({
      start(controller) {
        // A JPEG's first bytes, then filler: judged an image by its head, it streams on until the limit cuts it.
        for (let i = 0; i < 48; i++) {
          const chunk = new Uint8Array(64 * 1024).fill(0x5a)
          if (i === 0) chunk.set([0xff, 0xd8, 0xff, 0xe0])
          controller.enqueue(chunk)
        }
        controller.close()
      }
    })
    const streamed = await fetch(url(paths.upload), {
      method: "POST",
      headers: { "x-api-key": testKey },
      body: chunks,
      duplex: "half"
    } as RequestInit)
    expect(streamed.status).toBe(422)
    // An image stops at the image limit (1 MiB here), not at the larger video one.
    expect(((await streamed.json()) as { message: string }).message).toMatch(/larger than 1048576 bytes/)
    // Declared too large: answered at once, without waiting for (or storing) the body.
    const declared = await rawRequest(url(paths.upload), {
      method: "POST",
      headers: { "x-api-key": testKey, "content-length": 300 * 1024 * 1024 },
      body: Buffer.from([0xff, 0xd8, 0xff])
    })
    expect(declared.status).toBe(422)
    expect(declared.body).toMatchObject({ code: 422, data: null })
    // An image over the image limit but under the video one: refused once its format is known.
    const image = await call(url(paths.upload), {
      raw: Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(1024 * 1024 + 10)])
    })
    expect(image.status).toBe(422)
    expect(image.body.message).toMatch(/larger than 1048576 bytes/)
    expect(readdirSync(uploads).filter((f) => !before.has(f))).toEqual([])
  })
})

describe("server failures", () => {
  it("answers a store failure with a bare 500 envelope and logs the cause", async () => {
    const r = await call(url(`${paths.result}?detect_task_id=${brokenTaskId}`))
    expect(r.status).toBe(500)
    expect(r.body).toMatchObject({ code: 500, data: null })
    expect(r.body.message).not.toMatch(/secret|sqlite/)
    expect(app.logs.some((l) => l.includes("disk I/O error in /srv/secret/jobs.sqlite"))).toBe(true)
  })

  it("forgets a generated key when the start fails before the key could be shown", async () => {
    const taken = createServer()
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve))
    const dataDir = tempDir()
    try {
      await expect(
        startServer(
          { apiKeys: [], dataDir, port: (taken.address() as AddressInfo).port },
          {
            dependencies: (config) =>
              Layer.mergeAll(SqliteJobStore.layer({ dataDir: config.dataDir }), detectorLayer(), MediaFetcher.layer())
          }
        )
      ).rejects.toThrow(/port is already in use/)
      expect(existsSync(join(dataDir, "api-keys.json"))).toBe(false)
    } finally {
      taken.close()
    }
  })
})

describe("graceful drain", () => {
  it("refuses new tasks with 455 and Retry-After, fails readiness, and lets in-flight tasks finish", async () => {
    mode = { gate: Promise.resolve(), delayMs: 800 }
    const up = await call(url(paths.upload), { raw: photo(3) })
    const id = await createImage(app.url, up.body.data.url)
    // Wait until a worker holds it.
    for (let i = 0; i < 100; i++) {
      const r = await call(url(`${paths.result}?detect_task_id=${id}`))
      if (r.body.data.status === "processing") break
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    const drained = Effect.runPromise(app.server.drain)
    const refused = await call(url(paths.image), { body: { image_url: up.body.data.url } })
    expect(refused.status).toBe(455)
    expect(refused.body.code).toBe(455)
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
    expect((await call(url(paths.upload), { raw: photo(1) })).status).toBe(455)
    expect((await call(url("/readyz"), { key: null })).status).toBe(455)
    // Reads still work while in-flight work finishes.
    const during = await call(url(`${paths.result}?detect_task_id=${id}`))
    expect(during.status).toBe(200)
    await drained
    expect(app.logs.some((l) => l.includes("released"))).toBe(false)
    await app.close()
    const counts = SqliteJobStore.completionCounts(app.config.dataDir)
    expect(counts.get(id)).toBe(1)
  })
})
