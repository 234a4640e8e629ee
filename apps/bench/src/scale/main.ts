/**
 * Scale-out on PostgreSQL, measured in one run against the built server (`dist/main.js`, child processes) on this
 * machine's PostgreSQL (FACEDET_BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test; each
 * configuration gets a fresh database, dropped afterwards). The processes reach the database through a relay that
 * counts round trips (`wireRelay`).
 *
 * 1. Throughput: `SCALE_TASKS` (200) image tasks queued at once on fresh processes, on the same cores with the same
 *    total detector sessions: the single SQLite process (baseline), then one api process with 1, 2 and 3 worker
 *    processes (sessions split between them; three workers get one session each, so three sessions share the two
 *    cores). `SCALE_ROUNDS` (3) rounds, each running every configuration once; ratios are medians of the rounds'
 *    ratios. Also database round trips, transactions and WAL bytes per task (target: two workers >= 0.9x one).
 * 2. The scenario of the issue, on three processes (api, all, worker): 1,000 tasks (100 of them on uploads made
 *    through the other api process) created round-robin through the two api processes, the worker killed with
 *    SIGKILL a third of the way and restarted: every task ends exactly once, detect_ids agree between the api
 *    processes, every face link answers from both. A long-poll on the api process: time from the task's end (the
 *    database's finished_at) to the answer, p50 over 30 tasks (target <= 100 ms). PostgreSQL stopped for 10 s
 *    during 300 tasks (`pg_ctlcluster` when run as root, else the relay cuts the network): answers while it is down,
 *    time to recover, nothing lost or doubled.
 *
 * Writes `apps/bench/results/scale.json`.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { availableParallelism, tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import pg from "pg"
import { median } from "../median.js"
import * as WireRelay from "./wireRelay.js"

const here = dirname(fileURLToPath(import.meta.url))
const benchRoot = join(here, "..", "..")
const serverMain = fileURLToPath(new URL("../dist/main.js", import.meta.resolve("@facedet/http-server")))
const photo = readFileSync(join(benchRoot, "data", "faces-dev", "2007_007763.jpg"))
const key = "bench-key-0123456789abcdef"
const adminUrl = process.env.FACEDET_BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test"
const tasks = Number(process.env.SCALE_TASKS ?? 200)
const rounds = Number(process.env.SCALE_ROUNDS ?? 3)
const cores = availableParallelism()
const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d
const quantile = (xs: ReadonlyArray<number>, q: number) =>
  [...xs].sort((a, b) => a - b)[Math.floor(q * (xs.length - 1))]!
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const publicUrl = "http://facedet.bench"

// biome-ignore lint/suspicious/noExplicitAny: envelope fields are read by name
type Json = any

const query = async <R extends pg.QueryResultRow>(url: string, text: string, values: Array<unknown> = []) => {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 })
  await c.connect()
  try {
    return (await c.query<R>(text, values)).rows
  } finally {
    await c.end()
  }
}

const freshDatabase = async () => {
  const name = `facedet_bench_${Math.random().toString(36).slice(2, 10)}`
  await query(adminUrl, `CREATE DATABASE ${name}`)
  const u = new URL(adminUrl)
  u.pathname = `/${name}`
  return { name, url: u.toString(), drop: () => query(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) }
}

interface Proc {
  readonly role: "all" | "api" | "worker"
  readonly workers: number
  readonly sessions: number
}

interface Child {
  readonly proc: Proc
  readonly process: ChildProcess
  readonly url: Promise<string>
  readonly exit: Promise<number | null>
}

const startProc = (proc: Proc, databaseUrl: string | undefined, extraEnv: Record<string, string> = {}): Child => {
  const child = spawn(
    process.execPath,
    [serverMain, "--port", "0", "--data-dir", mkdtempSync(join(tmpdir(), "facedet-scale-")), "--role", proc.role],
    {
      env: {
        ...process.env,
        FACEDET_API_KEYS: key,
        FACEDET_ALLOW_PRIVATE_URLS: "true",
        FACEDET_PUBLIC_URL: publicUrl,
        FACEDET_RATE_LIMIT_RPS: "0",
        FACEDET_WORKERS: String(proc.workers),
        FACEDET_DETECTOR_SESSIONS: String(proc.sessions),
        FACEDET_QUEUE_SIZE: "100000",
        FACEDET_KEY_MAX_TASKS: "100000",
        ...(databaseUrl !== undefined ? { FACEDET_DATABASE_URL: databaseUrl } : {}),
        ...extraEnv
      },
      stdio: ["ignore", "pipe", "pipe"]
    }
  )
  let out = ""
  child.stderr!.on("data", (c: Buffer) => {
    out += c.toString()
  })
  const url = new Promise<string>((resolve, reject) => {
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString()
      const m = /listening on (http:\/\/\S+)/.exec(out)
      if (m) resolve(m[1]!)
    })
    child.once("exit", (code) => reject(new Error(`server exited (${code}) before listening:\n${out}`)))
  })
  return { proc, process: child, url, exit: new Promise((resolve) => child.once("exit", resolve)) }
}

const api = async (
  base: string,
  path: string,
  body?: unknown,
  raw?: Uint8Array
): Promise<{ status: number; json: Json }> => {
  const res = await fetch(`${base}${path}`, {
    method: body === undefined && raw === undefined ? "GET" : "POST",
    headers: { "x-api-key": key, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : raw !== undefined ? { body: raw } : {})
  })
  const text = await res.text()
  return { status: res.status, json: text.startsWith("{") ? JSON.parse(text) : text }
}

const create = async (base: string, imageUrl: string): Promise<string> => {
  for (;;) {
    const r = await api(base, "/api/v1/client/job/detect-face-image", { image_url: imageUrl })
    if (r.status === 200) return r.json.data.detect_task_id
    if (r.status !== 455 && r.status !== 503 && r.status !== 429)
      throw new Error(`create: ${r.status} ${JSON.stringify(r.json)}`)
    await sleep(500)
  }
}

const waitEnded = async (base: string, id: string): Promise<Json> => {
  for (;;) {
    const r = await api(base, `/api/v1/client/job/detect-face-result?detect_task_id=${id}&wait=30`)
    if (r.status === 200 && (r.json.data.status === "succeeded" || r.json.data.status === "failed")) return r.json.data
    if (r.status !== 200) await sleep(500)
  }
}

/** Runs `f` over `items` with at most `limit` in flight. */
const pool = async <A, B>(items: ReadonlyArray<A>, limit: number, f: (a: A, i: number) => Promise<B>) => {
  const out: Array<B> = new Array(items.length)
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++
        out[i] = await f(items[i]!, i)
      }
    })
  )
  return out
}

const startOrigin = async () => {
  const server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "image/jpeg", "content-length": photo.length })
    res.end(photo)
  })
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/photo.jpg`, close: () => server.close() }
}

const walLsn = async () => (await query<{ lsn: string }>(adminUrl, "SELECT pg_current_wal_lsn()::text AS lsn"))[0]!.lsn
const walBytes = async (from: string) =>
  Number(
    (await query<{ n: string }>(adminUrl, "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1)::text AS n", [from]))[0]!.n
  )
const commits = async (name: string) =>
  Number(
    (
      await query<{ n: string }>(adminUrl, "SELECT xact_commit::text AS n FROM pg_stat_database WHERE datname = $1", [
        name
      ])
    )[0]!.n
  )

// ---------------------------------------------------------------------------------------------------------------
// 1. throughput
// ---------------------------------------------------------------------------------------------------------------

interface Config {
  readonly name: string
  readonly procs: ReadonlyArray<Proc>
  readonly postgres: boolean
}

const onlyConfigs = process.env.SCALE_CONFIGS?.split(",").map(Number)
const allConfigs: ReadonlyArray<Config> = [
  { name: "sqlite, 1 process", postgres: false, procs: [{ role: "all", workers: cores, sessions: cores }] },
  {
    name: "postgres, api + 1 worker",
    postgres: true,
    procs: [
      { role: "api", workers: 1, sessions: 1 },
      { role: "worker", workers: 2 * cores, sessions: cores }
    ]
  },
  {
    name: "postgres, api + 2 workers",
    postgres: true,
    procs: [
      { role: "api", workers: 1, sessions: 1 },
      ...Array.from({ length: 2 }, (): Proc => ({ role: "worker", workers: cores, sessions: Math.max(1, cores / 2) }))
    ]
  },
  {
    name: "postgres, api + 3 workers",
    postgres: true,
    procs: [
      { role: "api", workers: 1, sessions: 1 },
      ...Array.from({ length: 3 }, (): Proc => ({ role: "worker", workers: 2, sessions: 1 }))
    ]
  }
]

const configs = onlyConfigs ? allConfigs.filter((_, i) => onlyConfigs.includes(i)) : allConfigs

/** One batch of `tasks` on fresh processes (and a fresh database): tasks/s, and per task the database's work. */
const batch = async (config: Config, imageUrl: string) => {
  const db = config.postgres ? await freshDatabase() : undefined
  const target = { host: new URL(adminUrl).hostname, port: Number(new URL(adminUrl).port || 5432) }
  const relay = db ? await WireRelay.start(target) : undefined
  const dbUrl =
    db && relay
      ? (() => {
          const u = new URL(db.url)
          u.host = `127.0.0.1:${relay.port}`
          return u.toString()
        })()
      : undefined
  const children: Array<Child> = []
  try {
    // One process first (it migrates), then the rest together.
    children.push(startProc(config.procs[0]!, dbUrl))
    await children[0]!.url
    for (const p of config.procs.slice(1)) children.push(startProc(p, dbUrl))
    const urls = await Promise.all(children.map((c) => c.url))
    const apis = urls.filter((_, i) => config.procs[i]!.role !== "worker")
    // Warm-up: every session's first inference.
    await pool(Array.from({ length: 12 }), 6, async (_, i) =>
      waitEnded(apis[0]!, await create(apis[i % apis.length]!, imageUrl))
    )
    relay?.reset()
    const lsn = db ? await walLsn() : ""
    const commits0 = db ? await commits(db.name) : 0
    const t0 = performance.now()
    const ids = await pool(Array.from({ length: tasks }), 16, (_, i) => create(apis[i % apis.length]!, imageUrl))
    const ended = await pool(ids, 64, (id, i) => waitEnded(apis[i % apis.length]!, id))
    const seconds = (performance.now() - t0) / 1000
    if (ended.some((d) => d.status !== "succeeded")) throw new Error(`${config.name}: a task failed`)
    return {
      perSecond: tasks / seconds,
      ...(db && relay
        ? {
            trips: relay.roundTrips() / tasks,
            wal: (await walBytes(lsn)) / tasks,
            xacts: ((await commits(db.name)) - commits0) / tasks
          }
        : {})
    }
  } finally {
    for (const c of children) c.process.kill("SIGTERM")
    await Promise.all(children.map((c) => Promise.race([c.exit, sleep(10_000)])))
    for (const c of children) c.process.kill("SIGKILL")
    await relay?.close()
    await db?.drop()
  }
}

/**
 * Every configuration once per round, rounds interleaved (a machine that speeds up or slows down during the run
 * shifts every configuration alike); each ratio is the median of the rounds' ratios.
 */
const throughput = async (imageUrl: string) => {
  const runs = configs.map(() => [] as Array<Awaited<ReturnType<typeof batch>>>)
  for (let r = 0; r < rounds; r++) {
    for (const [i, config] of configs.entries()) {
      const run = await batch(config, imageUrl)
      runs[i]!.push(run)
      console.log(`round ${r + 1}, ${config.name}: ${round(run.perSecond, 2)} tasks/s`)
    }
  }
  const ratio = (i: number, of: number) =>
    runs[i] && runs[of]
      ? round(median(runs[i]!.map((run, r) => run.perSecond / runs[of]![r]!.perSecond)), 2)
      : Number.NaN
  return configs.map((config, i) => {
    const mine = runs[i]!
    const pg = mine.filter((run) => run.trips !== undefined)
    return {
      config: config.name,
      processes: config.procs.map((p) => `${p.role}(${p.workers}w/${p.sessions}s)`).join(" + "),
      tasksPerSecond: round(median(mine.map((run) => run.perSecond)), 2),
      rounds: mine.map((run) => round(run.perSecond, 2)),
      ofSqlite: ratio(i, 0),
      ofOneWorker: ratio(i, 1),
      ...(pg.length > 0
        ? {
            roundTripsPerTask: round(median(pg.map((run) => run.trips!)), 1),
            transactionsPerTask: round(median(pg.map((run) => run.xacts!)), 1),
            walBytesPerTask: Math.round(median(pg.map((run) => run.wal!)))
          }
        : {})
    }
  })
}

// ---------------------------------------------------------------------------------------------------------------
// 2. the scenario
// ---------------------------------------------------------------------------------------------------------------

const pgCluster = (): { stop: () => void; start: () => void } | undefined => {
  if (process.getuid?.() !== 0 || !existsSync("/etc/postgresql")) return undefined
  const version = readdirSync("/etc/postgresql")[0]
  if (version === undefined) return undefined
  const ctl = (action: string) =>
    execFileSync(
      "pg_ctlcluster",
      ["--skip-systemctl-redirect", version, "main", action, ...(action === "stop" ? ["-m", "fast"] : [])],
      {
        stdio: "ignore"
      }
    )
  return { stop: () => ctl("stop"), start: () => ctl("start") }
}

const scenario = async (imageUrl: string) => {
  const db = await freshDatabase()
  const relay = await WireRelay.start({
    host: new URL(adminUrl).hostname,
    port: Number(new URL(adminUrl).port || 5432)
  })
  const u = new URL(db.url)
  u.host = `127.0.0.1:${relay.port}`
  const dbUrl = u.toString()
  const env = { FACEDET_LEASE_SECONDS: "5" }
  const half = Math.max(1, cores / 2)
  const children: Array<Child> = []
  const start = async (proc: Proc) => {
    const c = startProc(proc, dbUrl, env)
    children.push(c)
    return { child: c, url: await c.url }
  }
  try {
    const a = await start({ role: "api", workers: 1, sessions: 1 })
    const b = await start({ role: "all", workers: half, sessions: half })
    let w = await start({ role: "worker", workers: half, sessions: half })
    const apis = [a.url, b.url]
    const via = (base: string, link: string) => `${base}${link.slice(publicUrl.length)}`
    const ended = async () =>
      Number(
        (
          await query<{ n: string }>(
            db.url,
            "SELECT count(*)::text AS n FROM tasks WHERE state IN ('succeeded','failed')"
          )
        )[0]!.n
      )

    // 1,000 tasks: 100 on uploads made through the other api process.
    const n = 1000
    const uploads = await pool(Array.from({ length: 100 }), 8, async (_, i) => {
      const r = await api(apis[(i + 1) % 2]!, "/api/v1/client/upload", undefined, photo)
      if (r.status !== 200) throw new Error(`upload: ${JSON.stringify(r.json)}`)
      return r.json.data.url as string
    })
    const t0 = performance.now()
    let killedAt = 0
    const killer = (async () => {
      while ((await ended()) < n / 3) await sleep(100)
      killedAt = await ended()
      w.child.process.kill("SIGKILL")
      await w.child.exit
      w = await start({ role: "worker", workers: half, sessions: half })
    })()
    const ids = await pool(Array.from({ length: n }), 16, (_, i) =>
      create(apis[i % 2]!, i < 100 ? uploads[i]! : imageUrl)
    )
    await killer
    const results = await pool(ids, 64, (id, i) => waitEnded(apis[i % 2]!, id))
    const seconds = (performance.now() - t0) / 1000
    const counts = new Map(
      (await query<{ id: string; completions: number }>(db.url, "SELECT id, completions FROM tasks")).map((r) => [
        r.id,
        r.completions
      ])
    )
    const lost = ids.filter((id) => (counts.get(id) ?? 0) === 0).length
    const doubled = ids.filter((id) => (counts.get(id) ?? 0) > 1).length
    const succeeded = results.filter((r) => r.status === "succeeded").length
    // Every result and face link from both api processes.
    let idMismatch = 0
    let linkFailures = 0
    let links = 0
    await pool(ids, 16, async (id) => {
      const [x, y] = await Promise.all(
        apis.map((base) => api(base, `/api/v1/client/job/detect-face-result?detect_task_id=${id}`))
      )
      if (x!.json.data.result?.id !== y!.json.data.result?.id) idMismatch++
      for (const face of x!.json.data.result?.faces ?? []) {
        for (const base of apis) {
          links++
          const res = await fetch(via(base, face.link))
          await res.arrayBuffer()
          if (res.status !== 200) linkFailures++
        }
      }
    })

    // Long-poll on the api process, finished by a worker elsewhere.
    const wake: Array<number> = []
    for (let i = 0; i < 30; i++) {
      const id = await create(a.url, imageUrl)
      await waitEnded(a.url, id)
      const answered = Date.now()
      const finished = Number(
        (await query<{ f: string }>(db.url, "SELECT finished_at::text AS f FROM tasks WHERE id = $1", [id]))[0]!.f
      )
      wake.push(answered - finished)
    }

    // The database stopped for 10 s during 300 tasks.
    const cluster = pgCluster()
    const outageIds: Array<string> = []
    const creating = pool(Array.from({ length: 300 }), 8, async (_, i) => {
      outageIds.push(await create(apis[i % 2]!, imageUrl))
    })
    const before = await ended()
    while ((await ended()) < before + 60) await sleep(50)
    const down = performance.now()
    if (cluster) cluster.stop()
    else relay.cut()
    const probes: Array<{ status: number; ms: number }> = []
    // Whatever happens during the outage, the database comes back.
    let stopped = true
    const restart = () => {
      if (!stopped) return
      stopped = false
      if (cluster) cluster.start()
      else relay.restore()
    }
    process.once("exit", () => {
      try {
        restart()
      } catch {}
    })
    while (performance.now() - down < 10_000) {
      const t = performance.now()
      const r = await api(apis[probes.length % 2]!, "/api/v1/client/job/detect-face-image", {
        image_url: imageUrl
      }).catch(() => ({ status: 0, json: null }))
      probes.push({ status: r.status, ms: performance.now() - t })
      if (r.status === 200) outageIds.push(r.json.data.detect_task_id)
      const ready = await fetch(`${apis[0]}/readyz`).then(
        (res) => res.status,
        () => 0
      )
      probes.push({ status: ready === 200 ? -200 : -ready, ms: 0 })
      await sleep(500)
    }
    restart()
    const up = performance.now()
    let recoveredMs = Number.NaN
    for (;;) {
      const r = await api(a.url, "/api/v1/client/job/detect-face-image", { image_url: imageUrl }).catch(() => ({
        status: 0,
        json: null
      }))
      if (r.status === 200) {
        outageIds.push(r.json.data.detect_task_id)
        recoveredMs = performance.now() - up
        break
      }
      await sleep(100)
    }
    await creating
    await pool(outageIds, 64, (id, i) => waitEnded(apis[i % 2]!, id))
    const after = new Map(
      (await query<{ id: string; completions: number }>(db.url, "SELECT id, completions FROM tasks")).map((r) => [
        r.id,
        r.completions
      ])
    )
    const creates = probes.filter((p) => p.status >= 0)
    return {
      thousand: {
        tasks: n,
        fromUploads: 100,
        processes: "api(1w) + all + worker, one PostgreSQL",
        killedWorkerAfter: killedAt,
        seconds: round(seconds),
        succeeded,
        lost,
        completedTwice: doubled,
        detectIdMismatches: idMismatch,
        faceLinks: links,
        faceLinkFailures: linkFailures
      },
      longPollWake: {
        tasks: wake.length,
        p50Ms: quantile(wake, 0.5),
        p90Ms: quantile(wake, 0.9),
        maxMs: Math.max(...wake)
      },
      outage: {
        how: cluster ? "pg_ctlcluster stop -m fast, 10 s, start" : "network cut by the relay, 10 s",
        tasks: outageIds.length,
        createsDuringOutage: creates.length,
        createAnswers: [...new Set(creates.map((p) => p.status))],
        slowestCreateAnswerMs: Math.round(Math.max(...creates.map((p) => p.ms))),
        readyzDuringOutage: [...new Set(probes.filter((p) => p.status < 0).map((p) => -p.status))],
        recoveredMsAfterStart: Math.round(recoveredMs),
        lost: outageIds.filter((id) => (after.get(id) ?? 0) === 0).length,
        completedTwice: outageIds.filter((id) => (after.get(id) ?? 0) > 1).length
      }
    }
  } finally {
    for (const c of children) c.process.kill("SIGTERM")
    await Promise.all(children.map((c) => Promise.race([c.exit, sleep(10_000)])))
    for (const c of children) c.process.kill("SIGKILL")
    await relay.close()
    await db.drop()
  }
}

/**
 * How fast creates go through one and two api processes with no worker (nothing else competes for the cores): every
 * create takes the queue bound's advisory lock, so if that lock were the limit, two processes would not go faster.
 */
const createCeiling = async (imageUrl: string, apis: number) => {
  const db = await freshDatabase()
  const first = startProc({ role: "api", workers: 1, sessions: 1 }, db.url)
  const children = [first]
  try {
    await first.url
    for (let i = 1; i < apis; i++) children.push(startProc({ role: "api", workers: 1, sessions: 1 }, db.url))
    const bases = await Promise.all(children.map((c) => c.url))
    await pool(Array.from({ length: 50 }), 16, (_, i) => create(bases[i % apis]!, imageUrl))
    const n = 2000
    const t0 = performance.now()
    await pool(Array.from({ length: n }), 32, (_, i) => create(bases[i % apis]!, imageUrl))
    const seconds = (performance.now() - t0) / 1000
    return { apiProcesses: apis, creates: n, concurrency: 32, createsPerSecond: round(n / seconds, 0) }
  } finally {
    for (const c of children) c.process.kill("SIGTERM")
    await Promise.all(children.map((c) => Promise.race([c.exit, sleep(10_000)])))
    for (const c of children) c.process.kill("SIGKILL")
    await db.drop()
  }
}

const main = async () => {
  const origin = await startOrigin()
  try {
    const table = configs.length > 0 ? await throughput(origin.url) : []
    console.table(table.map(({ rounds: _, ...r }) => r))
    const creates =
      process.env.SCALE_CREATES === "0"
        ? undefined
        : [await createCeiling(origin.url, 1), await createCeiling(origin.url, 2)]
    for (const c of creates ?? [])
      console.log(`creates through ${c.apiProcesses} api process(es): ${c.createsPerSecond}/s`)
    const story = process.env.SCALE_SCENARIO === "0" ? undefined : await scenario(origin.url)
    if (story) console.log(JSON.stringify(story, null, 2))
    const twoOverOne = table.find((r) => r.config === allConfigs[2]!.name)?.ofOneWorker ?? Number.NaN
    const out = {
      date: new Date().toISOString(),
      cores,
      tasksPerRound: tasks,
      rounds,
      throughput: table,
      ...(creates ? { createCeiling: creates } : {}),
      targets: {
        "two workers >= 0.9x one": { ratio: twoOverOne, met: twoOverOne >= 0.9 },
        ...(story
          ? {
              "every task exactly once": {
                met:
                  story.thousand.lost === 0 &&
                  story.thousand.completedTwice === 0 &&
                  story.outage.lost === 0 &&
                  story.outage.completedTwice === 0
              },
              "long-poll wake p50 <= 100 ms": { p50Ms: story.longPollWake.p50Ms, met: story.longPollWake.p50Ms <= 100 }
            }
          : {})
      },
      ...(story ?? {})
    }
    // Only a whole run is a result; a partial one (SCALE_CONFIGS, SCALE_SCENARIO=0, SCALE_CREATES=0) only prints.
    if (configs.length === allConfigs.length && story !== undefined && creates !== undefined) {
      mkdirSync(join(benchRoot, "results"), { recursive: true })
      writeFileSync(join(benchRoot, "results", "scale.json"), `${JSON.stringify(out, null, 2)}\n`)
    }
    console.log(JSON.stringify(out.targets, null, 2))
  } finally {
    origin.close()
  }
}

await main()
