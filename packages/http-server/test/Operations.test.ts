/** What operators read: request ids, JSON logs and the access log (without secrets), process metrics. */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { call, paths, type Running, startServer, testKey } from "./support.js"

describe("JSON logs, request ids and the access log", () => {
  let server: Running
  beforeAll(async () => {
    server = await startServer({ logFormat: "json" })
  })
  afterAll(() => server.close())

  it("echoes a client's x-request-id, or (the access log being on) makes a unique one", async () => {
    const given = await call(`${server.url}${paths.result}?detect_task_id=abc`, {
      headers: { "x-request-id": "req-42.a" }
    })
    expect(given.headers.get("x-request-id")).toBe("req-42.a")
    const a = (await call(`${server.url}/healthz`)).headers.get("x-request-id")
    const b = (await call(`${server.url}/healthz`)).headers.get("x-request-id")
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-z]+$/)
    expect(a).not.toBe(b)
    // Not a token (spaces, too long): replaced.
    const odd = await call(`${server.url}/healthz`, { headers: { "x-request-id": "a b" } })
    expect(odd.headers.get("x-request-id")).not.toBe("a b")
  })

  it("logs one JSON object per request, with its id and route, never a key, path token or query", async () => {
    await call(`${server.url}${paths.result}?detect_task_id=secretish`, { headers: { "x-request-id": "trace-7" } })
    const lines = server.logs.map((l) => JSON.parse(l) as Record<string, unknown>)
    const entry = lines.find((l) => l.request_id === "trace-7")
    expect(entry).toMatchObject({ level: "info", msg: "request", method: "GET", route: paths.result, status: 404 })
    expect(typeof entry?.time).toBe("string")
    expect(typeof entry?.ms).toBe("number")
    const all = server.logs.join("\n")
    expect(all).not.toContain(testKey)
    expect(all).not.toContain("secretish")
  })
})

describe("text logs", () => {
  it("have no access log by default (and no generated request ids); FACEDET_ACCESS_LOG turns on a line per request", async () => {
    const quiet = await startServer({})
    const loud = await startServer({ accessLog: true })
    try {
      await call(`${quiet.url}/healthz`)
      await call(`${loud.url}/healthz`, { headers: { "x-request-id": "r1" } })
      expect(quiet.logs.some((l) => l.includes("/healthz"))).toBe(false)
      expect((await call(`${quiet.url}/healthz`)).headers.get("x-request-id")).toBeNull()
      expect(
        (await call(`${quiet.url}/healthz`, { headers: { "x-request-id": "mine" } })).headers.get("x-request-id")
      ).toBe("mine")
      expect(loud.logs.some((l) => /^facedet: GET \/healthz 200 [\d.]+ ms id=r1$/.test(l))).toBe(true)
    } finally {
      await quiet.close()
      await loud.close()
    }
  })
})

describe("process metrics", () => {
  it("/metrics adds memory, CPU, descriptors and event-loop delay", async () => {
    const server = await startServer({})
    try {
      const text = await (await fetch(`${server.url}/metrics`)).text()
      for (const name of [
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "nodejs_heap_used_bytes",
        "process_open_fds",
        'nodejs_eventloop_delay_seconds{quantile="0.99"}',
        'nodejs_eventloop_delay_window_seconds{quantile="0.99"}'
      ]) {
        expect(text).toContain(name)
      }
      expect(Number(/process_resident_memory_bytes (\d+)/.exec(text)?.[1])).toBeGreaterThan(10 * 1024 * 1024)
    } finally {
      await server.close()
    }
  })
})
