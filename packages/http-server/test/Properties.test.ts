/**
 * Property tests of the HTTP API (fast-check through `effect/FastCheck`, seeded so a failure replays): random JSON
 * bodies, random query strings, random casings of the key header and random bytes, sent to every route of a real
 * server on 127.0.0.1:0 (SQLite store, a fake detector that finds one face). Whatever arrives, the answer is the
 * envelope `{ code, message, data }` with a 2xx or a 4xx (or 455 / 505 where the wire says so), never a 500 and never
 * a hang, and the server is still healthy afterwards.
 */
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import * as Layer from "effect/Layer"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as MediaFetcher from "../src/MediaFetcher.js"
import type * as ServerConfig from "../src/ServerConfig.js"
import * as SqliteJobStore from "../src/SqliteJobStore.js"
import { fakeDetector, fakeFace, paths, photo, type Running, startServer, testKey } from "./support.js"

const seed = Number(process.env.FACEDET_PROPERTY_SEED ?? 20261204)
const runs = Number(process.env.FACEDET_PROPERTY_RUNS ?? 150)

let app: Running
beforeAll(async () => {
  const face = await fakeFace(0)
  const detector = fakeDetector({
    detectImage: () =>
      Effect.succeed({ kind: "image" as const, width: 200, height: 100, format: "jpeg" as const, faces: [face] })
  })
  app = await startServer(
    { rateLimitPerSecond: 0, allowPrivateUrls: false },
    {
      dependencies: (config: ServerConfig.ServerConfig) =>
        Layer.mergeAll(
          SqliteJobStore.layer({ dataDir: config.dataDir }),
          detector,
          MediaFetcher.layer({ allowPrivate: false })
        )
    }
  )
})
afterAll(() => app?.close())

const routes = [
  ["POST", paths.image],
  ["POST", paths.video],
  ["GET", paths.result],
  ["POST", paths.upload],
  ["GET", "/faces/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.jpg"],
  ["POST", "/api/v1/client/job/create-task"],
  ["GET", "/api/v1/client/job/task-info"],
  ["GET", "/nowhere"],
  ["DELETE", paths.result]
] as const

/** Answers a property accepts: success, the client's fault, or the wire's own unavailable / not-implemented codes. */
const acceptable = (status: number) =>
  (status >= 200 && status < 300) || (status >= 400 && status < 500) || status === 455 || status === 505

/** Sends one request and checks the answer's shape; resolves to the status. */
const send = async (
  method: string,
  path: string,
  init: { readonly headers?: Record<string, string>; readonly body?: string | Uint8Array; readonly query?: string }
) => {
  const res = await fetch(`${app.url}${path}${init.query ?? ""}`, {
    method,
    headers: init.headers ?? {},
    ...(init.body !== undefined && method !== "GET" ? { body: init.body } : {}),
    signal: AbortSignal.timeout(10_000)
  })
  const text = await res.text()
  expect(acceptable(res.status), `${method} ${path} -> ${res.status} ${text.slice(0, 200)}`).toBe(true)
  if (path.startsWith("/api/") || res.status >= 400) {
    const body = JSON.parse(text) as { code: unknown; message: unknown; data: unknown }
    expect(typeof body.code).toBe("number")
    expect(typeof body.message).toBe("string")
    expect("data" in body).toBe(true)
  }
  return res.status
}

const route = FastCheck.constantFrom(...routes)
/** The key header in any casing, the right key or a wrong one, or none. */
const keyHeader = FastCheck.record({
  name: FastCheck.constantFrom("x-api-key", "X-API-KEY", "X-Api-Key", "x-API-key"),
  value: FastCheck.constantFrom(testKey, "wrong-key-0123456789", ""),
  present: FastCheck.boolean()
})
const headersOf = (k: { name: string; value: string; present: boolean }, extra: Record<string, string> = {}) =>
  k.present ? { [k.name]: k.value, ...extra } : extra

describe("the API under random input", () => {
  it("random JSON bodies on every route: the envelope with a 2xx or 4xx, never a 500", async () => {
    await FastCheck.assert(
      FastCheck.asyncProperty(
        route,
        keyHeader,
        FastCheck.jsonValue({ maxDepth: 4 }),
        async ([method, path], k, json) => {
          await send(method, path, {
            headers: headersOf(k, { "content-type": "application/json" }),
            body: JSON.stringify(json)
          })
        }
      ),
      { seed, numRuns: runs }
    )
  }, 120_000)

  it("create bodies that look almost right: fields of every type, URLs of every shape", async () => {
    const url = FastCheck.oneof(
      FastCheck.webUrl(),
      FastCheck.string(),
      FastCheck.constantFrom("http://127.0.0.1/a.jpg", "http://[::1]/x", "file:///etc/passwd", "gopher://x", ""),
      FastCheck.integer(),
      FastCheck.constant(null)
    )
    const body = FastCheck.record(
      {
        image_url: url,
        video_url: url,
        callback_url: url,
        extra: FastCheck.jsonValue({ maxDepth: 2 })
      },
      { requiredKeys: [] }
    )
    await FastCheck.assert(
      FastCheck.asyncProperty(FastCheck.constantFrom(paths.image, paths.video), body, async (path, b) => {
        await send("POST", path, {
          headers: { "x-api-key": testKey, "content-type": "application/json" },
          body: JSON.stringify(b)
        })
      }),
      { seed, numRuns: runs }
    )
  }, 120_000)

  it("random query strings on the result call and random bytes on every route", async () => {
    const query = FastCheck.oneof(
      FastCheck.string({ maxLength: 60 }).map((s) => `?${s}`),
      FastCheck.dictionary(
        FastCheck.constantFrom("detect_task_id", "wait", "x", "detect_task_id[]", ""),
        FastCheck.string({ maxLength: 30 })
      ).map((d) => `?${new URLSearchParams(d).toString()}`),
      FastCheck.constantFrom(
        "?detect_task_id=%ZZ",
        "?wait=-1&detect_task_id=a",
        "?detect_task_id=a&detect_task_id=b",
        "?wait=1e309"
      )
    )
    await FastCheck.assert(
      FastCheck.asyncProperty(query, keyHeader, async (q, k) => {
        await send("GET", paths.result, { headers: headersOf(k), query: q })
      }),
      { seed, numRuns: runs }
    )
    const bytes = FastCheck.oneof(
      FastCheck.uint8Array({ maxLength: 512 }),
      // Real media, cut or bit-flipped.
      FastCheck.tuple(FastCheck.nat(20_000), FastCheck.nat(255)).map(([at, flip]) => {
        const b = Uint8Array.from(photo(1).subarray(0, 24_000))
        b[at % b.length] = (b[at % b.length] ?? 0) ^ flip
        return b.subarray(0, 1 + (at % b.length))
      })
    )
    await FastCheck.assert(
      FastCheck.asyncProperty(route, keyHeader, bytes, async ([method, path], k, b) => {
        await send(method, path, { headers: headersOf(k, { "content-type": "application/octet-stream" }), body: b })
      }),
      { seed, numRuns: runs }
    )
  }, 180_000)

  it("is still healthy and ready afterwards", async () => {
    expect((await fetch(`${app.url}/healthz`)).status).toBe(200)
    expect((await fetch(`${app.url}/readyz`)).status).toBe(200)
    expect(app.logs.filter((l) => /request failed|defect/i.test(l))).toEqual([])
  })
})
