/**
 * The server's test helpers: a loopback media origin that counts its hits, clips made with the detector's ffmpeg,
 * a server started in-process on port 0, a fake detector, and a clock that can be moved forward. Photos, the
 * no-face photo and temporary directories come from `@facedet/testkit`.
 */
import { createServer, type Server as NodeServer } from "node:http"
import type { AddressInfo } from "node:net"
import * as FaceDetector from "@facedet/detector/FaceDetector"
import { locateFfmpeg } from "@facedet/detector/VideoFrames"
import * as Clock from "effect/Clock"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import { tempDir } from "@facedet/testkit/Files"
import * as Media from "@facedet/testkit/Media"
import sharp from "sharp"
import type { JobStore } from "../src/JobStore.js"
import * as MediaFetcher from "../src/MediaFetcher.js"
import type { MediaFetcher as Fetcher } from "../src/MediaFetcher.js"
import * as Server from "../src/Server.js"
import * as ServerConfig from "../src/ServerConfig.js"
import * as SqliteJobStore from "../src/SqliteJobStore.js"

// The shared test media and temporary directories (@facedet/testkit), for the tests that import them from here.
export { noFacePhoto, photo } from "@facedet/testkit/Media"
export { tempDir }

/** An MP4 (2 s, 5 fps) and an animated GIF (1.5 s, 4 fps) of a photo, made with the detector's ffmpeg. */
export const makeMovingMedia = (source: Uint8Array): { readonly mp4: Buffer; readonly gif: Buffer } => {
  const ffmpeg = locateFfmpeg()
  if (!ffmpeg) throw new Error("ffmpeg is needed for the video tests (Debian's, or @ffmpeg-installer/ffmpeg)")
  return Media.movingMedia(ffmpeg, source)
}

/** A parsed answer body; tests check it field by field (and against core's zod schemas). */
// biome-ignore lint/suspicious/noExplicitAny: answers are asserted field by field
export type Json = any

/** A route of the media origin: a body (sent after `delayMs`), an endless-ish JPEG stream, or a stall. */
export type Route =
  | { readonly body: Buffer; readonly type?: string; readonly delayMs?: number }
  | { readonly stream: number; readonly type?: string }
  /** Sends the head and the first bytes of `body`, then nothing more (until the client gives up). */
  | { readonly stall: Buffer; readonly type?: string }

/** A loopback HTTP origin serving fixed bodies and counting requests per path. */
export interface Origin {
  readonly url: string
  readonly port: number
  readonly hits: Map<string, number>
  readonly totalHits: () => number
  readonly set: (path: string, route: Route) => void
  readonly close: () => Promise<void>
}

export const startOrigin = async (routes: Record<string, Route> = {}): Promise<Origin> => {
  const table = new Map(Object.entries(routes))
  const hits = new Map<string, number>()
  const server: NodeServer = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0]!
    hits.set(path, (hits.get(path) ?? 0) + 1)
    const route = table.get(path)
    if (!route) {
      res.writeHead(404).end("not found")
      return
    }
    if ("stall" in route) {
      res.writeHead(200, { "content-type": route.type ?? "image/jpeg", "content-length": route.stall.length })
      res.write(route.stall.subarray(0, 1024))
      res.on("error", () => {})
      return
    }
    if ("stream" in route) {
      // No Content-Length: the fetcher must count the bytes itself.
      res.writeHead(200, { "content-type": route.type ?? "image/jpeg" })
      const chunk = Buffer.alloc(64 * 1024, 0xff)
      chunk[0] = 0xff
      chunk[1] = 0xd8
      chunk[2] = 0xff
      let sent = 0
      const pump = () => {
        while (sent < route.stream) {
          sent += chunk.length
          if (!res.write(chunk)) return void res.once("drain", pump)
        }
        res.end()
      }
      res.on("error", () => {})
      pump()
      return
    }
    const send = () => res.writeHead(200, { "content-type": route.type ?? "image/jpeg" }).end(route.body)
    if (route.delayMs) setTimeout(send, route.delayMs)
    else send()
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    hits,
    totalHits: () => [...hits.values()].reduce((a, b) => a + b, 0),
    set: (path, route) => void table.set(path, route),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

/** A clock whose time can be moved forward (for expiry and retention), with real sleeps. */
export interface ShiftedClock {
  readonly clock: Clock.Clock
  readonly advance: (ms: number) => void
}

export const shiftedClock = (): ShiftedClock => {
  const base = Clock.make()
  let offset = 0
  const clock: Clock.Clock = {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: () => base.unsafeCurrentTimeMillis() + offset,
    unsafeCurrentTimeNanos: () => base.unsafeCurrentTimeNanos() + BigInt(offset) * 1_000_000n,
    currentTimeMillis: Effect.sync(() => base.unsafeCurrentTimeMillis() + offset),
    currentTimeNanos: Effect.sync(() => base.unsafeCurrentTimeNanos() + BigInt(offset) * 1_000_000n),
    sleep: (duration) => base.sleep(duration)
  }
  return {
    clock,
    advance: (ms) => {
      offset += ms
    }
  }
}

/** A detector whose `detectImage` / `detectVideo` the test decides. */
export const fakeDetector = (
  impl: Partial<Pick<FaceDetector.Service, "detectImage" | "detectVideo">>
): Layer.Layer<FaceDetector.FaceDetector> =>
  Layer.succeed(FaceDetector.FaceDetector, {
    detectImage: impl.detectImage ?? (() => Effect.die("detectImage not faked")),
    // The fake's faces come with their crops: the deferred form hands them back as they are.
    detectImageDeferringCrops: (bytes, options) =>
      Effect.map(impl.detectImage ? impl.detectImage(bytes, options) : Effect.die("detectImage not faked"), (d) => ({
        detection: { ...d, faces: d.faces.map(({ crop: _, ...face }) => face) },
        crops: Effect.succeed(d.faces.map((f) => f.crop ?? new Uint8Array(0)))
      })),
    detectVideo: impl.detectVideo ?? (() => Effect.die("detectVideo not faked")),
    embedChips: () => Effect.die("embedChips not faked"),
    encodeCrop: () => Effect.die("encodeCrop not faked"),
    options: FaceDetector.resolve({ sessions: 1 })
  })

/** Default store and fetcher (private addresses refused unless the config allows them), the given detector. */
export const withDetector =
  (detector: Layer.Layer<FaceDetector.FaceDetector>) =>
  (config: ServerConfig.ServerConfig): Layer.Layer<JobStore | FaceDetector.FaceDetector | Fetcher, unknown> =>
    Layer.mergeAll(
      SqliteJobStore.layer({ dataDir: config.dataDir }),
      detector,
      MediaFetcher.layer({ allowPrivate: config.allowPrivateUrls })
    )

/** A face as the detector reports it, with a tiny JPEG crop. */
export const fakeFace = async (id: number) => ({
  id,
  box: [10 + id * 50, 20, 40, 40] as const,
  score: 0.9,
  landmarks: {
    right_eye: [20, 30] as const,
    left_eye: [35, 30] as const,
    nose_tip: [28, 38] as const,
    mouth_center: [28, 48] as const,
    right_ear: [12, 34] as const,
    left_ear: [46, 34] as const
  },
  crop: new Uint8Array(
    await sharp({ create: { width: 8, height: 8, channels: 3, background: "#888" } })
      .jpeg()
      .toBuffer()
  )
})

export const testKey = "test-key-0123456789abcdef"
export const otherKey = "other-key-0123456789abcdef"

/** A server running in this process until `close`. */
export interface Running {
  readonly server: Server.Service
  readonly url: string
  readonly config: ServerConfig.ServerConfig
  readonly logs: Array<string>
  readonly close: () => Promise<void>
}

/** Starts a server on 127.0.0.1:0 over the given layers (the default dependencies otherwise). */
export const startServer = async (
  overrides: ServerConfig.Overrides,
  options: {
    readonly dependencies?: (
      config: ServerConfig.ServerConfig
    ) => Layer.Layer<JobStore | FaceDetector.FaceDetector | Fetcher, unknown>
    readonly clock?: Clock.Clock
    /** Environment variables the default dependencies read (`FACEDET_FETCH_*`...), on top of the process's. */
    readonly env?: Record<string, string>
    /** Callback dispatcher settings (a test resolver, no jitter, a fast poll). */
    readonly webhooks?: Server.Options["webhooks"]
  } = {}
): Promise<Running> => {
  const config = ServerConfig.make({ port: 0, dataDir: tempDir(), apiKeys: [testKey, otherKey], ...overrides })
  const logs: Array<string> = []
  const log = (line: string) => void logs.push(line)
  const deps = options.dependencies ? options.dependencies(config) : Server.dependencies(config)
  const layer = Server.layerWith(config, {
    log,
    pollMs: 200,
    ...(options.webhooks ? { webhooks: options.webhooks } : {})
  }).pipe(Layer.provide(deps)) as Layer.Layer<Server.Server, unknown>
  const scope = Effect.runSync(Scope.make())
  let build = Layer.buildWithScope(layer, scope)
  if (options.clock) build = Effect.withClock(build, options.clock)
  if (options.env) {
    const provider = ConfigProvider.fromMap(new Map(Object.entries(options.env)))
    build = Effect.withConfigProvider(
      build,
      ConfigProvider.orElse(provider, () => ConfigProvider.fromEnv())
    )
  }
  const context = await Effect.runPromise(build)
  const server = Context.get(context, Server.Server)
  return {
    server,
    url: server.url,
    config,
    logs,
    close: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

/** Calls the API: returns HTTP status, headers and the parsed body. */
export const call = async (
  url: string,
  init: {
    readonly method?: string
    readonly key?: string | null
    readonly body?: unknown
    readonly headers?: Record<string, string>
    readonly raw?: string | Uint8Array
  } = {}
): Promise<{ status: number; headers: Headers; body: Json }> => {
  const headers: Record<string, string> = { ...init.headers }
  if (init.key !== null) headers["x-api-key"] = init.key ?? testKey
  let body: string | Uint8Array | undefined = init.raw
  if (init.body !== undefined) {
    headers["content-type"] = "application/json"
    body = JSON.stringify(init.body)
  }
  const res = await fetch(url, {
    method: init.method ?? (body === undefined ? "GET" : "POST"),
    headers,
    ...(body !== undefined ? { body } : {})
  })
  const text = await res.text()
  let parsed: unknown = text
  try {
    parsed = JSON.parse(text)
  } catch {
    // not JSON
  }
  return { status: res.status, headers: res.headers, body: parsed }
}

export const paths = {
  image: "/api/v1/client/job/detect-face-image",
  video: "/api/v1/client/job/detect-face-video",
  result: "/api/v1/client/job/detect-face-result",
  upload: "/api/v1/client/upload"
} as const

/** A request written by hand (node:http): headers `fetch` will not send, such as a false Content-Length. */
export const rawRequest = (
  url: string,
  options: { readonly method: string; readonly headers: Record<string, string | number>; readonly body?: Buffer }
): Promise<{ status: number; headers: Record<string, unknown>; body: Json }> =>
  new Promise((resolve, reject) => {
    const req = require("node:http").request(url, { method: options.method, headers: options.headers })
    req.on("response", (res: import("node:http").IncomingMessage) => {
      let text = ""
      res.on("data", (chunk: Buffer) => {
        text += chunk.toString()
      })
      res.on("end", () => {
        let body: unknown = text
        try {
          body = JSON.parse(text)
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body })
      })
    })
    // The server may answer and close before the whole body is written.
    req.on("error", (e: NodeJS.ErrnoException) =>
      e.code === "EPIPE" || e.code === "ECONNRESET" ? undefined : reject(e)
    )
    if (options.body) req.write(options.body)
    req.end()
  })

/** Creates an image task; returns its id (asserting the create succeeded). */
export const createImage = async (base: string, imageUrl: string, key = testKey): Promise<string> => {
  const r = await call(`${base}${paths.image}`, { body: { image_url: imageUrl }, key })
  if (r.status !== 200) throw new Error(`create failed: ${r.status} ${JSON.stringify(r.body)}`)
  return r.body.data.detect_task_id as string
}

/** Long-polls until the task is terminal (30 s per call, up to `rounds` calls). */
export const waitTerminal = async (base: string, id: string, key = testKey, rounds = 8): Promise<Json> => {
  for (let i = 0; i < rounds; i++) {
    const r = await call(`${base}${paths.result}?detect_task_id=${id}&wait=30`, { key })
    if (r.status !== 200) throw new Error(`result failed: ${r.status} ${JSON.stringify(r.body)}`)
    if (r.body.data.status === "succeeded" || r.body.data.status === "failed") return r.body.data
  }
  throw new Error(`task ${id} did not end`)
}
