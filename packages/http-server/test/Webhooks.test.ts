/**
 * Callbacks end to end: a real server (fake detector where the faces do not matter), a real receiver on
 * 127.0.0.1, and the receiving side's check (`Webhook.verify`). Retries run with a short initial delay and no
 * jitter (`random: () => 0`), so each delay is exactly half of its doubling ceiling and the order of delays is
 * certain; the schedule's own shape is unit-tested in core with TestClock.
 */
import { createServer, type IncomingMessage, type Server as NodeServer } from "node:http"
import type { AddressInfo } from "node:net"
import * as Webhook from "@facedet/core/Webhook"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as MediaFetcher from "../src/MediaFetcher.js"
import type * as ServerConfig from "../src/ServerConfig.js"
import * as SqliteJobStore from "../src/SqliteJobStore.js"
import {
  call,
  fakeDetector,
  fakeFace,
  type Json,
  type Origin,
  paths,
  photo,
  type Running,
  startOrigin,
  startServer,
  tempDir,
  testKey,
  waitTerminal
} from "./support.js"

interface Received {
  readonly headers: IncomingMessage["headers"]
  readonly body: string
  readonly at: number
}

/** A callback receiver answering from a script (`hold`: keep the request open, never answer). */
interface Receiver {
  readonly url: string
  readonly received: Array<Received>
  readonly script: Array<number | "hold" | { readonly status: number; readonly retryAfter: string }>
  readonly next: (n: number, timeoutMs?: number) => Promise<void>
  readonly close: () => Promise<void>
}

const startReceiver = async (script: Receiver["script"] = []): Promise<Receiver> => {
  const received: Array<Received> = []
  const waiters: Array<() => void> = []
  const server: NodeServer = createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8"), at: performance.now() })
      for (const w of waiters.splice(0)) w()
      const step = script.shift() ?? 200
      if (step === "hold") return
      if (typeof step === "number") res.writeHead(step).end("ok")
      else res.writeHead(step.status, { "retry-after": step.retryAfter }).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    script,
    next: async (n, timeoutMs = 15_000) => {
      const until = Date.now() + timeoutMs
      while (received.length < n) {
        if (Date.now() > until) throw new Error(`receiver got ${received.length} of ${n} requests`)
        await new Promise<void>((resolve) => {
          waiters.push(resolve)
          setTimeout(resolve, 100)
        })
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

const twoFaces = fakeDetector({
  detectImage: () =>
    Effect.promise(async () => ({
      kind: "image" as const,
      width: 200,
      height: 100,
      format: "jpeg" as const,
      faces: [await fakeFace(0), await fakeFace(1)].map(({ crop: _, ...f }) => f)
    }))
})

/** Default dependencies with the fake detector; the callback dispatcher's own settings come from `webhooks`. */
const withFakeDetector = (config: ServerConfig.ServerConfig) =>
  Layer.mergeAll(
    SqliteJobStore.layer({ dataDir: config.dataDir }),
    twoFaces,
    MediaFetcher.layer({ allowPrivate: config.allowPrivateUrls })
  )

const createWithCallback = async (base: string, imageUrl: string, callbackUrl: string, key = testKey) => {
  const r = await call(`${base}${paths.image}`, { body: { image_url: imageUrl, callback_url: callbackUrl }, key })
  if (r.status !== 200) throw new Error(`create failed: ${r.status} ${JSON.stringify(r.body)}`)
  return r.body.data as { detect_task_id: string; webhook_secret?: string }
}

/** Polls the result until its callback leaves `pending`. */
const settled = async (base: string, id: string): Promise<Json> => {
  for (let i = 0; i < 200; i++) {
    const r = await call(`${base}${paths.result}?detect_task_id=${id}`)
    if (r.body.data.callback?.state !== "pending") return r.body.data
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`the callback of ${id} stayed pending`)
}

let origin: Origin
beforeAll(async () => {
  origin = await startOrigin({ "/a.jpg": { body: photo(1) }, "/slow.jpg": { body: photo(1), delayMs: 600 } })
})
afterAll(async () => {
  await origin.close()
})

describe("callbacks", () => {
  let server: Running
  let receiver: Receiver
  beforeAll(async () => {
    receiver = await startReceiver()
    server = await startServer(
      { allowPrivateUrls: true, webhookInitialDelayMs: 200 },
      {
        dependencies: withFakeDetector,
        webhooks: { random: () => 0, pollMs: 20 }
      }
    )
  })
  afterAll(async () => {
    await server.close()
    await receiver.close()
  })

  it("POSTs a signed body whose data is the result call's, and shows the secret only in the first answer", async () => {
    const first = await createWithCallback(server.url, `${origin.url}/a.jpg`, receiver.url)
    expect(first.webhook_secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/)
    const secret = first.webhook_secret!
    await receiver.next(1)
    const got = receiver.received[0]!
    expect(got.headers["content-type"]).toBe("application/json")
    expect(got.headers["webhook-id"]).toBe(`msg_${first.detect_task_id}`)
    const payload = await Effect.runPromise(Webhook.verify(got.body, got.headers, secret))
    expect(payload.status).toBe("succeeded")
    expect(payload.detect_task_id).toBe(first.detect_task_id)

    const data = await settled(server.url, first.detect_task_id)
    const { callback, ...rest } = data
    expect(payload.data).toEqual(rest)
    expect(callback).toEqual({
      url: receiver.url,
      state: "delivered",
      attempts: 1,
      last_status: 200,
      next_attempt_at: null
    })

    // Never shown again; the same secret signs the key's later callbacks.
    const second = await createWithCallback(server.url, `${origin.url}/a.jpg`, receiver.url)
    expect(second.webhook_secret).toBeUndefined()
    await receiver.next(2)
    const again = receiver.received[1]!
    await Effect.runPromise(Webhook.verify(again.body, again.headers, secret))
    const metrics = await (await fetch(`${server.url}/metrics`)).text()
    expect(metrics).toMatch(/facedet_webhook_attempts_total\{outcome="delivered"\} 2/)
    expect(metrics).toMatch(/facedet_webhook_delivery_seconds_count\{\} 2/)
  })

  it("retries a receiver that fails twice: exactly three attempts, growing delays, one webhook-id", async () => {
    receiver.received.length = 0
    receiver.script.push(500, 503, 200)
    const { detect_task_id: id } = await createWithCallback(server.url, `${origin.url}/a.jpg`, receiver.url)
    await receiver.next(3)
    const data = await settled(server.url, id)
    expect(data.callback).toMatchObject({ state: "delivered", attempts: 3, last_status: 200 })
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(receiver.received).toHaveLength(3)
    const [a, b, c] = receiver.received as [Received, Received, Received]
    expect(new Set(receiver.received.map((r) => r.headers["webhook-id"]))).toEqual(new Set([`msg_${id}`]))
    // No jitter: 100 ms then 200 ms (half of 200 * 2^n), each within the 20 ms poll.
    expect(b.at - a.at).toBeGreaterThanOrEqual(95)
    expect(c.at - b.at).toBeGreaterThanOrEqual(195)
    expect(c.at - b.at).toBeGreaterThan(b.at - a.at)
    // Every attempt is signed afresh over the same bytes.
    expect(new Set(receiver.received.map((r) => r.body)).size).toBe(1)
  })

  it("honours a longer Retry-After from the receiver", async () => {
    receiver.received.length = 0
    receiver.script.push({ status: 429, retryAfter: "1" }, 200)
    const { detect_task_id: id } = await createWithCallback(server.url, `${origin.url}/a.jpg`, receiver.url)
    await receiver.next(2)
    expect(receiver.received[1]!.at - receiver.received[0]!.at).toBeGreaterThanOrEqual(990)
    expect((await settled(server.url, id)).callback).toMatchObject({ state: "delivered", attempts: 2 })
  })

  it("stops at once on a 4xx other than 408/429, and on a redirect", async () => {
    for (const status of [410, 302]) {
      receiver.received.length = 0
      receiver.script.push(status)
      const { detect_task_id: id } = await createWithCallback(server.url, `${origin.url}/a.jpg`, receiver.url)
      const data = await settled(server.url, id)
      expect(data.callback).toMatchObject({ state: "failed", attempts: 1, last_status: status, next_attempt_at: null })
      await new Promise((resolve) => setTimeout(resolve, 400))
      expect(receiver.received).toHaveLength(1)
    }
    expect(
      server.logs.some((l) => /failed for good: the receiver answered HTTP 302; redirects are not followed/.test(l))
    ).toBe(true)
  })

  it("calls back failed tasks too, with the failure in data.error", async () => {
    receiver.received.length = 0
    const { detect_task_id: id, webhook_secret } = await createWithCallback(
      server.url,
      `${origin.url}/missing.jpg`,
      receiver.url
    )
    expect(webhook_secret).toBeUndefined()
    await receiver.next(1)
    const body = JSON.parse(receiver.received[0]!.body)
    expect(body.status).toBe("failed")
    expect(body.data.error.code).toBe((await waitTerminal(server.url, id)).error.code)
  })

  it("answers the callback state in the result, pending before the task ends", async () => {
    const r = await call(`${server.url}${paths.image}`, {
      body: { image_url: `${origin.url}/slow.jpg`, callback_url: "https://hooks.example.com/in?x=1" }
    })
    const id = r.body.data.detect_task_id
    const early = await call(`${server.url}${paths.result}?detect_task_id=${id}`)
    expect(early.body.data.status).not.toBe("succeeded")
    expect(early.body.data.callback).toEqual({
      url: "https://hooks.example.com/in?x=1",
      state: "pending",
      attempts: 0,
      last_status: null,
      next_attempt_at: null
    })
    // hooks.example.com does not resolve here: a network failure, retried.
    const later = await waitTerminal(server.url, id)
    expect(later.callback.url).toBe("https://hooks.example.com/in?x=1")
  })
})

describe("callback URLs are hostile input", () => {
  let server: Running
  let receiver: Receiver
  beforeAll(async () => {
    receiver = await startReceiver()
    server = await startServer(
      { allowPrivateUrls: false },
      {
        dependencies: withFakeDetector,
        webhooks: { pollMs: 20, resolve: async () => [{ address: "127.0.0.1", family: 4 }] }
      }
    )
  })
  afterAll(async () => {
    await server.close()
    await receiver.close()
  })

  it("refuses private, loopback and metadata callback URLs at create with 422, in any spelling", async () => {
    for (const callback of [
      "http://127.0.0.1:8080/hook",
      "http://2130706433/hook",
      "http://0x7f.1/hook",
      "http://[::ffff:7f00:1]/hook",
      "http://169.254.169.254/latest/meta-data",
      "http://10.0.0.5/hook",
      "http://localhost/hook",
      "http://hooks.internal/hook",
      "ftp://hooks.example.com/hook",
      "http://user:pass@hooks.example.com/hook"
    ]) {
      const r = await call(`${server.url}${paths.image}`, {
        body: { image_url: "https://media.example.com/a.jpg", callback_url: callback }
      })
      expect(r.status, callback).toBe(422)
      expect(r.body.message, callback).toMatch(/callback_url/)
    }
  })

  it("refuses at delivery a name that resolves to a private address, without contacting it", async () => {
    const port = new URL(receiver.url).port
    const r = await call(`${server.url}${paths.image}`, {
      body: { image_url: "https://media.example.com/a.jpg", callback_url: `http://hooks.example.com:${port}/hook` }
    })
    expect(r.status).toBe(200)
    const data = await settled(server.url, r.body.data.detect_task_id)
    expect(data.callback).toMatchObject({ state: "failed", attempts: 1, last_status: null })
    expect(receiver.received).toHaveLength(0)
    expect(server.logs.some((l) => /callback URL refused/.test(l))).toBe(true)
  })
})

describe("operator-set secrets", () => {
  it("signs with FACEDET_WEBHOOK_SECRETS, and with both secrets for a day after a rotation", async () => {
    const dataDir = tempDir()
    const receiver = await startReceiver()
    const old = Webhook.makeSecret((n) => new Uint8Array(n).fill(1))
    const fresh = Webhook.makeSecret((n) => new Uint8Array(n).fill(2))
    try {
      for (const [secret, signatures] of [
        [old, 1],
        [fresh, 2]
      ] as const) {
        const server = await startServer(
          { allowPrivateUrls: true, dataDir, webhookSecrets: [{ key: testKey, secret }] },
          { dependencies: withFakeDetector, webhooks: { pollMs: 20 } }
        )
        try {
          receiver.received.length = 0
          const created = await createWithCallback(server.url, `${origin.url}/a.jpg`, receiver.url)
          expect(created.webhook_secret).toBeUndefined()
          await receiver.next(1)
          const got = receiver.received[0]!
          expect(String(got.headers["webhook-signature"]).split(" ")).toHaveLength(signatures)
          await Effect.runPromise(Webhook.verify(got.body, got.headers, secret))
          if (signatures === 2) await Effect.runPromise(Webhook.verify(got.body, got.headers, old))
        } finally {
          await server.close()
        }
      }
    } finally {
      await receiver.close()
    }
  })
})
