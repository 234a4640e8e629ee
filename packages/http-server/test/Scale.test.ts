/**
 * Several real server processes on one PostgreSQL database (a fresh one, reached through a TCP relay the test can
 * cut): one `all`, one `api`, one `worker`, each with its own scratch directory and the same public URL, as behind
 * a load balancer. Tasks created through both API processes end exactly once though the worker is killed with
 * SIGKILL mid-run; results, face links and uploads answer the same from either API process; a long-poll on one
 * process is woken by a worker in another; and while the database is unreachable, creates answer 455 at once,
 * readiness fails, and everything resumes afterwards with no task lost or completed twice.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import pg from "pg"
import { type Child, spawnServer } from "./children.js"
import { adminUrl, freshDatabase, pgAvailable } from "./pg.js"
import { call, type Origin, paths, photo, startOrigin, tempDir } from "./support.js"
import { type Relay, start as startRelay } from "@facedet/testkit/TcpRelay"

const publicUrl = "http://facedet.test"
/** A link or upload URL of the shared public origin, asked of one process directly. */
const via = (base: string, link: string) => `${base}${link.slice(publicUrl.length)}`

const terminal = (status: string) => status === "succeeded" || status === "failed"

describe.skipIf(!pgAvailable)("several processes on one PostgreSQL", () => {
  let db: { url: string; drop: () => Promise<void> }
  let relay: Relay
  let origin: Origin
  let url: string
  const children: Array<Child> = []
  const bases: Record<"all" | "api" | "worker", string> = { all: "", api: "", worker: "" }

  const start = async (role: "all" | "api" | "worker") => {
    const child = spawnServer(["--port", "0", "--data-dir", tempDir(), "--role", role], {
      FACEDET_DATABASE_URL: url,
      FACEDET_PUBLIC_URL: publicUrl,
      FACEDET_LEASE_SECONDS: "2",
      FACEDET_RATE_LIMIT_RPS: "0",
      FACEDET_WORKERS: "2"
    })
    children.push(child)
    bases[role] = await child.url
    return child
  }

  const completions = async (): Promise<Map<string, number>> => {
    const c = new pg.Client({ connectionString: db.url })
    await c.connect()
    try {
      const rows = (await c.query<{ id: string; completions: number }>("SELECT id, completions FROM tasks")).rows
      return new Map(rows.map((r) => [r.id, r.completions]))
    } finally {
      await c.end()
    }
  }

  const result = async (base: string, id: string, wait = 0) =>
    (await call(`${base}${paths.result}?detect_task_id=${id}${wait > 0 ? `&wait=${wait}` : ""}`)).body.data

  const waitAll = async (ids: ReadonlyArray<string>) => {
    const deadline = Date.now() + 90_000
    for (const [i, id] of ids.entries()) {
      const base = i % 2 === 0 ? bases.all : bases.api
      for (;;) {
        const r = await call(`${base}${paths.result}?detect_task_id=${id}&wait=10`)
        if (r.status === 200 && terminal(r.body.data.status)) break
        if (Date.now() > deadline) throw new Error(`task ${id} did not end: ${JSON.stringify(r.body)}`)
      }
    }
  }

  beforeAll(async () => {
    db = await freshDatabase()
    const admin = new URL(adminUrl)
    relay = await startRelay({ host: admin.hostname, port: Number(admin.port || 5432) })
    const u = new URL(db.url)
    u.host = `127.0.0.1:${relay.port}`
    url = u.toString()
    const routes: Record<string, { body: Buffer; delayMs?: number }> = {}
    for (let n = 1; n <= 6; n++) routes[`/p${n}.jpg`] = { body: photo(n), delayMs: 150 }
    origin = await startOrigin(routes)
    // The first start migrates; the other two find the schema in place.
    await start("all")
    await Promise.all([start("api"), start("worker")])
  }, 120_000)

  afterAll(async () => {
    for (const c of children) c.process.kill("SIGKILL")
    await Promise.all(children.map((c) => c.exit))
    await origin?.close()
    await relay?.close()
    await db?.drop()
  })

  it("ends every task exactly once with a worker killed mid-run; results, links and uploads answer from every api process", async () => {
    const uploaded = await call(`${bases.api}${paths.upload}`, { raw: photo(3) })
    expect(uploaded.status).toBe(200)
    const uploadUrl = uploaded.body.data.url as string
    expect(uploadUrl.startsWith(`${publicUrl}/uploads/`)).toBe(true)

    const ids: Array<string> = []
    const create = async (i: number, imageUrl: string) => {
      const base = i % 2 === 0 ? bases.all : bases.api
      const r = await call(`${base}${paths.image}`, { body: { image_url: imageUrl } })
      expect(r.status, JSON.stringify(r.body)).toBe(200)
      ids.push(r.body.data.detect_task_id)
    }
    // An upload made through the api process, detected through the other one.
    await create(0, uploadUrl)
    for (let i = 1; i < 40; i++) await create(i, `${origin.url}/p${(i % 6) + 1}.jpg`)

    // Kill the worker process while it holds tasks, then start a new one.
    const worker = children.find((c) => c.process.spawnargs.includes("worker"))!
    for (let i = 0; i < 100; i++) {
      const ended = [...(await completions()).values()].filter((n) => n > 0).length
      if (ended >= 5) break
      await new Promise((r) => setTimeout(r, 100))
    }
    worker.process.kill("SIGKILL")
    await worker.exit
    await start("worker")

    await waitAll(ids)
    const counts = await completions()
    for (const id of ids) expect(counts.get(id), id).toBe(1)

    for (const id of ids) {
      const [a, b] = [await result(bases.all, id), await result(bases.api, id)]
      expect(a.status).toBe("succeeded")
      expect(b.result.id).toBe(a.result.id)
    }
    // Links from every api process: the same bytes, whichever process wrote them.
    for (const id of [ids[0]!, ids[1]!, ids[2]!]) {
      const task = await result(bases.all, id)
      for (const face of task.result.faces.slice(0, 2)) {
        const [one, two] = await Promise.all([fetch(via(bases.all, face.link)), fetch(via(bases.api, face.link))])
        expect([one.status, two.status]).toEqual([200, 200])
        expect(one.headers.get("content-type")).toBe("image/jpeg")
        expect(Buffer.from(await one.arrayBuffer()).equals(Buffer.from(await two.arrayBuffer()))).toBe(true)
      }
    }
    // The worker's port answers probes only.
    expect((await call(`${bases.worker}/healthz`)).status).toBe(200)
    expect((await call(`${bases.worker}${paths.result}?detect_task_id=${ids[0]}`)).status).toBe(404)
  }, 150_000)

  it("a long-poll on the api process is answered as soon as a worker elsewhere finishes", async () => {
    const r = await call(`${bases.api}${paths.image}`, { body: { image_url: `${origin.url}/p2.jpg` } })
    const id = r.body.data.detect_task_id as string
    const data = await result(bases.api, id, 20)
    const answered = Date.now()
    expect(data.status).toBe("succeeded")
    const c = new pg.Client({ connectionString: db.url })
    await c.connect()
    const finished = Number((await c.query("SELECT finished_at FROM tasks WHERE id = $1", [id])).rows[0].finished_at)
    await c.end()
    // Woken by NOTIFY, not found by the 5 s re-read.
    expect(answered - finished).toBeLessThan(2000)
  }, 60_000)

  it("while the database is unreachable creates answer 455 at once and readiness fails; afterwards nothing is lost or doubled", async () => {
    const ids: Array<string> = []
    for (let i = 0; i < 12; i++) {
      const base = i % 2 === 0 ? bases.all : bases.api
      const r = await call(`${base}${paths.image}`, { body: { image_url: `${origin.url}/p${(i % 6) + 1}.jpg` } })
      ids.push(r.body.data.detect_task_id)
    }
    relay.cut()
    try {
      for (const base of [bases.all, bases.api]) {
        const began = Date.now()
        const refused = await call(`${base}${paths.image}`, { body: { image_url: `${origin.url}/p1.jpg` } })
        // 455 is the wire's "service unavailable" (the same answer as a drain), with the envelope.
        expect(refused.status).toBe(455)
        expect(refused.body).toMatchObject({ code: 455, data: null })
        expect(refused.body.message).toMatch(/database is unreachable/)
        expect(refused.headers.get("retry-after")).not.toBeNull()
        expect(Date.now() - began).toBeLessThan(5000)
        expect((await call(`${base}/readyz`)).status).toBe(455)
      }
      await new Promise((r) => setTimeout(r, 3000))
    } finally {
      relay.restore()
    }
    await waitAll(ids)
    const counts = await completions()
    for (const id of ids) expect(counts.get(id), id).toBe(1)
    for (const base of [bases.all, bases.api]) expect((await call(`${base}/readyz`)).status).toBe(200)
  }, 150_000)
})
