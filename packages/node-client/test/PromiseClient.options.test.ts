/**
 * The Promise client's options as openai-node users expect them: `FACEDET_API_KEY` / `FACEDET_BASE_URL` when the
 * options omit them, `defaultHeaders`, and per-call `timeoutMs`, `maxRetries` and `headers`, over real fetch
 * against a scripted server on 127.0.0.1.
 */
import { afterEach, describe, expect, it } from "vitest"
import { createFaceDetClient, FaceDetError } from "../src/index.js"
import {
  envelope,
  type Handler,
  type Scripted as ScriptedServer,
  start as startServer
} from "@facedet/testkit/ScriptedServer"

const servers: Array<ScriptedServer> = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()))
  delete process.env.FACEDET_API_KEY
  delete process.env.FACEDET_BASE_URL
})

const serve = async (handler: Handler) => {
  const server = await startServer(handler)
  servers.push(server)
  return server
}

const running = { detect_task_id: "dit60yt8reqplt1c16", status: "processing", result: null, error: null }
const fast = { retry: { initialDelay: 5, maxDelay: 10 } } as const

describe("createFaceDetClient options", () => {
  it("reads FACEDET_API_KEY and FACEDET_BASE_URL when the options omit them", async () => {
    const server = await serve(() => ({ body: envelope(200, "success", running) }))
    process.env.FACEDET_API_KEY = "sk-from-env"
    process.env.FACEDET_BASE_URL = server.url
    const client = createFaceDetClient()
    expect(client.baseUrl).toBe(server.url)
    await client.getResult("dit60yt8reqplt1c16")
    expect(server.requests[0]!.headers["x-api-key"]).toBe("sk-from-env")
    // Options win over the environment.
    const explicit = createFaceDetClient({ apiKey: "sk-explicit", baseUrl: server.url })
    await explicit.getResult("dit60yt8reqplt1c16")
    expect(server.requests[1]!.headers["x-api-key"]).toBe("sk-explicit")
  })

  it("without a key anywhere, throws a ValidationError naming FACEDET_API_KEY", () => {
    expect(() => createFaceDetClient({ baseUrl: "http://127.0.0.1:1" })).toThrow(/FACEDET_API_KEY/)
  })

  it("sends defaultHeaders on every call; a call's headers win; neither replaces x-api-key", async () => {
    const server = await serve(() => ({ body: envelope(200, "success", running) }))
    const client = createFaceDetClient({
      apiKey: "sk-test",
      baseUrl: server.url,
      defaultHeaders: { "x-team": "vision", "x-trace": "default" }
    })
    await client.getResult("dit60yt8reqplt1c16")
    await client.getResult("dit60yt8reqplt1c16", { headers: { "x-trace": "call-7", "x-api-key": "stolen" } })
    expect(server.requests[0]!.headers).toMatchObject({
      "x-team": "vision",
      "x-trace": "default",
      "x-api-key": "sk-test"
    })
    expect(server.requests[1]!.headers).toMatchObject({
      "x-team": "vision",
      "x-trace": "call-7",
      "x-api-key": "sk-test"
    })
    expect(() => createFaceDetClient({ apiKey: "k", defaultHeaders: { "bad header": "x" } })).toThrow(/header name/)
    await expect(client.getResult("x", { headers: { "x-a": "line\nbreak" } })).rejects.toBeInstanceOf(FaceDetError)
  })

  it("maxRetries per call replaces the client's", async () => {
    const server = await serve(() => ({ status: 503, body: envelope(455, "maintenance") }))
    const client = createFaceDetClient({ apiKey: "sk-test", baseUrl: server.url, maxRetries: 3, ...fast })
    await expect(client.getResult("dit60yt8reqplt1c16", { maxRetries: 0 })).rejects.toBeInstanceOf(FaceDetError)
    expect(server.requests).toHaveLength(1)
    await expect(client.getResult("dit60yt8reqplt1c16")).rejects.toBeInstanceOf(FaceDetError)
    expect(server.requests).toHaveLength(1 + 4)
    await expect(client.getResult("x", { maxRetries: -1 })).rejects.toThrow(/maxRetries/)
  })

  it("timeoutMs per call bounds each attempt of that call only", async () => {
    const server = await serve(() => ({ body: envelope(200, "success", running), delayMs: 300 }))
    const client = createFaceDetClient({ apiKey: "sk-test", baseUrl: server.url, maxRetries: 0 })
    const error = await client.getResult("dit60yt8reqplt1c16", { timeoutMs: 50 }).catch((e: unknown) => e)
    expect(error).toMatchObject({ _tag: "TransportError", reason: "Timeout" })
    expect((await client.getResult("dit60yt8reqplt1c16")).status).toBe("processing")
  })
})
