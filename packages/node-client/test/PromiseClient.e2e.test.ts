/**
 * End-to-end: the Promise API over the real `fetch` against a scripted HTTP server on 127.0.0.1.
 */
import * as Effect from "effect/Effect"
import { afterEach, describe, expect, it } from "vitest"
import {
  type ClientOptions,
  createFaceDetClient,
  FaceDetClient,
  FaceDetError,
  isDetectionFailed,
  isFaceDetError,
  isRateLimited,
  isWaitTimeout
} from "../src/index.js"
import { fixtures, resultWith, succeededFor } from "./support/fixtures.js"
import {
  closedPort,
  envelope,
  type Handler,
  type Reply as Answer,
  type Scripted as ScriptedServer,
  start as startServer
} from "@facedet/testkit/ScriptedServer"

const taskId = "dit60yt8reqplt1c16"
const imageUrl = "https://example.com/group-photo.png"

const servers: Array<ScriptedServer> = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

/** Fast schedules so real sleeps stay in the milliseconds. */
const fast = { retry: { initialDelay: 5, maxDelay: 20 }, poll: { initialDelay: 5, maxDelay: 20 } } as const

const serve = async (handler: Handler, options: Partial<ClientOptions> = {}) => {
  const server = await startServer(handler)
  servers.push(server)
  const client = createFaceDetClient({ apiKey: "sk-test", baseUrl: server.url, ...fast, ...options })
  return { server, client }
}

/** The rejection of a promise (the test fails when it resolves). */
const rejection = async (promise: Promise<unknown>): Promise<FaceDetError> => {
  const outcome = await promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error })
  )
  if (outcome.ok) throw new Error(`expected a rejection, got ${JSON.stringify(outcome.value)}`)
  expect(outcome.error).toBeInstanceOf(Error)
  expect(outcome.error instanceof FaceDetError).toBe(true)
  return outcome.error as FaceDetError
}

const ok = (data: unknown, headers?: Record<string, string>): Exclude<Answer, string> => ({
  body: envelope(200, "success", data),
  ...(headers ? { headers } : {})
})

describe("Promise API end to end", () => {
  it("detects an image: create, then poll until succeeded, with the documented requests", async () => {
    const { client, server } = await serve((req, _server, i) =>
      req.method === "POST"
        ? { body: fixtures.createOk }
        : { body: i < 2 ? fixtures.resultProcessing : succeededFor(taskId) }
    )
    const statuses: Array<string> = []
    const done = await client.detectFaces({ imageUrl }, { onUpdate: (s) => statuses.push(s.status) })
    expect(done.result.id).toBe("m1oZzqYp9dN")
    expect(done.result.faces.map((f) => f.id)).toEqual([0, 1])
    expect(statuses).toEqual(["processing", "succeeded"])
    const [create, poll] = server.requests
    expect(create?.path).toBe("/api/v1/client/job/detect-face-image")
    expect(JSON.parse(create!.body.toString())).toEqual({ image_url: imageUrl })
    expect(create?.headers["content-type"]).toMatch(/^application\/json/)
    expect(create?.headers["x-api-key"]).toBe("sk-test")
    expect(create?.headers.accept).toBe("application/json")
    expect(create?.headers["user-agent"]).toBe("facedet-node-client/0.0.0")
    expect(poll?.query.get("detect_task_id")).toBe(taskId)
  })

  it("returns each call's data as on the wire", async () => {
    const { client } = await serve((req) =>
      req.method === "POST" ? { body: fixtures.createOk } : { body: fixtures.resultFailed }
    )
    expect(await client.detectImage(imageUrl)).toEqual(fixtures.createOk.data)
    expect(await client.detectVideo("https://example.com/a.mp4")).toEqual(fixtures.createOk.data)
    expect(await client.getResult("dit9ka6i5qoc519iv0")).toEqual(fixtures.resultFailed.data)
  })

  it("rejects with each code's tag, message and code", async () => {
    const codes: ReadonlyArray<readonly [number, string]> = [
      [401, "Unauthorized"],
      [402, "InsufficientCredits"],
      [404, "NotFound"],
      [422, "ValidationError"],
      [429, "RateLimited"],
      [455, "ServiceUnavailable"],
      [500, "ServerError"],
      [501, "GenerationFailed"],
      [505, "FeatureDisabled"]
    ]
    for (const [code, tag] of codes) {
      const { client } = await serve(() => ({ status: code, body: envelope(code, `server says ${code}`) }), {
        maxRetries: 0
      })
      const error = await rejection(client.detectImage(imageUrl))
      expect(error._tag).toBe(tag)
      expect(error.message).toBe(`server says ${code}`)
      expect("code" in error && error.code).toBe(code)
    }
  })

  it("honours Retry-After on a 429 and keeps the Idempotency-Key across the retry", async () => {
    const { client, server } = await serve((_req, _server, i) =>
      i === 0
        ? { status: 429, headers: { "retry-after": "1" }, body: envelope(429, "slow down") }
        : { body: fixtures.createOk }
    )
    expect(await client.detectImage(imageUrl)).toEqual({ detect_task_id: taskId })
    expect(server.requests).toHaveLength(2)
    const keys = server.requests.map((r) => r.headers["idempotency-key"])
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/)
    expect(keys[1]).toBe(keys[0])
  })

  it("hands a Retry-After too long to wait back to the caller, and HTTP 200 with code 429 is a rate limit", async () => {
    const { client, server } = await serve(() => ({
      headers: { "retry-after": "3600" },
      body: envelope(429, "quota exhausted for the hour")
    }))
    const error = await rejection(client.getResult(taskId))
    expect(isRateLimited(error) && error.retryAfterMs).toBe(3_600_000)
    expect(isRateLimited(error) && error.httpStatus).toBe(200)
    expect(server.requests).toHaveLength(1)
  })

  it("reads an HTML 502 from a proxy as a retryable ServerError", async () => {
    const { client, server } = await serve(() => ({ status: 502, body: "<html><h1>502 Bad Gateway</h1></html>" }))
    const error = await rejection(client.getResult(taskId))
    expect(error._tag).toBe("ServerError")
    expect(error._tag === "ServerError" && error.httpStatus).toBe(502)
    expect(server.requests).toHaveLength(3)
  })

  it("rejects malformed JSON with a DecodeError, without retrying", async () => {
    const { client, server } = await serve(() => ({ status: 200, body: "{ not json" }))
    const error = await rejection(client.getResult(taskId))
    expect(error._tag).toBe("DecodeError")
    expect(server.requests).toHaveLength(1)
  })

  it("tries a persistent 500 three times with maxRetries 2 on a read, once on a create", async () => {
    const { client, server } = await serve(() => ({ status: 500, body: envelope(500, "internal") }), { maxRetries: 2 })
    expect((await rejection(client.getResult(taskId)))._tag).toBe("ServerError")
    expect(server.requests).toHaveLength(3)
    expect((await rejection(client.detectImage(imageUrl)))._tag).toBe("ServerError")
    expect(server.requests).toHaveLength(4)
  })

  it("rejects a failed task with DetectionFailed carrying the Chinese message verbatim; getResult resolves it", async () => {
    const { client } = await serve((req) =>
      req.method === "POST" ? { body: fixtures.createOk } : { body: fixtures.resultFailed }
    )
    const error = await rejection(client.detectFaces({ imageUrl }))
    expect(isDetectionFailed(error)).toBe(true)
    if (!isDetectionFailed(error)) return
    expect(error.code).toBe("FaceSwap.Detect.Failed")
    expect(error.taskMessage).toBe("[任务NDm40D2DQp6] 未检测到人脸,源文件未检测到人脸")
    expect(error.message).toContain("未检测到人脸")
    expect((await client.getResult("dit9ka6i5qoc519iv0")).status).toBe("failed")
  })

  it("gives up at the wait deadline with WaitTimeout carrying the task id to resume with", async () => {
    const { client } = await serve(() => ({ body: resultWith("processing") }))
    const error = await rejection(client.waitForResult(taskId, { timeoutMs: 300 }))
    expect(isWaitTimeout(error)).toBe(true)
    expect(isWaitTimeout(error) && [error.detectTaskId, error.lastStatus, error.timeoutMs]).toEqual([
      taskId,
      "processing",
      300
    ])
  })

  it("times a request out after timeoutMs with a TransportError", async () => {
    const { client } = await serve(() => "hang", { timeoutMs: 200, maxRetries: 0 })
    const error = await rejection(client.getResult(taskId))
    expect(error._tag === "TransportError" && error.reason).toBe("Timeout")
  })

  it("an abort during a backoff sleep rejects at once with Aborted (the Retry-After is 55 s)", async () => {
    const { client, server } = await serve(() => ({
      status: 429,
      headers: { "retry-after": "55" },
      body: envelope(429, "slow down")
    }))
    const controller = new AbortController()
    const pending = rejection(client.detectImage(imageUrl, { signal: controller.signal }))
    await server.received(1)
    controller.abort()
    const error = await pending
    expect(error._tag === "TransportError" && [error.reason, error.requestSent]).toEqual(["Aborted", true])
    expect(FaceDetError.isRetryable(error)).toBe(false)
    expect(server.requests).toHaveLength(1)
  })

  it("an abort during a poll sleep or a request ends the wait; an aborted signal sends nothing", async () => {
    const { client, server } = await serve(() => ({ body: fixtures.resultProcessing }), {
      poll: { initialDelay: 60_000 }
    })
    const controller = new AbortController()
    const pending = rejection(client.waitForResult(taskId, { signal: controller.signal }))
    await server.received(1)
    controller.abort(new Error("user pressed ctrl-c"))
    const error = await pending
    expect(error._tag === "TransportError" && error.reason).toBe("Aborted")
    const hanging = await serve(() => "hang")
    const inFlight = new AbortController()
    const request = rejection(hanging.client.getResult(taskId, { signal: inFlight.signal }))
    await hanging.server.received(1)
    inFlight.abort()
    expect((await request)._tag).toBe("TransportError")
    const error2 = await rejection(client.getResult(taskId, { signal: AbortSignal.abort() }))
    expect(error2._tag === "TransportError" && [error2.reason, error2.requestSent]).toEqual(["Aborted", false])
    expect(server.requests).toHaveLength(1)
  })

  it("long-polls a server that advertises it: one result request per wait", async () => {
    let doneAt = 0
    const { client, server } = await serve((req) => {
      const headers = { "x-facedet-long-poll": "30" }
      if (req.method === "POST") {
        doneAt = Date.now() + 150
        return ok({ detect_task_id: taskId }, headers)
      }
      const finished = Date.now() >= doneAt
      const wait = Number(req.query.get("wait") ?? 0)
      // Hold until the task ends (the facedet server's behaviour), within `wait`.
      return finished || wait === 0
        ? ok((finished ? succeededFor(taskId) : resultWith("processing")).data, headers)
        : { ...ok(succeededFor(taskId).data, headers), delayMs: Math.max(0, doneAt - Date.now()) }
    })
    const done = await client.detectFaces({ imageUrl })
    expect(done.status).toBe("succeeded")
    expect(server.requests.map((r) => [r.method, r.query.get("wait")])).toEqual([
      ["POST", null],
      ["GET", "30"]
    ])
  })

  it("uploads media bytes to a facedet server, and gets a typed NotFound from one without the call", async () => {
    const { client, server } = await serve((req) =>
      req.path === "/api/v1/client/upload" ? ok({ url: "http://127.0.0.1/u/abc.png" }) : { status: 404, body: "no" }
    )
    const bytes = new Uint8Array([137, 80, 78, 71])
    expect(await client.uploadMedia(bytes, "image/png")).toEqual({ url: "http://127.0.0.1/u/abc.png" })
    expect(server.requests[0]?.headers["content-type"]).toBe("image/png")
    expect([...server.requests[0]!.body]).toEqual([137, 80, 78, 71])
    const crun = await serve(() => ({ status: 404, body: envelope(404, "Not Found") }))
    expect((await rejection(crun.client.uploadMedia(bytes, "image/png")))._tag).toBe("NotFound")
  })

  it("a refused connection is a TransportError before sending, retried even for a create", async () => {
    const client = createFaceDetClient({ apiKey: "k", baseUrl: await closedPort(), ...fast })
    const error = await rejection(client.detectImage(imageUrl))
    expect(error._tag === "TransportError" && [error.reason, error.requestSent]).toEqual(["Connect", false])
  })

  it("a dropped connection after sending is not retried for a create", async () => {
    const { client, server } = await serve(() => "drop")
    const error = await rejection(client.detectImage(imageUrl))
    expect(error._tag === "TransportError" && error.requestSent).toBe(true)
    expect(server.requests).toHaveLength(1)
  })

  it("an exception from the caller's onUpdate rejects the call as is", async () => {
    const { client } = await serve(() => ({ body: fixtures.resultProcessing }))
    const boom = new Error("my callback broke")
    await expect(
      client.waitForResult(taskId, {
        onUpdate: () => {
          throw boom
        }
      })
    ).rejects.toBe(boom)
  })

  it("throws a ValidationError for a missing key, before any request", () => {
    let thrown: unknown
    try {
      createFaceDetClient({ apiKey: "" })
    } catch (e) {
      thrown = e
    }
    expect(isFaceDetError(thrown)).toBe(true)
    expect(thrown instanceof FaceDetError && thrown._tag).toBe("ValidationError")
  })

  it("a bad timeoutMs is named timeoutMs, as the caller wrote it", async () => {
    let thrown: unknown
    try {
      createFaceDetClient({ apiKey: "k", timeoutMs: 0 })
    } catch (e) {
      thrown = e
    }
    expect(thrown instanceof FaceDetError && thrown.message).toBe("timeoutMs: must be a positive, finite duration")
    const { client, server } = await serve(() => ({ body: fixtures.resultProcessing }))
    const error = await rejection(client.waitForResult(taskId, { timeoutMs: -5 }))
    expect(error._tag === "ValidationError" && error.issues.map((i) => i.path)).toEqual(["timeoutMs"])
    expect(server.requests).toHaveLength(0)
  })

  it("serverInfo: one request to tell a facedet server, none once an answer was seen", async () => {
    const facedet = await serve(() => ({
      status: 404,
      headers: { "x-facedet-long-poll": "30" },
      body: envelope(404, "no detection task facedet-probe")
    }))
    expect(await facedet.client.serverInfo()).toEqual({ facedet: true, longPollSeconds: 30 })
    expect(await facedet.client.serverInfo()).toEqual({ facedet: true, longPollSeconds: 30 })
    expect(facedet.server.requests).toHaveLength(1)
    const other = await serve(() => ({ status: 404, body: envelope(404, "Not Found") }))
    expect((await other.client.serverInfo()).facedet).toBe(false)
    const unreachable = createFaceDetClient({ apiKey: "k", baseUrl: await closedPort(), ...fast })
    const error = await rejection(unreachable.serverInfo())
    expect(error._tag === "TransportError" && error.reason).toBe("Connect")
  })
})

describe("Promise API through a custom fetch (the fetch layer)", () => {
  it("calls it as a plain function, never as a method (Cloudflare Workers reject that)", async () => {
    const server = await startServer(() => ({ body: fixtures.resultSucceeded }))
    servers.push(server)
    const calls: Array<unknown> = []
    const plainFetch = function (this: unknown, ...args: Parameters<typeof fetch>) {
      calls.push(this)
      if (this !== undefined) throw new TypeError("Illegal invocation")
      return fetch(...args)
    }
    const client = createFaceDetClient({ apiKey: "k", baseUrl: server.url, fetch: plainFetch as typeof fetch })
    expect((await client.getResult(taskId)).status).toBe("succeeded")
    expect(calls).toEqual([undefined])
  })
})

describe("Effect API through the fetch layer", () => {
  it("FaceDetClient.layerFetch runs a detection against a server", async () => {
    const server = await startServer((req) =>
      req.method === "POST" ? { body: fixtures.createOk } : { body: succeededFor(taskId) }
    )
    servers.push(server)
    const program = Effect.flatMap(FaceDetClient.FaceDetClient, (client) => client.detectFaces({ imageUrl }))
    const done = await Effect.runPromise(
      program.pipe(Effect.provide(FaceDetClient.layerFetch({ apiKey: "k", baseUrl: server.url, ...fast })))
    )
    expect(done.result.id).toBe("m1oZzqYp9dN")
    expect(server.requests.map((r) => r.method)).toEqual(["POST", "GET"])
  })
})

describe("FaceDetError identity", () => {
  it("instanceof and the guards go by _tag, so errors from another copy of the packages match", () => {
    const foreign = Object.assign(new Error("from another copy"), { _tag: "RateLimited", retryAfterMs: 5 })
    expect(foreign instanceof FaceDetError).toBe(true)
    expect(isRateLimited(foreign)).toBe(true)
    expect(FaceDetError.is("RateLimited")(foreign)).toBe(true)
    expect(FaceDetError.is("NotFound")(foreign)).toBe(false)
    expect(new Error("plain") instanceof FaceDetError).toBe(false)
    expect(Object.assign(new Error("x"), { _tag: "SomethingElse" }) instanceof FaceDetError).toBe(false)
    expect(FaceDetError.tags).toHaveLength(14)
  })
})
