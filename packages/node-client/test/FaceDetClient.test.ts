import type { FaceDetError } from "@facedet/core"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { FaceDetClient } from "../src/index.js"
import { fixtures, resultWith, succeededFor } from "./support/fixtures.js"
import { envelope, json, makeStub, type Recorded, runAdvancing, type Script, sequence } from "./support/StubHttp.js"

const taskId = "dit60yt8reqplt1c16"
const imageUrl = "https://example.com/group-photo.png"

/** Builds the client over a stub and hands it, with the recorded requests, to `f`. */
const withClient = <A, E>(
  script: Script,
  f: (client: FaceDetClient.Service, requests: ReadonlyArray<Recorded>) => Effect.Effect<A, E>,
  options: Partial<FaceDetClient.Options> = {}
) => {
  const stub = makeStub(script)
  return FaceDetClient.make({ apiKey: "test-key", baseUrl: "https://api.test", ...options }).pipe(
    Effect.provide(stub.layer),
    Effect.flatMap((client) => f(client, stub.requests))
  )
}

/** The failure of an exit (the test fails when it succeeded or died). */
const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error(`expected a failure, got ${JSON.stringify(exit.value)}`)
  const failure = exit.cause._tag === "Fail" ? exit.cause.error : undefined
  if (failure === undefined) throw new Error(`expected a typed failure, got ${String(exit.cause)}`)
  return failure
}

const successOf = <A, E>(exit: Exit.Exit<A, E>): A => {
  if (Exit.isFailure(exit)) throw new Error(`expected a success, got ${String(exit.cause)}`)
  return exit.value
}

const gaps = (requests: ReadonlyArray<Recorded>) => requests.slice(1).map((r, i) => r.at - requests[i]!.at)

describe("FaceDetClient: requests", () => {
  it.effect("a create sends the documented body, the key, JSON accept, a User-Agent and an Idempotency-Key", () =>
    withClient(
      () => json(fixtures.createOk),
      (client, requests) =>
        Effect.gen(function* () {
          const data = yield* client.detectImage(`  ${imageUrl} `)
          expect(data).toEqual({ detect_task_id: taskId })
          const [request] = requests
          expect(request?.method).toBe("POST")
          expect(request?.url.href).toBe("https://api.test/api/v1/client/job/detect-face-image")
          expect(JSON.parse(request!.body)).toEqual({ image_url: imageUrl })
          expect(request?.headers["x-api-key"]).toBe("test-key")
          expect(request?.headers.accept).toBe("application/json")
          expect(request?.headers["user-agent"]).toBe("facedet-node-client/0.0.0")
          expect(request?.headers["idempotency-key"]).toMatch(/^[0-9a-f-]{36}$/)
        })
    )
  )

  it.effect("a video create goes to detect-face-video with video_url; a base path prefix is kept", () =>
    withClient(
      () => json(fixtures.createOk),
      (client, requests) =>
        Effect.gen(function* () {
          yield* client.detectVideo("https://example.com/clip.mp4")
          expect(requests[0]?.url.href).toBe("https://api.test/prefix/api/v1/client/job/detect-face-video")
          expect(JSON.parse(requests[0]!.body)).toEqual({ video_url: "https://example.com/clip.mp4" })
        }),
      { baseUrl: "https://api.test/prefix/" }
    )
  )

  it.effect("refuses a media URL that is not http(s) locally: a ValidationError, nothing sent", () =>
    withClient(
      () => json(fixtures.createOk),
      (client, requests) =>
        Effect.gen(function* () {
          const error = yield* Effect.flip(client.detectImage("file:///etc/passwd"))
          expect(error._tag).toBe("ValidationError")
          expect(error._tag === "ValidationError" && error.issues[0]?.path).toBe("image_url")
          const media = yield* Effect.flip(client.detectFaces({} as FaceDetClient.Media))
          expect(media._tag).toBe("ValidationError")
          expect(requests).toHaveLength(0)
        })
    )
  )

  it.effect("getResult asks for the task by query and returns each documented data object as on the wire", () =>
    Effect.gen(function* () {
      for (const body of [fixtures.resultProcessing, fixtures.resultSucceeded, fixtures.resultFailed]) {
        yield* withClient(
          () => json(body),
          (client, requests) =>
            Effect.gen(function* () {
              const data = yield* client.getResult(body.data.detect_task_id)
              expect(data).toEqual(body.data)
              expect(requests[0]?.url.pathname).toBe("/api/v1/client/job/detect-face-result")
              expect(requests[0]?.url.searchParams.get("detect_task_id")).toBe(body.data.detect_task_id)
              expect(requests[0]?.url.searchParams.has("wait")).toBe(false)
            })
        )
      }
    })
  )

  it.effect("keeps unknown fields of a newer server's answer", () =>
    withClient(
      () => json({ ...fixtures.resultSucceeded, data: { ...fixtures.resultSucceeded.data, region: "eu" } }),
      (client) =>
        Effect.map(client.getResult(taskId), (data) => {
          expect((data as Record<string, unknown>).region).toBe("eu")
        })
    )
  )

  it.effect("TaskInfo and CreateTask decode the documented swap bodies", () =>
    withClient(
      (request) => (request.path.endsWith("TaskInfo") ? json(fixtures.taskInfoRunning) : json(fixtures.swapCreateOk)),
      (client, requests) =>
        Effect.gen(function* () {
          const info = yield* client.getTaskInfo("d6956973-2f17-43d4-8514-af6cc3a2f55d")
          expect(info).toEqual(fixtures.taskInfoRunning.data)
          expect(requests[0]?.url.searchParams.get("task_id")).toBe("d6956973-2f17-43d4-8514-af6cc3a2f55d")
          const created = yield* client.createTask({
            model: "image-face-swap",
            input: { image_url: imageUrl, new_face: "https://example.com/face.jpg" }
          })
          expect(created).toEqual({ task_id: "task_12345678" })
          expect(requests[1]?.headers["idempotency-key"]).toBeDefined()
        })
    )
  )
})

describe("FaceDetClient: errors", () => {
  const cases: ReadonlyArray<readonly [number, FaceDetError.Tag]> = [
    [401, "Unauthorized"],
    [402, "InsufficientCredits"],
    [404, "NotFound"],
    [422, "ValidationError"],
    [429, "RateLimited"],
    [455, "ServiceUnavailable"],
    [500, "ServerError"],
    [501, "GenerationFailed"],
    [505, "FeatureDisabled"],
    [418, "UnknownApiError"]
  ]
  it.effect("each envelope code is its tag, with the server's message", () =>
    Effect.gen(function* () {
      for (const [code, tag] of cases) {
        const error = yield* withClient(
          () => envelope(code, `message for ${code}`),
          (client) => Effect.flip(client.getResult(taskId)),
          { maxRetries: 0 }
        )
        expect(error._tag).toBe(tag)
        expect(error.message).toBe(`message for ${code}`)
        expect("code" in error && error.code).toBe(code)
      }
    })
  )

  it.effect("the body's code wins over the HTTP status: HTTP 200 with code 429 is a rate limit", () =>
    withClient(
      () => json({ code: 429, message: "too many", data: null }, { headers: { "retry-after": "7" } }),
      (client) =>
        Effect.map(Effect.flip(client.getResult(taskId)), (error) => {
          expect(error._tag).toBe("RateLimited")
          expect(error._tag === "RateLimited" && error.httpStatus).toBe(200)
          expect(error._tag === "RateLimited" && error.retryAfterMs).toBe(7000)
        }),
      { maxRetries: 0 }
    )
  )

  it.effect("an HTML 502 from a proxy falls back to the HTTP status: a ServerError", () =>
    withClient(
      () => new Response("<html><body>502 Bad Gateway</body></html>", { status: 502 }),
      (client) =>
        Effect.map(Effect.flip(client.getResult(taskId)), (error) => {
          expect(error._tag).toBe("ServerError")
          expect(error._tag === "ServerError" && error.httpStatus).toBe(502)
        }),
      { maxRetries: 0 }
    )
  )

  it.effect("malformed JSON with HTTP 200 is a DecodeError with the body's start, and is not retried", () =>
    withClient(
      () => new Response('{"code":200,"message":"success","data":{"detect_task_id"', { status: 200 }),
      (client, requests) =>
        Effect.gen(function* () {
          const error = yield* Effect.flip(client.getResult(taskId))
          expect(error._tag).toBe("DecodeError")
          expect(error._tag === "DecodeError" && error.body).toContain('{"code":200')
          expect(requests).toHaveLength(1)
        })
    )
  )

  it.effect("a wrong shape is a DecodeError naming the field", () =>
    withClient(
      () => {
        const body = structuredClone(fixtures.resultSucceeded)
        ;(body.data.result.faces[1] as { id: unknown }).id = "one"
        return json(body)
      },
      (client) =>
        Effect.map(Effect.flip(client.getResult(taskId)), (error) => {
          expect(error._tag).toBe("DecodeError")
          expect(error._tag === "DecodeError" && error.path).toBe("data.result.faces.1.id")
        })
    )
  )

  it.effect("a succeeded status without its result is a DecodeError, not a crash", () =>
    withClient(
      () => json(resultWith("succeeded")),
      (client) =>
        Effect.map(Effect.flip(client.waitForResult(taskId)), (error) => expect(error._tag).toBe("DecodeError"))
    )
  )
})

describe("FaceDetClient: retries (TestClock)", () => {
  it.effect("a read retries a persistent 500: maxRetries 2 means 3 attempts, 500 ms then 1 s apart", () =>
    withClient(
      () => envelope(500, "boom"),
      (client, requests) =>
        Effect.gen(function* () {
          const exit = yield* runAdvancing(client.getResult(taskId), 50)
          expect(failureOf(exit)._tag).toBe("ServerError")
          expect(requests).toHaveLength(3)
          expect(gaps(requests)).toEqual([500, 1000])
        }),
      { retry: { jitter: false } }
    )
  )

  it.effect("a create is not retried on a 500 (billed work), unless the client opts in", () =>
    Effect.gen(function* () {
      const once = yield* withClient(
        () => envelope(500, "boom"),
        (client, requests) => Effect.map(runAdvancing(client.detectImage(imageUrl)), () => requests.length)
      )
      expect(once).toBe(1)
      const keys = yield* withClient(
        () => envelope(500, "boom"),
        (client, requests) =>
          Effect.map(runAdvancing(client.detectImage(imageUrl)), () =>
            requests.map((r) => r.headers["idempotency-key"])
          ),
        { retryCreates: true }
      )
      expect(keys).toHaveLength(3)
      expect(new Set(keys).size).toBe(1)
    })
  )

  it.effect("a create retries 429 and 455 after Retry-After, with the same Idempotency-Key", () =>
    withClient(
      sequence(
        () => envelope(429, "slow down", { "retry-after": "2" }),
        () => envelope(455, "maintenance", { "retry-after-ms": "300" }),
        () => json(fixtures.createOk)
      ),
      (client, requests) =>
        Effect.gen(function* () {
          const data = successOf(yield* runAdvancing(client.detectImage(imageUrl), 50))
          expect(data.detect_task_id).toBe(taskId)
          expect(gaps(requests)).toEqual([2000, 300])
          expect(new Set(requests.map((r) => r.headers["idempotency-key"])).size).toBe(1)
        })
    )
  )

  it.effect("two creates send two different Idempotency-Keys; a given key is sent as is", () =>
    withClient(
      () => json(fixtures.createOk),
      (client, requests) =>
        Effect.gen(function* () {
          yield* client.detectImage(imageUrl)
          yield* client.detectImage(imageUrl)
          yield* client.detectImage(imageUrl, { idempotencyKey: "my-key-1" })
          expect(requests[0]?.headers["idempotency-key"]).not.toBe(requests[1]?.headers["idempotency-key"])
          expect(requests[2]?.headers["idempotency-key"]).toBe("my-key-1")
          const bad = yield* Effect.flip(client.detectImage(imageUrl, { idempotencyKey: "has space" }))
          expect(bad._tag).toBe("ValidationError")
          expect(requests).toHaveLength(3)
        })
    )
  )

  it.effect("a create is retried when the connection was refused (nothing sent), not after a reset", () =>
    Effect.gen(function* () {
      const refused = yield* withClient(
        sequence(
          () => ({ transportCode: "ECONNREFUSED" }),
          () => json(fixtures.createOk)
        ),
        (client, requests) =>
          Effect.map(runAdvancing(client.detectImage(imageUrl)), (exit) => ({ exit, count: requests.length }))
      )
      expect(successOf(refused.exit).detect_task_id).toBe(taskId)
      expect(refused.count).toBe(2)
      const reset = yield* withClient(
        () => ({ transportCode: "ECONNRESET" }),
        (client, requests) =>
          Effect.map(runAdvancing(client.detectImage(imageUrl)), (exit) => ({ exit, count: requests.length }))
      )
      const error = failureOf(reset.exit)
      expect(error._tag === "TransportError" && [error.reason, error.requestSent]).toEqual(["Network", true])
      expect(reset.count).toBe(1)
    })
  )

  it.effect("a read is retried after a reset", () =>
    withClient(
      sequence(
        () => ({ transportCode: "ECONNRESET" }),
        () => json(fixtures.resultProcessing)
      ),
      (client, requests) =>
        Effect.map(runAdvancing(client.getResult(taskId)), (exit) => {
          expect(successOf(exit).status).toBe("processing")
          expect(requests).toHaveLength(2)
        })
    )
  )

  it.effect("a Retry-After over 60 s is not slept through: the RateLimited error comes back at once", () =>
    withClient(
      () => envelope(429, "come back later", { "retry-after": "120" }),
      (client, requests) =>
        Effect.map(runAdvancing(client.getResult(taskId)), (exit) => {
          const error = failureOf(exit)
          expect(error._tag === "RateLimited" && error.retryAfterMs).toBe(120_000)
          expect(requests).toHaveLength(1)
        })
    )
  )

  it.effect("a request with no answer times out after 30 s (a retryable TransportError for reads)", () =>
    withClient(
      () => "hang",
      (client, requests) =>
        Effect.gen(function* () {
          const exit = yield* runAdvancing(client.getResult(taskId), 1000)
          const error = failureOf(exit)
          expect(error._tag === "TransportError" && error.reason).toBe("Timeout")
          expect(error.message).toBe("no answer from api.test within 30s")
          expect(requests).toHaveLength(2)
          expect(requests[1]!.at - requests[0]!.at).toBeGreaterThanOrEqual(30_000)
        }),
      { maxRetries: 1 }
    )
  )
})

describe("FaceDetClient: waiting (TestClock)", () => {
  it.effect("polls on core's schedule until succeeded, reporting each new status once", () =>
    withClient(
      sequence(
        () => json(fixtures.resultProcessing),
        () => json(fixtures.resultProcessing),
        () => json(fixtures.resultProcessing),
        () => json(succeededFor("dit9ka6i5qoc519iv0"))
      ),
      (client, requests) =>
        Effect.gen(function* () {
          const seen: Array<string> = []
          const exit = yield* runAdvancing(
            client.waitForResult("dit9ka6i5qoc519iv0", { onUpdate: (s) => Effect.sync(() => seen.push(s.status)) }),
            25
          )
          expect(successOf(exit).result.id).toBe("m1oZzqYp9dN")
          expect(seen).toEqual(["processing", "succeeded"])
          // waitForResult asks at once, then waits 500 ms, 750 ms, 1125 ms (x1.5).
          expect(requests[0]?.at).toBe(0)
          expect(gaps(requests)).toEqual([500, 750, 1125])
        })
    )
  )

  it.effect("a failed task fails the wait with DetectionFailed, its code and Chinese message verbatim", () =>
    withClient(
      () => json(fixtures.resultFailed),
      (client) =>
        Effect.map(Effect.flip(client.waitForResult("dit9ka6i5qoc519iv0")), (error) => {
          expect(error._tag).toBe("DetectionFailed")
          if (error._tag !== "DetectionFailed") return
          expect(error.code).toBe("FaceSwap.Detect.Failed")
          expect(error.taskMessage).toBe("[任务NDm40D2DQp6] 未检测到人脸,源文件未检测到人脸")
          expect(error.detectTaskId).toBe("dit9ka6i5qoc519iv0")
        })
    )
  )

  it("detectionFailed reads the task's error, or the result's when only that is set", () => {
    const fromResult = FaceDetClient.detectionFailed({
      detect_task_id: taskId,
      status: "failed",
      result: { ...fixtures.resultSucceeded.data.result, error: { code: "Media.Corrupt", message: "图像已损坏" } },
      error: null
    })
    expect([fromResult.code, fromResult.taskMessage, fromResult.detectTaskId]).toEqual([
      "Media.Corrupt",
      "图像已损坏",
      taskId
    ])
    const none = FaceDetClient.detectionFailed({ detect_task_id: "", status: "failed" }, taskId)
    expect([none.code, none.detectTaskId]).toEqual(["Unknown", taskId])
  })

  it.effect("an unknown status keeps waiting (sleeping between polls) until the 5 min deadline", () =>
    withClient(
      () => json(resultWith("queued")),
      (client, requests) =>
        Effect.gen(function* () {
          const exit = yield* runAdvancing(client.waitForResult(taskId), 30_000)
          const error = failureOf(exit)
          expect(error._tag).toBe("WaitTimeout")
          if (error._tag !== "WaitTimeout") return
          expect(error.detectTaskId).toBe(taskId)
          expect(error.timeoutMs).toBe(300_000)
          expect(error.lastStatus).toBe("queued")
          // 500 ms growing to 5 s: about 65 polls in 5 minutes, not thousands.
          expect(requests.length).toBeGreaterThan(50)
          expect(requests.length).toBeLessThan(80)
          expect(Math.min(...gaps(requests))).toBeGreaterThanOrEqual(500)
        })
    )
  )

  it.effect("a status going backwards is a stale answer: ignored, not reported", () =>
    withClient(
      sequence(
        () => json(fixtures.resultProcessing),
        () => json(resultWith("starting")),
        () => json(succeededFor(taskId))
      ),
      (client) =>
        Effect.gen(function* () {
          const seen: Array<string> = []
          const exit = yield* runAdvancing(
            client.waitForResult(taskId, { onUpdate: (s) => Effect.sync(() => seen.push(s.status)) })
          )
          expect(successOf(exit).status).toBe("succeeded")
          expect(seen).toEqual(["processing", "succeeded"])
        })
    )
  )

  it.effect("a video detection's default deadline is 15 minutes; a given one replaces it", () =>
    withClient(
      (request) => (request.method === "POST" ? json(fixtures.createOk) : json(fixtures.resultProcessing)),
      (client) =>
        Effect.gen(function* () {
          const video = failureOf(yield* runAdvancing(client.detectFaces({ videoUrl: "https://e.com/a.gif" }), 60_000))
          expect(video._tag === "WaitTimeout" && video.timeoutMs).toBe(900_000)
          const custom = failureOf(yield* runAdvancing(client.waitForResult(taskId, { timeout: "10 seconds" }), 500))
          expect(custom._tag === "WaitTimeout" && custom.timeoutMs).toBe(10_000)
          const invalid = yield* Effect.flip(client.waitForResult(taskId, { timeout: -1 }))
          expect(invalid._tag).toBe("ValidationError")
        })
    )
  )

  it.effect("Duration.infinity waits past every default deadline", () =>
    withClient(
      (request) => (request.at < 16 * 60_000 ? json(fixtures.resultProcessing) : json(succeededFor(taskId))),
      (client) =>
        Effect.map(
          runAdvancing(client.waitForResult(taskId, { timeout: Duration.infinity, kind: "video" }), 60_000),
          (exit) => expect(successOf(exit).status).toBe("succeeded")
        )
    )
  )

  it.effect("interrupting a wait ends it during a sleep, without advancing the clock", () =>
    withClient(
      () => envelope(429, "slow down", { "retry-after": "30" }),
      (client, requests) =>
        Effect.gen(function* () {
          const fiber = yield* Effect.fork(client.detectFaces({ imageUrl }))
          yield* TestClock.adjust(Duration.millis(1))
          expect(requests).toHaveLength(1)
          const exit = yield* Fiber.interrupt(fiber)
          expect(Exit.isInterrupted(exit)).toBe(true)
          yield* TestClock.adjust(Duration.minutes(1))
          expect(requests).toHaveLength(1)
        })
    )
  )

  it.effect("a stream consumer that stops early stops the polling", () =>
    withClient(
      () => json(fixtures.resultProcessing),
      (client, requests) =>
        Effect.gen(function* () {
          const first = successOf(yield* runAdvancing(Stream.runCollect(Stream.take(client.watchResult(taskId), 1))))
          expect(Chunk.toReadonlyArray(first).map((s) => s.status)).toEqual(["processing"])
          const count = requests.length
          yield* TestClock.adjust(Duration.minutes(1))
          expect(requests.length).toBe(count)
        })
    )
  )

  it.effect("detectFaces creates, waits 500 ms, then polls; onCreated sees the task first", () =>
    withClient(
      sequence(
        () => json(fixtures.createOk),
        () => json(succeededFor(taskId))
      ),
      (client, requests) =>
        Effect.gen(function* () {
          const events: Array<string> = []
          const exit = yield* runAdvancing(
            client.detectFaces(
              { imageUrl },
              {
                onCreated: (c) => Effect.sync(() => events.push(`created ${c.detect_task_id}`)),
                onUpdate: (s) => Effect.sync(() => events.push(s.status))
              }
            ),
            50
          )
          expect(successOf(exit).result.faces).toHaveLength(2)
          expect(events).toEqual([`created ${taskId}`, "succeeded"])
          expect(gaps(requests)).toEqual([500])
        })
    )
  )

  it.effect("watchResult streams each new status and ends after the terminal one (failed included)", () =>
    Effect.gen(function* () {
      const ok = yield* withClient(
        sequence(
          () => json(resultWith("starting")),
          () => json(fixtures.resultProcessing),
          () => json(fixtures.resultProcessing),
          () => json(succeededFor(taskId))
        ),
        (client) => runAdvancing(Stream.runCollect(client.watchResult(taskId)))
      )
      expect(Chunk.toReadonlyArray(successOf(ok)).map((s) => s.status)).toEqual(["starting", "processing", "succeeded"])
      const failed = yield* withClient(
        () => json(fixtures.resultFailed),
        (client) => runAdvancing(Stream.runCollect(client.watchResult(taskId)))
      )
      expect(Chunk.toReadonlyArray(successOf(failed)).map((s) => s.error?.code)).toEqual(["FaceSwap.Detect.Failed"])
      const timedOut = yield* withClient(
        () => json(fixtures.resultProcessing),
        (client) => runAdvancing(Stream.runCollect(client.watchResult(taskId, { timeout: "3 seconds" })))
      )
      expect(failureOf(timedOut)._tag).toBe("WaitTimeout")
    })
  )

  it.effect("waitForTask follows TaskInfo until a terminal word and returns it (failed included)", () =>
    withClient(
      sequence(
        () => json(fixtures.taskInfoRunning),
        () => json({ ...fixtures.taskInfoRunning, data: { ...fixtures.taskInfoRunning.data, status: "failed" } })
      ),
      (client, requests) =>
        Effect.gen(function* () {
          const seen: Array<string> = []
          const exit = yield* runAdvancing(
            client.waitForTask("d6956973-2f17-43d4-8514-af6cc3a2f55d", {
              onUpdate: (s) => Effect.sync(() => seen.push(s.status))
            })
          )
          expect(successOf(exit).status).toBe("failed")
          expect(seen).toEqual(["running", "failed"])
          expect(requests.every((r) => !r.url.searchParams.has("wait"))).toBe(true)
        })
    )
  )
})

describe("FaceDetClient: long-polling (TestClock)", () => {
  const held = (reply: () => Response, headers: Record<string, string>) => (request: Recorded) =>
    request.method === "POST"
      ? json(fixtures.createOk, { headers })
      : Effect.as(Effect.sleep(request.url.searchParams.has("wait") ? "4 seconds" : "0 millis"), reply())

  it.effect("after a create that advertised it, the wait is one held request with wait=<seconds>", () =>
    withClient(
      held(() => json(succeededFor(taskId), { headers: { "x-facedet-long-poll": "30" } }), {
        "x-facedet-long-poll": "30"
      }),
      (client, requests) =>
        Effect.gen(function* () {
          const exit = yield* runAdvancing(client.detectFaces({ imageUrl }), 100)
          expect(successOf(exit).status).toBe("succeeded")
          expect(requests).toHaveLength(2)
          expect(requests[1]?.at).toBe(0)
          expect(requests[1]?.url.searchParams.get("wait")).toBe("30")
        })
    )
  )

  it.effect("a held answer still in flight is asked again at once; an early one waits the schedule", () =>
    withClient(
      (request, index) =>
        request.method === "POST"
          ? json(fixtures.createOk, { headers: { "x-facedet-long-poll": "20" } })
          : index === 1
            ? Effect.as(Effect.sleep("20 seconds"), json(fixtures.resultProcessing))
            : index === 2
              ? json(fixtures.resultProcessing)
              : json(succeededFor(taskId)),
      (client, requests) =>
        Effect.gen(function* () {
          successOf(yield* runAdvancing(client.detectFaces({ imageUrl }), 100))
          expect(requests.map((r) => r.at)).toEqual([0, 0, 20_000, 20_500])
          expect(requests.slice(1).map((r) => r.url.searchParams.get("wait"))).toEqual(["20", "20", "20"])
        })
    )
  )

  it.effect(
    "the wait never exceeds the remaining deadline, and a server that never advertised gets no wait param",
    () =>
      Effect.gen(function* () {
        const capped = yield* withClient(
          held(() => json(fixtures.resultProcessing), { "x-facedet-long-poll": "30" }),
          (client, requests) =>
            Effect.gen(function* () {
              yield* client.detectImage(imageUrl)
              yield* runAdvancing(client.waitForResult(taskId, { timeout: "12 seconds" }), 100)
              return requests.slice(1).map((r) => r.url.searchParams.get("wait"))
            })
        )
        expect(capped[0]).toBe("12")
        expect(capped.every((w) => w === null || Number(w) <= 12)).toBe(true)
        const plain = yield* withClient(
          sequence(
            () => json(fixtures.createOk),
            () => json(fixtures.resultProcessing),
            () => json(succeededFor(taskId))
          ),
          (client, requests) => Effect.as(runAdvancing(client.detectFaces({ imageUrl })), requests)
        )
        expect(plain).toHaveLength(3)
        expect(plain.some((r) => r.url.searchParams.has("wait"))).toBe(false)
      })
  )

  it.effect("an advertisement on a result answer is remembered by the client for later waits", () =>
    withClient(
      (request) =>
        Effect.as(
          Effect.sleep(request.url.searchParams.has("wait") ? "2 seconds" : "0 millis"),
          json(request.url.searchParams.has("wait") ? succeededFor(taskId) : fixtures.resultProcessing, {
            headers: { "x-facedet-long-poll": "25" }
          })
        ),
      (client, requests) =>
        Effect.gen(function* () {
          yield* client.getResult(taskId)
          successOf(yield* runAdvancing(client.waitForResult(taskId)))
          expect(requests.map((r) => r.url.searchParams.get("wait"))).toEqual([null, "25"])
        })
    )
  )
})

describe("FaceDetClient: multi-face swaps after detection", () => {
  const swap = (overrides: { detect_id?: string; image_url?: string; face_id?: number } = {}) => ({
    model: "image-face-swap-multi" as const,
    input: {
      detect_id: overrides.detect_id ?? "m1oZzqYp9dN",
      image_url: overrides.image_url ?? imageUrl,
      faces: [{ face_id: overrides.face_id ?? 0, target: "https://example.com/new-face-0.jpg" }]
    }
  })
  const script: Script = (request) =>
    request.path.endsWith("CreateTask")
      ? json(fixtures.swapCreateOk)
      : request.method === "POST"
        ? json(fixtures.createOk)
        : json(succeededFor(taskId))

  it.effect("sends a swap on the detected media within the hour, and refuses another URL or face locally", () =>
    withClient(script, (client, requests) =>
      Effect.gen(function* () {
        successOf(yield* runAdvancing(client.detectFaces({ imageUrl })))
        const known = Option.getOrThrow(yield* client.detection("m1oZzqYp9dN"))
        expect(known.mediaUrl).toBe(imageUrl)
        expect(known.faceIds).toEqual([0, 1])
        expect(known.expiresAt).toBe(3_600_000)
        expect(yield* client.createTask(swap())).toEqual({ task_id: "task_12345678" })
        const sent = requests.filter((r) => r.path.endsWith("CreateTask"))
        expect(JSON.parse(sent[0]!.body).input.detect_id).toBe("m1oZzqYp9dN")

        const other = yield* Effect.flip(client.createTask(swap({ image_url: "https://example.com/other.png" })))
        expect(other._tag === "ValidationError" && other.issues[0]?.path).toBe("input.image_url")
        const face = yield* Effect.flip(client.createTask(swap({ face_id: 5 })))
        expect(face._tag === "ValidationError" && face.issues[0]?.path).toBe("input.faces")
        expect(requests.filter((r) => r.path.endsWith("CreateTask"))).toHaveLength(1)
      })
    )
  )

  it.effect("dates a detect_id from the last in-flight sighting, for a task this client did not create too", () =>
    Effect.gen(function* () {
      const resumed = yield* withClient(
        sequence(
          () => json(fixtures.resultProcessing),
          () => json(succeededFor(taskId))
        ),
        (client) =>
          Effect.gen(function* () {
            yield* TestClock.adjust(Duration.seconds(10))
            successOf(yield* runAdvancing(client.waitForResult(taskId), 50))
            return Option.getOrThrow(yield* client.detection("m1oZzqYp9dN"))
          })
      )
      // The in-flight answer's request started at 10 s: the detect_id lives at least until 10 s + 1 h.
      expect([resumed.notBefore, resumed.expiresAt]).toEqual([10_000, 3_610_000])
      const found = yield* withClient(
        () => json(succeededFor(taskId)),
        (client) =>
          Effect.gen(function* () {
            yield* client.getResult(taskId)
            return Option.getOrThrow(yield* client.detection("m1oZzqYp9dN"))
          })
      )
      // Found already succeeded: when it succeeded is unknown.
      expect(found.notBefore).toBeUndefined()
    })
  )

  it.effect("refuses a detect_id seen succeed more than an hour ago; sends an unknown detect_id as is", () =>
    withClient(script, (client, requests) =>
      Effect.gen(function* () {
        successOf(yield* runAdvancing(client.detectFaces({ imageUrl })))
        yield* TestClock.adjust(Duration.minutes(61))
        const stale = yield* Effect.flip(client.createTask(swap()))
        expect(stale._tag).toBe("ValidationError")
        expect(stale._tag === "ValidationError" && stale.issues[0]?.path).toBe("input.detect_id")
        expect(stale.message).toContain("expired")
        expect(requests.filter((r) => r.path.endsWith("CreateTask"))).toHaveLength(0)
        yield* client.createTask(swap({ detect_id: "Xq3ZzqYp9dN" }))
        expect(requests.filter((r) => r.path.endsWith("CreateTask"))).toHaveLength(1)
      })
    )
  )

  it.effect("sends the documented multi-face request as is when this client never saw its detect_id", () =>
    withClient(script, (client, requests) =>
      Effect.gen(function* () {
        expect(yield* client.createTask(fixtures.swapMultiRequest)).toEqual({ task_id: "task_12345678" })
        expect(requests).toHaveLength(1)
        expect(JSON.parse(requests[0]!.body)).toEqual(fixtures.swapMultiRequest)
      })
    )
  )

  it.effect("validates a swap body locally (a ValidationError listing the issues, nothing sent)", () =>
    withClient(script, (client, requests) =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(
          client.createTask({ model: "image-face-swap-multi", input: { detect_id: "", image_url: "x", faces: [] } })
        )
        expect(error._tag).toBe("ValidationError")
        expect(error._tag === "ValidationError" && error.issues.length).toBeGreaterThanOrEqual(3)
        expect(requests).toHaveLength(0)
      })
    )
  )
})

describe("FaceDetClient: upload", () => {
  it.effect("posts the raw bytes with their content type and returns { url }", () =>
    withClient(
      () => json({ code: 200, message: "success", data: { url: "https://facedet.test/u/abc.jpg" } }),
      (client, requests) =>
        Effect.gen(function* () {
          const bytes = new Uint8Array([0xff, 0xd8, 0xff, 0xe0])
          const data = yield* client.uploadMedia(bytes, "image/jpeg")
          expect(data.url).toBe("https://facedet.test/u/abc.jpg")
          expect(requests[0]?.path).toBe("/api/v1/client/upload")
          expect(requests[0]?.headers["content-type"]).toBe("image/jpeg")
          expect(Array.from(requests[0]!.bytes!)).toEqual([0xff, 0xd8, 0xff, 0xe0])
          const bad = yield* Effect.flip(client.uploadMedia(bytes, "application/pdf"))
          expect(bad._tag).toBe("ValidationError")
          const empty = yield* Effect.flip(client.uploadMedia(new Uint8Array(), "image/png"))
          expect(empty._tag).toBe("ValidationError")
          expect(requests).toHaveLength(1)
        })
    )
  )

  it.effect("against a server without the call, the answer is a typed error", () =>
    withClient(
      () => new Response("Not Found", { status: 404 }),
      (client) =>
        Effect.map(Effect.flip(client.uploadMedia(new Uint8Array([1]), "video/mp4")), (error) =>
          expect(error._tag).toBe("NotFound")
        )
    )
  )
})

describe("FaceDetClient: serverInfo", () => {
  it.effect(
    "before any answer, one result call for an impossible id tells: facedet answers even its 404 with the header",
    () =>
      withClient(
        () => envelope(404, "no detection task facedet-probe", { "x-facedet-long-poll": "30" }),
        (client, requests) =>
          Effect.gen(function* () {
            expect(yield* client.serverInfo).toEqual({ facedet: true, longPollSeconds: 30 })
            expect(requests).toHaveLength(1)
            expect(requests[0]?.url.pathname).toBe("/api/v1/client/job/detect-face-result")
            expect(requests[0]?.url.searchParams.get("detect_task_id")).toBe("facedet-probe")
            expect(requests[0]?.headers["x-api-key"]).toBe("test-key")
            // Known now: no second request.
            expect(yield* client.serverInfo).toEqual({ facedet: true, longPollSeconds: 30 })
            expect(requests).toHaveLength(1)
          })
      )
  )

  it.effect(
    "a server without the header (crun.ai, a proxy's HTML page) is not facedet; a refusal of the key tells too",
    () =>
      Effect.gen(function* () {
        for (const reply of [
          () => envelope(404, "Not Found"),
          () => new Response("<html>It works</html>", { status: 200 }),
          () => envelope(401, "invalid api key")
        ]) {
          const info = yield* withClient(reply, (client) => client.serverInfo)
          expect(info).toEqual({ facedet: false, longPollSeconds: undefined })
        }
        const refused = yield* withClient(reply401WithHeader, (client) => client.serverInfo)
        expect(refused.facedet).toBe(true)
      })
  )

  it.effect("answers already received tell without a request; a server that cannot be reached fails it", () =>
    Effect.gen(function* () {
      const count = yield* withClient(
        () => json(fixtures.createOk, { headers: { "x-facedet-long-poll": "0" } }),
        (client, requests) =>
          Effect.gen(function* () {
            yield* client.detectImage(imageUrl)
            expect(yield* client.serverInfo).toEqual({ facedet: true, longPollSeconds: undefined })
            return requests.length
          })
      )
      expect(count).toBe(1)
      const unreachable = yield* withClient(
        () => ({ transportCode: "ECONNREFUSED" }),
        (client, requests) => Effect.map(runAdvancing(client.serverInfo), (exit) => ({ exit, count: requests.length }))
      )
      const error = failureOf(unreachable.exit)
      expect(error._tag === "TransportError" && error.reason).toBe("Connect")
      expect(unreachable.count).toBe(3)
    })
  )
})

const reply401WithHeader = () => envelope(401, "invalid api key", { "x-facedet-long-poll": "30" })

describe("FaceDetClient: configuration", () => {
  it.effect("a missing key, a bad base URL or retry count are one ValidationError naming each option", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        FaceDetClient.make({ apiKey: " ", baseUrl: "ftp://x", maxRetries: -1, timeout: 0 }).pipe(
          Effect.provide(makeStub(() => json({})).layer)
        )
      )
      expect(error.issues.map((i) => i.path)).toEqual(["apiKey", "baseUrl", "maxRetries", "timeout"])
      expect(error.message).not.toContain("Redacted")
    })
  )

  it.effect("layerConfig reads FACEDET_API_KEY (redacted) and FACEDET_BASE_URL, defaulting to crun.ai", () =>
    Effect.gen(function* () {
      const stub = makeStub(() => json(fixtures.resultProcessing))
      const run = (env: Record<string, string>) =>
        Effect.flatMap(FaceDetClient.FaceDetClient, (c) => c.getResult(taskId)).pipe(
          Effect.provide(FaceDetClient.layerConfig().pipe(Layer.provide(stub.layer))),
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))
        )
      yield* run({ FACEDET_API_KEY: "env-key" })
      expect(stub.requests[0]?.url.origin).toBe("https://api.crun.ai")
      expect(stub.requests[0]?.headers["x-api-key"]).toBe("env-key")
      yield* run({ FACEDET_API_KEY: "env-key", FACEDET_BASE_URL: "http://127.0.0.1:8080" })
      expect(stub.requests[1]?.url.origin).toBe("http://127.0.0.1:8080")
      const missing = yield* Effect.flip(run({}))
      expect(missing._tag).not.toBe("Unauthorized")
      const config = yield* Effect.withConfigProvider(
        FaceDetClient.config,
        ConfigProvider.fromMap(new Map([["FACEDET_API_KEY", "secret"]]))
      )
      expect(String(config.apiKey)).not.toContain("secret")
      expect(Redacted.value(config.apiKey)).toBe("secret")
    })
  )
})
