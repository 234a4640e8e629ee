/**
 * Create options from the client's side: `callbackUrl` reaches the create body (checked first), as does `embeddings`
 * when asked for; and `verifyWebhook` / `Webhook.verify` accept a correctly signed payload and refuse tampered,
 * replayed and malformed ones.
 */
import * as CoreWebhook from "@facedet/core/Webhook"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import { it as effectIt } from "@effect/vitest"
import { afterEach, describe, expect, it } from "vitest"
import { createFaceDetClient, isValidationError, isWebhookVerifyError, verifyWebhook, Webhook } from "../src/index.js"
import { envelope, type Scripted as ScriptedServer, start as startServer } from "@facedet/testkit/ScriptedServer"

const servers: Array<ScriptedServer> = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

const secret = CoreWebhook.makeSecret((n) => new Uint8Array(n).map((_, i) => i + 1))
const body = JSON.stringify({
  detect_task_id: "dit60yt8reqplt1c16",
  status: "succeeded",
  data: {
    detect_task_id: "dit60yt8reqplt1c16",
    status: "succeeded",
    result: { id: "m1oZzqYp9dN", status: "succeed", faces: [{ id: 0, link: "https://x.example/0.jpg" }] },
    error: null
  }
})

const signedNow = async (payload = body, timestamp = Math.floor(Date.now() / 1000)) => ({
  "webhook-id": "msg_dit60yt8reqplt1c16",
  "webhook-timestamp": String(timestamp),
  "webhook-signature": await Effect.runPromise(CoreWebhook.sign([secret], "msg_dit60yt8reqplt1c16", timestamp, payload))
})

describe("callbackUrl", () => {
  it("sends callback_url in the create body of detectImage and detectVideo", async () => {
    const server = await startServer(() => ({
      body: envelope(200, "success", { detect_task_id: "dit60yt8reqplt1c16" })
    }))
    servers.push(server)
    const client = createFaceDetClient({ apiKey: "sk-test", baseUrl: server.url })
    await client.detectImage("https://example.com/a.jpg", { callbackUrl: "https://hooks.example.com/in" })
    await client.detectVideo("https://example.com/a.mp4", { callbackUrl: "https://hooks.example.com/v" })
    expect(JSON.parse(server.requests[0]!.body.toString())).toEqual({
      image_url: "https://example.com/a.jpg",
      callback_url: "https://hooks.example.com/in"
    })
    expect(JSON.parse(server.requests[1]!.body.toString())).toEqual({
      video_url: "https://example.com/a.mp4",
      callback_url: "https://hooks.example.com/v"
    })
  })

  it("refuses a callback URL that is not http(s) without sending anything", async () => {
    const server = await startServer(() => ({ body: envelope(200, "success", {}) }))
    servers.push(server)
    const client = createFaceDetClient({ apiKey: "sk-test", baseUrl: server.url })
    const error = await client
      .detectImage("https://example.com/a.jpg", { callbackUrl: "javascript:alert(1)" })
      .catch((e: unknown) => e)
    expect(isValidationError(error)).toBe(true)
    expect(String((error as Error).message)).toMatch(/callback_url/)
    expect(server.requests).toHaveLength(0)
  })
})

describe("embeddings", () => {
  it("sends embeddings: true only when asked for, so crun.ai's bodies stay as documented", async () => {
    const server = await startServer(() => ({
      body: envelope(200, "success", { detect_task_id: "dit60yt8reqplt1c16" })
    }))
    servers.push(server)
    const client = createFaceDetClient({ apiKey: "sk-test", baseUrl: server.url })
    await client.detectImage("https://example.com/a.jpg", { embeddings: true })
    await client.detectVideo("https://example.com/a.mp4", { embeddings: false })
    await client.detectImage("https://example.com/b.jpg")
    expect(server.requests.map((r) => JSON.parse(r.body.toString()))).toEqual([
      { image_url: "https://example.com/a.jpg", embeddings: true },
      { video_url: "https://example.com/a.mp4" },
      { image_url: "https://example.com/b.jpg" }
    ])
  })
})

describe("verifyWebhook", () => {
  it("returns the typed payload of a signed body, from a Headers object too", async () => {
    const headers = await signedNow()
    const payload = await verifyWebhook(body, headers, secret)
    expect(payload.data.result?.faces[0]?.id).toBe(0)
    expect((await verifyWebhook(new TextEncoder().encode(body), new Headers(headers), [secret])).status).toBe(
      "succeeded"
    )
  })

  it("rejects a tampered body with a typed error", async () => {
    const headers = await signedNow()
    const error = await verifyWebhook(body.replace("succeeded", "failed"), headers, secret).catch((e: unknown) => e)
    expect(isWebhookVerifyError(error)).toBe(true)
    expect((error as Webhook.VerifyError)._tag).toBe("WebhookSignatureMismatch")
    expect(error).toBeInstanceOf(Error)
  })

  it("rejects a replay older than the tolerance, unless the tolerance allows it", async () => {
    const old = Math.floor(Date.now() / 1000) - 600
    const headers = await signedNow(body, old)
    const error = await verifyWebhook(body, headers, secret).catch((e: unknown) => e)
    expect((error as Webhook.VerifyError)._tag).toBe("WebhookTimestampOutOfRange")
    expect((await verifyWebhook(body, headers, secret, { toleranceSeconds: 900 })).status).toBe("succeeded")
  })

  it("rejects a signed body that is not a detection payload", async () => {
    const other = JSON.stringify({ hello: "world" })
    const error = await verifyWebhook(other, await signedNow(other), secret).catch((e: unknown) => e)
    expect((error as Webhook.VerifyError)._tag).toBe("WebhookMalformed")
  })
})

describe("Webhook.verify (Effect)", () => {
  effectIt.effect("judges the timestamp by Effect's Clock", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(1_800_000_000_000)
      const headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": "1800000000",
        "webhook-signature": yield* CoreWebhook.sign([secret], "msg_1", 1_800_000_000, body)
      }
      expect((yield* Webhook.verify(body, headers, secret)).detect_task_id).toBe("dit60yt8reqplt1c16")
      yield* TestClock.adjust("301 seconds")
      expect((yield* Effect.flip(Webhook.verify(body, headers, secret)))._tag).toBe("WebhookTimestampOutOfRange")
    })
  )
})
