/**
 * Regressions of a security review of the server (one `describe` per finding): each test failed before its fix.
 */
import { readdirSync, rmSync } from "node:fs"
import { connect, type Socket } from "node:net"
import { join } from "node:path"
import { VideoDecodeFailed } from "@facedet/detector/DetectorError"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ApiKeys from "../src/ApiKeys.js"
import * as MediaFetcher from "../src/MediaFetcher.js"
import * as Server from "../src/Server.js"
import * as SqliteJobStore from "../src/SqliteJobStore.js"
import {
  call,
  fakeDetector,
  type Origin,
  startOrigin,
  fakeFace,
  otherKey,
  paths,
  photo,
  type Running,
  startServer,
  tempDir,
  testKey,
  waitTerminal,
  withDetector
} from "./support.js"

const faces = Effect.promise(async () => ({
  kind: "image" as const,
  width: 200,
  height: 100,
  format: "jpeg" as const,
  faces: [await fakeFace(0)].map(({ crop: _, ...f }) => f)
}))

const upload = (base: string, bytes: Uint8Array, key = testKey) =>
  call(`${base}${paths.upload}`, { raw: bytes, key, headers: { "content-type": "application/octet-stream" } })

const waitFor = async (check: () => Promise<boolean>, what: string) => {
  for (let i = 0; i < 200; i++) {
    if (await check()) return
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  throw new Error(`timed out waiting for ${what}`)
}

describe("upload tasks after a restart", () => {
  it("a queued upload task claimed by the next start (on another port) reads its upload, not a refused URL", async () => {
    const dataDir = tempDir()
    // The first server never finishes: its task goes back to the queue when it stops.
    const first = await startServer(
      { dataDir, allowPrivateUrls: false },
      { dependencies: withDetector(fakeDetector({ detectImage: () => Effect.never })) }
    )
    const uploaded = await upload(first.url, photo(1))
    expect(uploaded.status).toBe(200)
    const created = await call(`${first.url}${paths.image}`, { body: { image_url: uploaded.body.data.url } })
    const id = created.body.data.detect_task_id as string
    await waitFor(
      async () => (await call(`${first.url}${paths.result}?detect_task_id=${id}`)).body.data.status === "processing",
      "the task to start"
    )
    await first.close()

    // Port 0 again: another port, so the stored URL no longer names this server. Workers start before the listener.
    const second = await startServer(
      { dataDir, allowPrivateUrls: false },
      { dependencies: withDetector(fakeDetector({ detectImage: () => faces })) }
    )
    try {
      expect(second.url).not.toBe(first.url)
      const data = await waitTerminal(second.url, id)
      expect(data.error).toBeNull()
      expect(data.status).toBe("succeeded")
    } finally {
      await second.close()
    }
  })
})

describe("key ids", () => {
  it("are 128 bits, and records written under a former 32-bit id are renamed at start", async () => {
    const keys = ApiKeys.fromDigests([Buffer.alloc(32, 7)], "env")
    expect(keys.legacyIds).toEqual([["07070707", "07".repeat(16)]])

    const dataDir = tempDir()
    const legacy = ApiKeys.fromDigests([require("node:crypto").createHash("sha256").update(testKey).digest()], "env")
      .legacyIds[0]![0]
    await Effect.runPromise(
      Effect.scoped(
        Effect.flatMap(SqliteJobStore.make({ dataDir }), (store) =>
          store.create({
            id: "legacytask0000000a",
            kind: "image",
            mediaUrl: "https://x.example/a.jpg",
            owner: legacy,
            queueLimit: 10
          })
        )
      )
    )
    const server = await startServer(
      { dataDir, workers: 1 },
      { dependencies: withDetector(fakeDetector({ detectImage: () => Effect.never })) }
    )
    try {
      const r = await call(`${server.url}${paths.result}?detect_task_id=legacytask0000000a`)
      expect(r.status).toBe(200)
      expect(
        (await call(`${server.url}${paths.result}?detect_task_id=legacytask0000000a`, { key: otherKey })).status
      ).toBe(404)
    } finally {
      await server.close()
    }
  })
})

describe("per-key quotas and fairness", () => {
  let server: Running
  let origin: Origin
  beforeAll(async () => {
    origin = await startOrigin({ "/slow.jpg": { body: photo(1), delayMs: 30_000 } })
    server = await startServer(
      { workers: 1, keyMaxTasks: 2, keyMaxUploadBytes: photo(1).length + 100, allowPrivateUrls: true },
      { dependencies: withDetector(fakeDetector({ detectImage: () => Effect.never })) }
    )
  })
  afterAll(async () => {
    await server.close()
    await origin.close()
  })

  it("one key cannot fill the queue: past its task limit it gets 429, other keys still get in", async () => {
    const create = (key: string) =>
      call(`${server.url}${paths.image}`, { body: { image_url: `${origin.url}/slow.jpg` }, key })
    expect((await create(testKey)).status).toBe(200)
    expect((await create(testKey)).status).toBe(200)
    const third = await create(testKey)
    expect(third.status).toBe(429)
    expect(third.body.message).toMatch(/this API key has 2 tasks waiting or running \(limit 2\)/)
    expect(Number(third.headers.get("retry-after"))).toBeGreaterThan(0)
    expect((await create(otherKey)).status).toBe(200)
  })

  it("uploads count against their key's byte quota, and belong to that key", async () => {
    const mine = await upload(server.url, photo(1), otherKey)
    expect(mine.status).toBe(200)
    const again = await upload(server.url, photo(1), otherKey)
    expect(again.status).toBe(429)
    expect(again.body.message).toMatch(/uploads hold/)
    // Another key's upload URL is unknown to this key.
    const r = await call(`${server.url}${paths.image}`, { body: { image_url: mine.body.data.url }, key: testKey })
    expect(r.status).toBe(422)
    expect(r.body.message).toMatch(/unknown or has expired/)
  })

  it("claims fairly: a key's backlog does not hold back another key's task", async () => {
    const dataDir = tempDir()
    const order = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const store = yield* SqliteJobStore.make({ dataDir })
          for (let i = 0; i < 5; i++) {
            yield* store.create({
              id: `busykey00000000${i}x`,
              kind: "image",
              mediaUrl: "https://x.example/a.jpg",
              owner: "busy",
              queueLimit: 100
            })
          }
          yield* store.create({
            id: "quietkey000000000x",
            kind: "image",
            mediaUrl: "https://x.example/a.jpg",
            owner: "quiet",
            queueLimit: 100
          })
          const claimed: Array<string> = []
          for (let i = 0; i < 3; i++) {
            const c = yield* store.claim(`w${i}`, 60_000)
            if (Option.isSome(c)) claimed.push(c.value.task.owner)
          }
          return claimed
        })
      )
    )
    expect(order).toEqual(["busy", "quiet", "busy"])
  })
})

describe("uploads that are no media", () => {
  it("stop at once, however long the body (EBML magic and zeros included), and nothing is kept", async () => {
    const server = await startServer({})
    try {
      const fake = new Uint8Array(3 * 1024 * 1024)
      fake.set([0x1a, 0x45, 0xdf, 0xa3])
      const r = await upload(server.url, fake)
      expect(r.status).toBe(422)
      expect(r.body.message).toMatch(/not a supported image or video/)
      await waitFor(
        async () => readdirSync(join(server.config.dataDir, "uploads")).length === 0,
        "the partial file's removal"
      )
    } finally {
      await server.close()
    }
  })
})

describe("disk space", () => {
  it("answers uploads with 507 when the data directory's disk is short of space", async () => {
    const server = await startServer({ minFreeDiskBytes: 2 ** 59 })
    try {
      const r = await upload(server.url, photo(1))
      expect(r.status).toBe(507)
      expect(r.body).toMatchObject({ code: 507, data: null })
    } finally {
      await server.close()
    }
  })
})

describe("internals stay out of answers", () => {
  let server: Running
  beforeAll(async () => {
    const detector = fakeDetector({
      detectImage: () =>
        Effect.fail(
          new VideoDecodeFailed({
            detail: "ffmpeg exited",
            stderr: "/srv/facedet/.facedet/tmp/abc123: Invalid data found when processing input",
            exitCode: 1
          })
        )
    })
    server = await startServer({ allowPrivateUrls: true }, { dependencies: withDetector(detector) })
  })
  afterAll(() => server.close())

  it("a decoder's output (with paths) goes to the log, the task gets fixed words", async () => {
    const uploaded = await upload(server.url, photo(1))
    const created = await call(`${server.url}${paths.image}`, { body: { image_url: uploaded.body.data.url } })
    const data = await waitTerminal(server.url, created.body.data.detect_task_id)
    expect(data.error.code).toBe("Media.Corrupt")
    expect(data.error.message).not.toMatch(/\/srv|facedet\/|ffmpeg|Invalid data/)
    expect(server.logs.some((l) => l.includes("/srv/facedet/.facedet/tmp/abc123"))).toBe(true)
  })

  it("a file-system failure while storing an upload is a 500 without paths, logged", async () => {
    rmSync(join(server.config.dataDir, "uploads"), { recursive: true, force: true })
    const r = await upload(server.url, photo(1))
    expect(r.status).toBe(500)
    expect(r.body.message).not.toMatch(/ENOENT|\/tmp|uploads/)
    expect(server.logs.some((l) => /storing an upload failed.*ENOENT/.test(l))).toBe(true)
  })

  it("JSON answers carry nosniff", async () => {
    const r = await fetch(`${server.url}/healthz`)
    expect(r.headers.get("x-content-type-options")).toBe("nosniff")
  })

  it("prints a generated key once", () => {
    const banner = Server.banner(
      {
        url: "http://127.0.0.1:8080",
        publicUrl: "http://127.0.0.1:8080",
        port: 8080,
        keys: { source: "generated", generated: "fd_secretsecretsecret" }
      } as Server.Service,
      server.config
    )
    expect(banner.split("fd_secretsecretsecret").length - 1).toBe(1)
  })
})

describe("SSRF side channels", () => {
  it("refuses this machine's own addresses, by literal and by name, like private ones", () => {
    const fetcher = Effect.runSync(MediaFetcher.make({ ownAddresses: ["8.8.8.8"] }))
    const literal = fetcher.checkUrl("http://8.8.8.8:8081/admin.jpg")
    expect(Either.isLeft(literal) && literal.left._tag).toBe("Forbidden")
    expect(Either.isRight(Effect.runSync(MediaFetcher.make({})).checkUrl("http://8.8.8.8/a.jpg"))).toBe(true)
  })

  it("refuses a name resolving to an own address when fetching", async () => {
    const fetcher = Effect.runSync(
      MediaFetcher.make({ ownAddresses: ["8.8.4.4"], lookup: async () => [{ address: "8.8.4.4", family: 4 }] })
    )
    const error = await Effect.runPromise(
      Effect.flip(fetcher.fetchBytes("http://media.example.com/a.jpg", { kind: "image" }))
    )
    expect(error._tag).toBe("Forbidden")
  })

  it("limits ports when FACEDET_ALLOWED_PORTS is set", () => {
    const fetcher = Effect.runSync(MediaFetcher.make({ allowedPorts: [443] }))
    expect(Either.isLeft(fetcher.checkUrl("http://media.example.com:8080/a.jpg"))).toBe(true)
    expect(Either.isLeft(fetcher.checkUrl("http://media.example.com/a.jpg"))).toBe(true)
    expect(Either.isRight(fetcher.checkUrl("https://media.example.com/a.jpg"))).toBe(true)
  })
})

describe("connection exhaustion", () => {
  let server: Running
  beforeAll(async () => {
    server = await startServer({ maxConnections: 4, headersTimeoutMs: 300 })
  })
  afterAll(() => server.close())

  const port = () => Number(new URL(server.url).port)
  const open = () =>
    new Promise<Socket>((resolve, reject) => {
      const socket = connect(port(), "127.0.0.1", () => resolve(socket))
      socket.once("error", reject)
      // Flowing, so the server's end of the connection is seen.
      socket.resume()
    })
  const closed = (socket: Socket, withinMs: number) =>
    new Promise<boolean>((resolve) => {
      if (socket.destroyed) return resolve(true)
      const timer = setTimeout(() => resolve(false), withinMs)
      socket.once("close", () => {
        clearTimeout(timer)
        resolve(true)
      })
    })

  it("drops a client that drips its headers past the headers timeout", async () => {
    const slow = await open()
    slow.write("GET /healthz HTTP/1.1\r\n")
    expect(await closed(slow, 3000)).toBe(true)
  })

  it("closes connections past the cap at once, and serves again once they go", async () => {
    const held = await Promise.all(Array.from({ length: 4 }, open))
    for (const s of held) s.write("GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
    await new Promise((resolve) => setTimeout(resolve, 100))
    const extra = await open()
    expect(await closed(extra, 2000)).toBe(true)
    for (const s of held) s.destroy()
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200)
  })

  it("answers a body nobody reads, then closes the connection instead of reading the drip", async () => {
    const s = await open()
    let answer = ""
    s.on("data", (c: Buffer) => {
      answer += c.toString()
    })
    s.write("POST /healthz HTTP/1.1\r\nhost: x\r\ncontent-length: 1000000\r\n\r\n")
    s.write("x".repeat(100))
    expect(await closed(s, 3000)).toBe(true)
    expect(answer).toMatch(/^HTTP\/1.1 404/)
    expect(answer.toLowerCase()).toContain("connection: close")
  })
})

describe("retries and drains", () => {
  it("a retried create replays its task while the server drains (the replay comes before every other check)", async () => {
    const server = await startServer(
      { allowPrivateUrls: true, shutdownGraceMs: 5000 },
      { dependencies: withDetector(fakeDetector({ detectImage: () => Effect.never })) }
    )
    try {
      const uploaded = await upload(server.url, photo(1))
      const body = { image_url: uploaded.body.data.url }
      const headers = { "idempotency-key": "retry-me-1" }
      const first = await call(`${server.url}${paths.image}`, { body, headers })
      expect(first.status).toBe(200)
      const id = first.body.data.detect_task_id
      await waitFor(
        async () => (await call(`${server.url}${paths.result}?detect_task_id=${id}`)).body.data.status === "processing",
        "the task to start"
      )
      // The drain waits for the stuck task (up to 5 s): meanwhile the server still answers.
      const draining = Effect.runPromise(server.server.drain)
      await waitFor(async () => (await call(`${server.url}${paths.image}`, { body })).status === 455, "the drain")
      const again = await call(`${server.url}${paths.image}`, { body, headers })
      expect(again.status).toBe(200)
      expect(again.body.data.detect_task_id).toBe(id)
      await draining
    } finally {
      await server.close()
    }
  })

  it("a task that outlasts every drain is not refunded forever: it ends failed", async () => {
    const dataDir = tempDir()
    let id = ""
    for (let start = 0; start < 8; start++) {
      const server = await startServer(
        { dataDir, shutdownGraceMs: 0, maxAttempts: 2 },
        { dependencies: withDetector(fakeDetector({ detectImage: () => Effect.never })) }
      )
      try {
        if (start === 0) {
          const uploaded = await upload(server.url, photo(1))
          id = (await call(`${server.url}${paths.image}`, { body: { image_url: uploaded.body.data.url } })).body.data
            .detect_task_id
        }
        const status = async () => (await call(`${server.url}${paths.result}?detect_task_id=${id}`)).body.data
        await waitFor(async () => ["processing", "failed"].includes((await status()).status), "a claim")
        if ((await status()).status === "failed") {
          expect((await status()).error.code).toBe("Detect.Timeout")
          expect(start).toBeGreaterThanOrEqual(2)
          return
        }
        await Effect.runPromise(server.server.drain)
      } finally {
        await server.close()
      }
    }
    throw new Error("the task was released and refunded at every start")
  }, 60_000)
})

describe("attempts after a crash", () => {
  const open = (dataDir: string) => SqliteJobStore.make({ dataDir })
  const newTask = (id: string) => ({
    id,
    kind: "image" as const,
    mediaUrl: "https://x.example/a.jpg",
    owner: "k",
    queueLimit: 100
  })

  it("a crash with several tasks in flight charges none of them; the next crash of a task running alone charges it", async () => {
    const dataDir = tempDir()
    const scoped = <A, E>(f: (store: Effect.Effect.Success<ReturnType<typeof open>>) => Effect.Effect<A, E>) =>
      Effect.runPromise(Effect.scoped(Effect.flatMap(open(dataDir), f)))
    // Two tasks running when the process dies (the store closes without ending them).
    await scoped((store) =>
      Effect.gen(function* () {
        yield* store.create(newTask("poisontask0000000p"))
        yield* store.create(newTask("healthytask000000h"))
        yield* store.claim("w1", 60_000)
        yield* store.claim("w2", 60_000)
      })
    )
    const after = await scoped((store) =>
      Effect.gen(function* () {
        yield* store.requeueOrphans(3)
        return [yield* store.get("poisontask0000000p"), yield* store.get("healthytask000000h")].map((t) =>
          Option.getOrThrow(t)
        )
      })
    )
    expect(after.map((t) => [t.state, t.attempts, t.isolated])).toEqual([
      ["queued", 0, true],
      ["queued", 0, true]
    ])
    // The poison task now runs alone and kills the process three times: it fails; the healthy one was never charged.
    for (let crash = 0; crash < 3; crash++) {
      await scoped((store) =>
        Effect.gen(function* () {
          yield* store.requeueOrphans(3)
          const claim = yield* store.claim("w", 60_000)
          expect(Option.getOrThrow(claim).task.id).toBe("poisontask0000000p")
        })
      )
    }
    const final = await scoped((store) =>
      Effect.gen(function* () {
        yield* store.requeueOrphans(3)
        return [yield* store.get("poisontask0000000p"), yield* store.get("healthytask000000h")].map((t) =>
          Option.getOrThrow(t)
        )
      })
    )
    expect(final[0]!.state).toBe("failed")
    expect(final[1]!.state).toBe("queued")
    expect(final[1]!.attempts).toBe(0)
  })

  it("suspects run one at a time, nothing beside them", async () => {
    const dataDir = tempDir()
    const origin = await startOrigin({ "/a.jpg": { body: photo(1) } })
    await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const store = yield* open(dataDir)
          for (let i = 0; i < 3; i++) {
            yield* store.create({
              ...newTask(`suspecttask00000${i}`),
              mediaUrl: `${origin.url}/a.jpg`,
              owner: ApiKeys.fromDigests([require("node:crypto").createHash("sha256").update(testKey).digest()], "env")
                .legacyIds[0]![1]
            })
            yield* store.claim(`w${i}`, 60_000)
          }
        })
      )
    )
    let active = 0
    let most = 0
    const detector = fakeDetector({
      detectImage: () =>
        Effect.acquireUseRelease(
          Effect.sync(() => {
            active++
            most = Math.max(most, active)
          }),
          () => Effect.zipRight(Effect.sleep("150 millis"), faces),
          () => Effect.sync(() => active--)
        )
    })
    const server = await startServer(
      { dataDir, workers: 3, allowPrivateUrls: true },
      { dependencies: withDetector(detector) }
    )
    try {
      for (let i = 0; i < 3; i++)
        expect((await waitTerminal(server.url, `suspecttask00000${i}`)).status).toBe("succeeded")
      expect(most).toBe(1)
    } finally {
      await server.close()
      await origin.close()
    }
  })
})

describe("failed authentication", () => {
  it("is throttled per client address: past a burst of 20, wrong keys get 429", async () => {
    const server = await startServer({})
    try {
      const answers: Array<number> = []
      for (let i = 0; i < 25; i++) {
        answers.push(
          (await call(`${server.url}${paths.result}?detect_task_id=x`, { key: `wrong-key-${i}-000000000` })).status
        )
      }
      expect(answers.slice(0, 20).every((s) => s === 401)).toBe(true)
      expect(answers.slice(20).every((s) => s === 429)).toBe(true)
      const r = await call(`${server.url}${paths.result}?detect_task_id=x`, { key: "wrong-key-again-0000000" })
      expect(Number(r.headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
    } finally {
      await server.close()
    }
  })

  it("does not lock out a key that already worked from the throttled address (found by the soak)", async () => {
    const server = await startServer({})
    try {
      const result = (key: string) => call(`${server.url}${paths.result}?detect_task_id=nosuchtask`, { key })
      // An honest client behind the same address (a NAT, a proxy) works before and after a stale one floods it.
      expect((await result(testKey)).status).toBe(404)
      for (let i = 0; i < 25; i++) await result(`stale-key-${i}-0000000000`)
      expect((await result("stale-key-again-0000000")).status).toBe(429)
      expect((await result(testKey)).status).toBe(404)
      // A key never seen from the address is throttled with the rest: a correct guess is not told apart.
      expect((await result(otherKey)).status).toBe(429)
    } finally {
      await server.close()
    }
  })
})
