/**
 * Durability with real processes: the server runs as a child process (its `main`), is killed with SIGKILL while
 * tasks are queued and in flight, and a restart on the same data directory finishes every task exactly once. Also:
 * SIGTERM drains and exits 0, releasing what could not finish for the next start, and a second server refuses a
 * data directory that is in use.
 */
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as SqliteJobStore from "../src/SqliteJobStore.js"
import { type Child, spawnServer } from "./children.js"
import { call, createImage, type Origin, paths, photo, startOrigin, tempDir, waitTerminal } from "./support.js"

const startChild = (dataDir: string, env: Record<string, string> = {}): Child =>
  spawnServer(["--port", "0", "--data-dir", dataDir], env)

let origin: Origin
const children: Array<Child> = []

beforeAll(async () => {
  origin = await startOrigin({
    "/slow1.jpg": { body: photo(1), delayMs: 300 },
    "/slow2.jpg": { body: photo(2), delayMs: 300 },
    "/slow4.jpg": { body: photo(4), delayMs: 300 },
    "/stuck.jpg": { body: photo(1), delayMs: 20_000 },
    "/one.jpg": { body: photo(1) }
  })
})

afterAll(async () => {
  for (const c of children) c.process.kill("SIGKILL")
  await origin?.close()
})

const track = (c: Child): Child => {
  children.push(c)
  return c
}

describe("restarts", () => {
  it("finishes every queued and in-flight task exactly once after kill -9", async () => {
    const dataDir = tempDir()
    const first = track(startChild(dataDir))
    const base = await first.url
    const sources = ["/slow1.jpg", "/slow2.jpg", "/slow4.jpg"]
    const ids: Array<string> = []
    for (let i = 0; i < 12; i++) ids.push(await createImage(base, `${origin.url}${sources[i % 3]}`))

    // Kill once a worker is mid-task and work is still queued.
    let unfinished: Array<string> = []
    for (let i = 0; i < 200; i++) {
      const states = await Promise.all(ids.map((id) => call(`${base}${paths.result}?detect_task_id=${id}`)))
      const statuses = states.map((s) => s.body.data.status as string)
      if (statuses.includes("processing") && statuses.includes("starting")) {
        unfinished = ids.filter((_, k) => statuses[k] === "processing" || statuses[k] === "starting")
        break
      }
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
    expect(unfinished.length).toBeGreaterThan(0)
    first.process.kill("SIGKILL")
    expect(await first.exit).toBeNull()

    const second = track(startChild(dataDir))
    const base2 = await second.url
    for (const id of ids) {
      const data = await waitTerminal(base2, id)
      expect(data.status, id).toBe("succeeded")
      expect(data.result.faces.length).toBeGreaterThan(0)
    }
    second.process.kill("SIGTERM")
    expect(await second.exit).toBe(0)
    const counts = SqliteJobStore.completionCounts(dataDir)
    for (const id of ids) expect(counts.get(id), id).toBe(1)
  }, 120_000)

  it("SIGTERM drains and exits 0; a task that cannot finish in the grace period resumes at the next start", async () => {
    const dataDir = tempDir()
    const first = track(startChild(dataDir, { FACEDET_SHUTDOWN_GRACE_SECONDS: "1" }))
    const base = await first.url

    // A second server on the same data directory is refused.
    const intruder = track(startChild(dataDir))
    await expect(intruder.url).rejects.toThrow(/in use by another facedet server/)
    expect(await intruder.exit).toBe(1)

    const stuck = await createImage(base, `${origin.url}/stuck.jpg`)
    for (let i = 0; i < 200; i++) {
      if ((await call(`${base}${paths.result}?detect_task_id=${stuck}`)).body.data.status === "processing") break
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
    first.process.kill("SIGTERM")
    // Creates race the signal: one accepted before the drain began is a real task, and on a busy machine it may
    // still be running when the grace period ends, so it is released too.
    let sawDrain = false
    const accepted: Array<string> = []
    for (let i = 0; i < 100 && !sawDrain; i++) {
      const r = await call(`${base}${paths.image}`, { body: { image_url: `${origin.url}/one.jpg` } }).catch(
        () => undefined
      )
      if (r === undefined) break
      if (r.status === 200) accepted.push(r.body.data.detect_task_id as string)
      if (r.status === 455) {
        sawDrain = true
        expect(Number(r.headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
      }
    }
    expect(sawDrain).toBe(true)
    expect(await first.exit).toBe(0)
    const released = Number(/(\d+) unfinished task\(s\) released/.exec(first.output())?.[1])
    expect(released).toBeGreaterThanOrEqual(1)
    expect(released).toBeLessThanOrEqual(1 + accepted.length)

    origin.set("/stuck.jpg", { body: photo(1) })
    const second = track(startChild(dataDir))
    const secondUrl = await second.url
    for (const id of [stuck, ...accepted]) expect((await waitTerminal(secondUrl, id)).status).toBe("succeeded")
    second.process.kill("SIGTERM")
    expect(await second.exit).toBe(0)
    const counts = SqliteJobStore.completionCounts(dataDir)
    for (const id of [stuck, ...accepted]) expect(counts.get(id)).toBe(1)
  }, 120_000)

  it("loses no pending callback to kill -9: the next start delivers it, with the same webhook-id", async () => {
    const dataDir = tempDir()
    // The receiver holds the first attempt open (no answer), so the server dies with the delivery in flight.
    const received: Array<{ id: string; body: string }> = []
    let hold = true
    const receiver = createServer((req, res) => {
      const chunks: Array<Buffer> = []
      req.on("data", (c: Buffer) => chunks.push(c))
      req.on("end", () => {
        received.push({ id: String(req.headers["webhook-id"]), body: Buffer.concat(chunks).toString() })
        if (!hold) res.writeHead(204).end()
      })
    })
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve))
    const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`
    try {
      const first = track(startChild(dataDir))
      const base = await first.url
      const created = await call(`${base}${paths.image}`, {
        body: { image_url: `${origin.url}/one.jpg`, callback_url: hook }
      })
      expect(created.status).toBe(200)
      const id = created.body.data.detect_task_id as string
      for (let i = 0; i < 400 && received.length === 0; i++) await new Promise((r) => setTimeout(r, 25))
      expect(received).toHaveLength(1)
      first.process.kill("SIGKILL")
      expect(await first.exit).toBeNull()

      hold = false
      const second = track(startChild(dataDir))
      const base2 = await second.url
      let callback: { state: string; attempts: number } | undefined
      for (let i = 0; i < 400; i++) {
        callback = (await call(`${base2}${paths.result}?detect_task_id=${id}`)).body.data.callback
        if (callback?.state === "delivered") break
        await new Promise((r) => setTimeout(r, 25))
      }
      expect(callback).toMatchObject({ state: "delivered", attempts: 1 })
      expect(received.map((r) => r.id)).toEqual([`msg_${id}`, `msg_${id}`])
      expect(received[1]!.body).toBe(received[0]!.body)
      expect(JSON.parse(received[1]!.body).status).toBe("succeeded")
      second.process.kill("SIGTERM")
      expect(await second.exit).toBe(0)
    } finally {
      receiver.closeAllConnections()
      receiver.close()
    }
  }, 120_000)
})
