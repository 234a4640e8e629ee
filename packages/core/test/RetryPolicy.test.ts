import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as TestClock from "effect/TestClock"
import { FaceDetError, RetryPolicy } from "../src/index.js"

/**
 * Runs `failures` (then success) under the retry policy, recording the clock at each attempt, and advances the
 * TestClock step by step until the run ends.
 */
const attemptTimes = (failures: ReadonlyArray<FaceDetError.FaceDetError>, options: RetryPolicy.Options) =>
  Effect.gen(function* () {
    const times = yield* Ref.make<ReadonlyArray<number>>([])
    const call = Effect.gen(function* () {
      const now = yield* TestClock.currentTimeMillis
      const seen = yield* Ref.updateAndGet(times, (t) => [...t, now])
      const failure = failures[seen.length - 1]
      return failure ? yield* Effect.fail(failure) : "ok"
    })
    const fiber = yield* Effect.fork(Effect.either(Effect.retry(call, RetryPolicy.make(options))))
    // Step the clock until the run ends (bounded, so a schedule that never stops fails the test).
    for (let i = 0; i < 1000 && Option.isNone(yield* Fiber.poll(fiber)); i++)
      yield* TestClock.adjust(Duration.millis(100))
    const result = yield* Fiber.join(fiber)
    return { result, times: yield* Ref.get(times) }
  })

const gaps = (times: ReadonlyArray<number>) => times.slice(1).map((t, i) => t - times[i]!)

const serverErrors = (n: number) => Array.from({ length: n }, () => new FaceDetError.ServerError())

describe("RetryPolicy", () => {
  it.effect("waits 500 ms, then doubles, up to 8 s, without jitter", () =>
    Effect.gen(function* () {
      const { result, times } = yield* attemptTimes(serverErrors(6), { maxRetries: 6, jitter: false })
      expect(result._tag).toBe("Right")
      expect(gaps(times)).toEqual([500, 1000, 2000, 4000, 8000, 8000])
    })
  )

  it.effect("with jitter, delays stay within [0.8, 1] of the computed ones and still grow to the cap", () =>
    Effect.gen(function* () {
      const { times } = yield* attemptTimes(serverErrors(6), { maxRetries: 6 })
      const expected = [500, 1000, 2000, 4000, 8000, 8000]
      gaps(times).forEach((gap, i) => {
        expect(gap).toBeGreaterThanOrEqual(Math.floor((expected[i]! * 0.8) / 100) * 100)
        expect(gap).toBeLessThanOrEqual(expected[i]!)
      })
    })
  )

  it.effect("stops after maxRetries: maxRetries 2 means 3 attempts", () =>
    Effect.gen(function* () {
      const { result, times } = yield* attemptTimes(serverErrors(10), { maxRetries: 2, jitter: false })
      expect(times).toHaveLength(3)
      expect(result._tag === "Left" && result.left._tag).toBe("ServerError")
    })
  )

  it.effect("honours a Retry-After of up to 60 s instead of the computed delay", () =>
    Effect.gen(function* () {
      const { result, times } = yield* attemptTimes(
        [
          new FaceDetError.RateLimited({ retryAfterMs: 3000 }),
          new FaceDetError.ServiceUnavailable({ retryAfterMs: 200 })
        ],
        { jitter: false }
      )
      expect(result._tag).toBe("Right")
      expect(gaps(times)).toEqual([3000, 200])
    })
  )

  it.effect("does not sleep through a Retry-After over 60 s: the caller gets the error", () =>
    Effect.gen(function* () {
      const { result, times } = yield* attemptTimes([new FaceDetError.RateLimited({ retryAfterMs: 3_600_000 })], {})
      expect(times).toHaveLength(1)
      expect(result._tag === "Left" && result.left).toMatchObject({ _tag: "RateLimited", retryAfterMs: 3_600_000 })
    })
  )

  it.effect("never retries what retrying cannot fix", () =>
    Effect.gen(function* () {
      for (const error of [
        new FaceDetError.Unauthorized(),
        new FaceDetError.ValidationError(),
        new FaceDetError.GenerationFailed()
      ]) {
        const { times } = yield* attemptTimes([error], { jitter: false })
        expect(times).toHaveLength(1)
      }
    })
  )

  it.effect("takes a custom predicate (a create retries only what was never sent)", () =>
    Effect.gen(function* () {
      const onlyUnsent = (e: FaceDetError.FaceDetError) => e._tag === "TransportError" && !e.requestSent
      const unsent = new FaceDetError.TransportError({ message: "refused", requestSent: false, reason: "Connect" })
      const sent = new FaceDetError.TransportError({ message: "reset", requestSent: true, reason: "Network" })
      expect((yield* attemptTimes([unsent, unsent], { while: onlyUnsent, jitter: false })).times).toHaveLength(3)
      expect((yield* attemptTimes([sent], { while: onlyUnsent })).times).toHaveLength(1)
    })
  )

  it("computes backoff delays", () => {
    expect([0, 1, 2, 3, 4, 5].map((n) => Duration.toMillis(RetryPolicy.backoffDelay(n)))).toEqual([
      500, 1000, 2000, 4000, 8000, 8000
    ])
    expect(
      Duration.toMillis(RetryPolicy.backoffDelay(2, { initialDelay: "1 second", factor: 3, maxDelay: "5 seconds" }))
    ).toBe(5000)
  })

  describe("parseRetryAfter", () => {
    const now = Date.UTC(2026, 0, 1, 0, 0, 0)
    it("reads seconds, milliseconds and HTTP dates", () => {
      expect(RetryPolicy.parseRetryAfter({ retryAfter: "2" }, now)).toBe(2000)
      expect(RetryPolicy.parseRetryAfter({ retryAfter: "1.5" }, now)).toBe(1500)
      expect(RetryPolicy.parseRetryAfter({ retryAfterMs: "250", retryAfter: "9" }, now)).toBe(250)
      expect(RetryPolicy.parseRetryAfter({ retryAfter: new Date(now + 7000).toUTCString() }, now)).toBe(7000)
      expect(RetryPolicy.parseRetryAfter({ retryAfter: new Date(now - 7000).toUTCString() }, now)).toBe(0)
    })
    it("ignores missing, negative and unreadable values", () => {
      expect(RetryPolicy.parseRetryAfter({}, now)).toBeUndefined()
      expect(RetryPolicy.parseRetryAfter({ retryAfter: "-3" }, now)).toBeUndefined()
      expect(RetryPolicy.parseRetryAfter({ retryAfter: "soon" }, now)).toBeUndefined()
      expect(RetryPolicy.parseRetryAfter({ retryAfterMs: "x", retryAfter: "1" }, now)).toBe(1000)
    })
  })
})
