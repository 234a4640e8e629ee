import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import { Webhook } from "../src/index.js"

// The Standard Webhooks reference vector (standard-webhooks/standard-webhooks, libraries' shared tests).
const vector = {
  secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
}

const payload = JSON.stringify({
  detect_task_id: "dit60yt8reqplt1c16",
  status: "failed",
  data: {
    detect_task_id: "dit60yt8reqplt1c16",
    status: "failed",
    result: null,
    error: { code: "FaceSwap.Detect.Failed", message: "no face detected in the source image" }
  }
})

const secret = Webhook.makeSecret((n) => new Uint8Array(n).map((_, i) => i * 7))
const at = (seconds: number) => TestClock.setTime(seconds * 1000)

const signed = (body: string, timestamp: number, secrets: ReadonlyArray<string> = [secret]) =>
  Effect.map(Webhook.sign(secrets, "msg_1", timestamp, body), (signature) => ({
    "webhook-id": "msg_1",
    "webhook-timestamp": String(timestamp),
    "webhook-signature": signature
  }))

describe("Webhook.sign", () => {
  it.effect("matches the Standard Webhooks reference signature", () =>
    Effect.gen(function* () {
      expect(yield* Webhook.sign([vector.secret], vector.id, vector.timestamp, vector.body)).toBe(vector.signature)
    })
  )

  it.effect("signs with every secret during a rotation", () =>
    Effect.gen(function* () {
      const other = Webhook.makeSecret((n) => new Uint8Array(n).fill(9))
      const header = yield* Webhook.sign([secret, other], "msg_1", 100, "{}")
      expect(header.split(" ")).toHaveLength(2)
      expect(header.split(" ").every((p) => p.startsWith("v1,"))).toBe(true)
    })
  )

  it.effect("refuses a secret that is not whsec_ base64", () =>
    Effect.gen(function* () {
      for (const bad of ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not base64!", "whsec_AAAA"]) {
        const error = yield* Effect.flip(Webhook.sign([bad], "msg_1", 1, "{}"))
        expect(error._tag).toBe("WebhookSecretInvalid")
      }
    })
  )
})

describe("Webhook.verify", () => {
  it.effect("accepts the reference vector within the tolerance", () =>
    Effect.gen(function* () {
      yield* at(vector.timestamp + 10)
      const headers = {
        "Webhook-Id": vector.id,
        "Webhook-Timestamp": String(vector.timestamp),
        "Webhook-Signature": vector.signature
      }
      // The body is not a detection payload: verification gets past the signature, then refuses the shape.
      const error = yield* Effect.flip(Webhook.verify(vector.body, headers, vector.secret))
      expect(error._tag).toBe("WebhookMalformed")
    })
  )

  it.effect("returns the typed payload of a signed body, from a record or a Headers object", () =>
    Effect.gen(function* () {
      yield* at(1_700_000_000)
      const headers = yield* signed(payload, 1_700_000_000)
      const parsed = yield* Webhook.verify(payload, headers, secret)
      expect(parsed.detect_task_id).toBe("dit60yt8reqplt1c16")
      expect(parsed.data.error?.code).toBe("FaceSwap.Detect.Failed")
      const viaHeaders = yield* Webhook.verify(new TextEncoder().encode(payload), new Headers(headers), [secret])
      expect(viaHeaders.status).toBe("failed")
    })
  )

  it.effect("refuses a tampered body, id or timestamp", () =>
    Effect.gen(function* () {
      yield* at(1_700_000_000)
      const headers = yield* signed(payload, 1_700_000_000)
      const tampered = payload.replace("failed", "succeeded")
      expect((yield* Effect.flip(Webhook.verify(tampered, headers, secret)))._tag).toBe("WebhookSignatureMismatch")
      const otherId = { ...headers, "webhook-id": "msg_2" }
      expect((yield* Effect.flip(Webhook.verify(payload, otherId, secret)))._tag).toBe("WebhookSignatureMismatch")
      const otherTime = { ...headers, "webhook-timestamp": "1700000001" }
      expect((yield* Effect.flip(Webhook.verify(payload, otherTime, secret)))._tag).toBe("WebhookSignatureMismatch")
      const wrongSecret = Webhook.makeSecret((n) => new Uint8Array(n).fill(1))
      expect((yield* Effect.flip(Webhook.verify(payload, headers, wrongSecret)))._tag).toBe("WebhookSignatureMismatch")
    })
  )

  it.effect("refuses a replay once the timestamp is past the tolerance, and a timestamp from the future", () =>
    Effect.gen(function* () {
      yield* at(1_700_000_000)
      const headers = yield* signed(payload, 1_700_000_000)
      yield* TestClock.adjust(Duration.seconds(300))
      expect((yield* Webhook.verify(payload, headers, secret)).status).toBe("failed")
      yield* TestClock.adjust(Duration.seconds(1))
      const stale = yield* Effect.flip(Webhook.verify(payload, headers, secret))
      expect(stale._tag).toBe("WebhookTimestampOutOfRange")
      expect(stale.message).toContain("301 s old")
      expect((yield* Webhook.verify(payload, headers, secret, { toleranceSeconds: 600 })).status).toBe("failed")
      yield* at(1_700_000_000 - 400)
      expect((yield* Effect.flip(Webhook.verify(payload, headers, secret)))._tag).toBe("WebhookTimestampOutOfRange")
    })
  )

  it.effect("refuses missing headers and non-v1 signatures as malformed or mismatched", () =>
    Effect.gen(function* () {
      yield* at(1_700_000_000)
      const headers = yield* signed(payload, 1_700_000_000)
      for (const name of ["webhook-id", "webhook-timestamp", "webhook-signature"] as const) {
        const { [name]: _, ...rest } = headers
        expect((yield* Effect.flip(Webhook.verify(payload, rest, secret)))._tag).toBe("WebhookMalformed")
      }
      const v2 = { ...headers, "webhook-signature": headers["webhook-signature"].replace("v1,", "v2,") }
      expect((yield* Effect.flip(Webhook.verify(payload, v2, secret)))._tag).toBe("WebhookSignatureMismatch")
    })
  )

  it.effect("accepts a body signed with the old secret while it is still listed (rotation)", () =>
    Effect.gen(function* () {
      yield* at(1_700_000_000)
      const old = Webhook.makeSecret((n) => new Uint8Array(n).fill(3))
      const headers = yield* signed(payload, 1_700_000_000, [secret, old])
      expect((yield* Webhook.verify(payload, headers, old)).status).toBe("failed")
      expect((yield* Webhook.verify(payload, headers, secret)).status).toBe("failed")
    })
  )

  it.effect("refuses a signed body that is not JSON", () =>
    Effect.gen(function* () {
      yield* at(1_700_000_000)
      const headers = yield* signed("not json", 1_700_000_000)
      const error = yield* Effect.flip(Webhook.verify("not json", headers, secret))
      expect(error._tag).toBe("WebhookMalformed")
      expect(error.message).toContain("not JSON")
    })
  )
})

describe("Webhook.retryDelayMs", () => {
  it("grows from the initial delay, never shrinks before the cap despite jitter, then stays within [cap/2, cap]", () => {
    const options = { initialDelayMs: 1000, maxDelayMs: 16_000 }
    for (const random of [() => 0, () => 0.999, Math.random]) {
      const delays = Array.from({ length: 8 }, (_, n) => Webhook.retryDelayMs(n, random, options))
      // 1000 * 2^4 reaches the 16 s cap: up to there every delay is at least the one before.
      for (let n = 1; n <= 4; n++) expect(delays[n]!).toBeGreaterThanOrEqual(delays[n - 1]!)
      for (const d of delays.slice(4)) expect(d).toBeGreaterThanOrEqual(8000)
      expect(delays[0]!).toBeGreaterThanOrEqual(500)
      expect(delays[0]!).toBeLessThanOrEqual(1000)
      expect(Math.max(...delays)).toBeLessThanOrEqual(16_000)
    }
    expect(Webhook.retryDelayMs(3, () => 0, options)).toBe(4000)
  })

  it("retries timeouts, 408, 429 and 5xx, not other answers", () => {
    expect([undefined, 408, 429, 500, 503].every(Webhook.isRetryableStatus)).toBe(true)
    expect([200, 301, 400, 401, 404, 410, 422].some(Webhook.isRetryableStatus)).toBe(false)
  })
})
