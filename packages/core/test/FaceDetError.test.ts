import { describe, expect, it } from "@effect/vitest"
import { Envelope, FaceDetError } from "../src/index.js"

const codes: ReadonlyArray<readonly [number, FaceDetError.Tag, boolean]> = [
  [401, "Unauthorized", false],
  [402, "InsufficientCredits", false],
  [404, "NotFound", false],
  [422, "ValidationError", false],
  [429, "RateLimited", true],
  [455, "ServiceUnavailable", true],
  [500, "ServerError", true],
  [501, "GenerationFailed", false],
  [505, "FeatureDisabled", false]
]

describe("FaceDetError", () => {
  it.each(codes)("envelope code %i is %s (retryable: %s) and maps back to itself", (code, tag, retryable) => {
    const error = FaceDetError.fromCode(code, { message: "from the server" })
    expect(error._tag).toBe(tag)
    expect(error.code).toBe(code)
    expect(error.message).toBe("from the server")
    expect(FaceDetError.isRetryable(error)).toBe(retryable)
    expect(FaceDetError.toEnvelope(error)).toEqual({ code, message: "from the server", data: null })
    expect(Envelope.ErrorEnvelope.safeParse(FaceDetError.toEnvelope(error)).success).toBe(true)
  })

  it("gives every error a readable default message", () => {
    for (const [code] of codes) expect(FaceDetError.fromCode(code).message.length).toBeGreaterThan(5)
    expect(new FaceDetError.RateLimited().message).toMatch(/rate limited/)
  })

  it("keeps unknown codes as UnknownApiError, not retryable", () => {
    const error = FaceDetError.fromCode(418, { message: "teapot" })
    expect(error._tag).toBe("UnknownApiError")
    expect(error.code).toBe(418)
    expect(FaceDetError.isRetryable(error)).toBe(false)
    expect(FaceDetError.toEnvelope(error).code).toBe(418)
  })

  it("reads HTTP statuses of non-envelope answers (a proxy's HTML 502)", () => {
    const bad = FaceDetError.fromHttpStatus(502)
    expect(bad._tag).toBe("ServerError")
    expect(bad.httpStatus).toBe(502)
    expect(bad.message).toContain("502")
    expect(FaceDetError.isRetryable(bad)).toBe(true)
    expect(FaceDetError.fromHttpStatus(503)._tag).toBe("ServiceUnavailable")
    expect(FaceDetError.fromHttpStatus(504)._tag).toBe("ServerError")
    expect(FaceDetError.fromHttpStatus(429, { retryAfterMs: 2000 })).toMatchObject({
      _tag: "RateLimited",
      retryAfterMs: 2000
    })
    expect(FaceDetError.fromHttpStatus(401)._tag).toBe("Unauthorized")
    expect(FaceDetError.fromHttpStatus(400)._tag).toBe("ValidationError")
    expect(FaceDetError.fromHttpStatus(501)._tag).toBe("GenerationFailed")
  })

  it("carries retryAfterMs only when the server said so", () => {
    expect(new FaceDetError.RateLimited({ retryAfterMs: 1500 }).retryAfterMs).toBe(1500)
    expect("retryAfterMs" in new FaceDetError.RateLimited()).toBe(false)
  })

  it("lists validation issues in the message", () => {
    const error = new FaceDetError.ValidationError({
      issues: [
        { path: "image_url", message: "must be an http(s) URL" },
        { path: "", message: "body is not JSON" }
      ]
    })
    expect(error.message).toBe("image_url: must be an http(s) URL; body is not JSON")
  })

  it("keeps a failed task's code and message verbatim", () => {
    const error = new FaceDetError.DetectionFailed({
      detectTaskId: "dit9ka6i5qoc519iv0",
      code: "FaceSwap.Detect.Failed",
      taskMessage: "[任务NDm40D2DQp6] 未检测到人脸,源文件未检测到人脸"
    })
    expect(error.code).toBe("FaceSwap.Detect.Failed")
    expect(error.taskMessage).toBe("[任务NDm40D2DQp6] 未检测到人脸,源文件未检测到人脸")
    expect(error.message).toContain("未检测到人脸")
    expect(FaceDetError.isRetryable(error)).toBe(false)
    expect(FaceDetError.toEnvelope(error).code).toBe(501)
  })

  it("names the task to resume in a wait timeout", () => {
    const error = new FaceDetError.WaitTimeout({ taskId: "t1", timeoutMs: 300_000, lastStatus: "processing" })
    expect(error.detectTaskId).toBe("t1")
    expect(error.message).toBe(
      "gave up waiting for task t1 after 300s (last status: processing); it continues on the server"
    )
    const swap = new FaceDetError.WaitTimeout({ taskId: "task_1", timeoutMs: 1500, detection: false })
    expect(swap.detectTaskId).toBeUndefined()
    expect(swap.message).toContain("1500ms")
  })

  it("retries transport errors and knows whether the request was sent", () => {
    const error = new FaceDetError.TransportError({
      message: "connect ECONNREFUSED",
      requestSent: false,
      reason: "Connect"
    })
    expect(FaceDetError.isRetryable(error)).toBe(true)
    expect(error.requestSent).toBe(false)
    const aborted = new FaceDetError.TransportError({ message: "aborted", requestSent: true, reason: "Aborted" })
    expect(FaceDetError.isRetryable(aborted)).toBe(false)
  })

  it("recognises errors by tag, across copies of the package", () => {
    expect(FaceDetError.isFaceDetError(new FaceDetError.NotFound())).toBe(true)
    const foreign = Object.assign(new Error("x"), { _tag: "RateLimited", code: 429 })
    expect(FaceDetError.isFaceDetError(foreign)).toBe(true)
    expect(FaceDetError.is("RateLimited")(foreign)).toBe(true)
    expect(FaceDetError.is("NotFound")(foreign)).toBe(false)
    expect(FaceDetError.isFaceDetError({ _tag: "Nope" })).toBe(false)
    expect(FaceDetError.isFaceDetError(null)).toBe(false)
    expect(FaceDetError.isFaceDetError("RateLimited")).toBe(false)
  })

  it("has a tag list matching the taxonomy", () => {
    expect(new Set(FaceDetError.tags).size).toBe(14)
  })

  it("is an Error with a stack, usable with Effect.fail", () => {
    const error = new FaceDetError.ServerError()
    expect(error).toBeInstanceOf(Error)
    expect(String(error.stack)).toContain("ServerError")
  })
})
