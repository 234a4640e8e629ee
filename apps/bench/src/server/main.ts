/**
 * The self-hosted server's three targets, measured in one run against the built server (`dist/main.js`, a child
 * process run with the node options of its first line, as the `facedet-server` bin runs) on loopback:
 *
 * 1. create -> `succeeded` seen by a long-polling client, on an idle server, for a 500x375 photo served by a
 *    loopback origin: p50 over 30 runs after 30 warm-up runs (target <= 60 ms);
 * 2. `GET detect-face-result` with 50 connections (autocannon): requests/s against a bare `node:http` server (also
 *    a child process) answering the same JSON bytes, in alternating rounds; the ratio is the median of the rounds'
 *    ratios, so a machine that slows down or speeds up between rounds skews it less; the server's p99 (targets:
 *    ratio >= 0.5, p99 <= 20 ms);
 * 3. 1,000 image tasks queued at once: all succeed, none lost or duplicated (completion counts read from the store
 *    after shutdown), peak server RSS from /proc (target <= 500 MB);
 *    1 and 3 are also judged against the detector alone, measured in this process while the server is idle
 *    (`detectorAlone`): create -> succeeded at most 8 ms over one detection with crops, and 1,000 tasks at least
 *    0.8 of the detector's own rate with crops;
 * 4. callbacks to a loopback receiver: the time from a task's end (its long-poll answer reaching the client) to its
 *    callback reaching the receiver, p50 and p99 over 30 tasks one at a time; and the dispatcher's own rate: 80
 *    deliveries held back by a receiver that does not answer until every task has ended, then released at once,
 *    delivered per second from the release to the last one.
 *
 * Writes `apps/bench/results/server.json`.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { availableParallelism, loadavg, tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { SqliteJobStore } from "@facedet/http-server"
import autocannon from "autocannon"
import { detectorAlone } from "./detectorAlone.js"
import { median, quantile } from "../median.js"

const here = dirname(fileURLToPath(import.meta.url))
const benchRoot = join(here, "..", "..")
const serverMain = fileURLToPath(new URL("../dist/main.js", import.meta.resolve("@facedet/http-server")))
const photoPath = join(benchRoot, "data", "faces-dev", "2007_007763.jpg")
const key = "bench-key-0123456789abcdef"

/** Tasks a fresh server runs before its end-to-end latency is measured (see 1. below). */
const warmUpRuns = 30

const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d

interface Child {
  readonly process: ChildProcess
  readonly url: Promise<string>
  readonly exit: Promise<number | null>
}

/** The node options of `facedet-server`'s first line (`#!/usr/bin/env -S node ...`): the server runs as its bin does. */
const binFlags = (
  /^#!\/usr\/bin\/env -S node(.*)$/m.exec(readFileSync(serverMain, "utf8").split("\n", 1)[0]!)?.[1] ?? ""
)
  .split(" ")
  .filter((flag) => flag !== "")

const startServer = (dataDir: string, env: Record<string, string> = {}): Child => {
  const child = spawn(process.execPath, [...binFlags, serverMain, "--port", "0", "--data-dir", dataDir], {
    env: {
      ...process.env,
      ...env,
      FACEDET_API_KEYS: key,
      FACEDET_ALLOW_PRIVATE_URLS: "true",
      // The limiter still runs on every request; it just never refuses here.
      FACEDET_RATE_LIMIT_RPS: "100000000",
      FACEDET_RATE_LIMIT_BURST: "100000000"
    },
    stdio: ["ignore", "pipe", "inherit"]
  })
  let out = ""
  const url = new Promise<string>((resolve, reject) => {
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString()
      const m = /listening on (http:\/\/\S+)/.exec(out)
      if (m) resolve(m[1]!)
    })
    child.once("exit", (code) => reject(new Error(`server exited (${code}) before listening`)))
  })
  return { process: child, url, exit: new Promise((resolve) => child.once("exit", resolve)) }
}

/** Peak resident set size of a process, from /proc (Linux). */
const peakRssMb = (pid: number): number => {
  const status = readFileSync(`/proc/${pid}/status`, "utf8")
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN)
  return round(kb / 1024)
}

/** CPU time a process has used so far, every thread, in ms (Linux /proc; clock ticks of 10 ms). */
const processCpuMs = (pid: number): number => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
  // utime and stime are fields 14 and 15 of stat(5); [1] above starts at field 3.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100
}

/** Minor page faults a process has taken so far, every thread (field 10 of stat(5)). */
const minorFaults = (pid: number): number =>
  Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[7])

/** The server's metrics as `name{labels}` -> value (Prometheus text). */
const scrape = async (base: string): Promise<Map<string, number>> => {
  const text = await (await fetch(`${base}/metrics`)).text()
  const values = new Map<string, number>()
  for (const line of text.split("\n")) {
    const m = /^(\S+) (\S+)$/.exec(line)
    if (m && !line.startsWith("#")) values.set(m[1]!, Number(m[2]))
  }
  return values
}

/**
 * One image task's timeline over the runs between two scrapes: the mean of each stage the server times
 * (`facedet_task_stage_seconds`) and of the create call as the server saw it, in ms.
 */
const timeline = (before: Map<string, number>, after: Map<string, number>) => {
  const mean = (name: string, labels: string) => {
    const delta = (suffix: string) =>
      (after.get(`${name}_${suffix}{${labels}}`) ?? 0) - (before.get(`${name}_${suffix}{${labels}}`) ?? 0)
    return round((delta("sum") / delta("count")) * 1000, 2)
  }
  const stage = (name: string) => mean("facedet_task_stage_seconds", `kind="image",stage="${name}"`)
  return {
    createAnswered: mean(
      "facedet_http_request_duration_seconds",
      'route="/api/v1/client/job/detect-face-image",code="200"'
    ),
    queued: stage("queued"),
    download: stage("download"),
    detect: stage("detect"),
    record: stage("record"),
    cropsAfterwards: stage("crops")
  }
}

/** An answer body; the bench reads a few known fields. */
// biome-ignore lint/suspicious/noExplicitAny: envelope fields are read by name
type Json = any

const api = async (base: string, path: string, body?: unknown): Promise<{ status: number; json: Json }> => {
  const res = await fetch(`${base}${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { "x-api-key": key, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  return { status: res.status, json: await res.json() }
}

const createAndWait = async (base: string, imageUrl: string): Promise<{ ms: number; data: Json }> => {
  const t0 = performance.now()
  const created = await api(base, "/api/v1/client/job/detect-face-image", { image_url: imageUrl })
  if (created.status !== 200) throw new Error(`create: ${JSON.stringify(created.json)}`)
  const id = created.json.data.detect_task_id
  for (;;) {
    const r = await api(base, `/api/v1/client/job/detect-face-result?detect_task_id=${id}&wait=30`)
    const status = r.json.data.status
    if (status === "succeeded" || status === "failed") return { ms: performance.now() - t0, data: r.json.data }
  }
}

const cannon = (url: string, seconds: number): Promise<autocannon.Result> =>
  new Promise((resolve, reject) =>
    autocannon({ url, connections: 50, duration: seconds, headers: { "x-api-key": key } }, (err, result) =>
      err ? reject(err) : resolve(result)
    )
  )

const bareServerSource = (body: string) => `
const http = require("node:http")
const body = ${JSON.stringify(body)}
const s = http.createServer((req, res) => { res.writeHead(200, { "content-type": "application/json; charset=utf-8" }); res.end(body) })
s.listen(0, "127.0.0.1", () => console.log("listening on http://127.0.0.1:" + s.address().port))
`

/**
 * Callbacks: latency from a task's end to its callback (30 tasks, one at a time), then the dispatcher's rate on a
 * backlog (a receiver that holds every request until all tasks have ended, then answers them all).
 */
const callbackBench = async (base: string, imageUrl: string) => {
  let holding = false
  const held: Array<() => void> = []
  const arrivals = new Map<string, number>()
  const receiver = createServer((req, res) => {
    req.resume()
    req.on("end", () => {
      arrivals.set(String(req.headers["webhook-id"]), performance.now())
      if (holding) held.push(() => res.writeHead(204).end())
      else res.writeHead(204).end()
    })
  })
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve))
  const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`
  const arrival = async (id: string): Promise<number> => {
    for (let i = 0; i < 15_000 && !arrivals.has(`msg_${id}`); i++) await new Promise((r) => setTimeout(r, 2))
    const at = arrivals.get(`msg_${id}`)
    if (at === undefined) throw new Error(`no callback for ${id}`)
    return at
  }
  const createWithHook = async () => {
    const r = await api(base, "/api/v1/client/job/detect-face-image", { image_url: imageUrl, callback_url: hook })
    if (r.status !== 200) throw new Error(`create with callback: ${JSON.stringify(r.json)}`)
    return r.json.data.detect_task_id as string
  }
  const waitEnd = async (id: string): Promise<number> => {
    for (;;) {
      const r = await api(base, `/api/v1/client/job/detect-face-result?detect_task_id=${id}&wait=30`)
      if (r.json.data.status === "succeeded" || r.json.data.status === "failed") return performance.now()
    }
  }

  const latencies: Array<number> = []
  for (let i = 0; i < 35; i++) {
    const id = await createWithHook()
    const ended = await waitEnd(id)
    const at = await arrival(id)
    if (i >= 5) latencies.push(at - ended)
  }

  // Small enough that every task ends within the held attempts' 10 s deadline on a 2-core machine.
  const n = 80
  holding = true
  const ids = await Promise.all(Array.from({ length: n }, createWithHook))
  await Promise.all(ids.map(waitEnd))
  const released = performance.now()
  holding = false
  for (const answer of held.splice(0)) answer()
  const last = Math.max(...(await Promise.all(ids.map(arrival))))
  await new Promise<void>((resolve) => {
    receiver.closeAllConnections()
    receiver.close(() => resolve())
  })
  return {
    endToCallback: {
      runs: latencies.length,
      p50Ms: round(median(latencies)),
      p99Ms: round(quantile(latencies, 0.99)),
      note: "callback arrival minus the long-poll answer's arrival, both seen by the bench process"
    },
    burst: {
      tasks: n,
      delivered: ids.filter((id) => arrivals.has(`msg_${id}`)).length,
      releasedToLastMs: round(last - released, 0),
      deliveriesPerSecond: round(n / ((last - released) / 1000), 0)
    }
  }
}

/** 1,000 image tasks queued at once (50 connections), then each waited for by long-polls. */
const burst = async (base: string, imageUrl: string, n: number, serverPid: number) => {
  const t0 = performance.now()
  const serverCpu0 = processCpuMs(serverPid)
  const serverFaults0 = minorFaults(serverPid)
  const benchCpu0 = process.cpuUsage()
  const ids: Array<string> = []
  const creates = Array.from({ length: n }, () => imageUrl)
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      for (let u = creates.pop(); u !== undefined; u = creates.pop()) {
        const r = await api(base, "/api/v1/client/job/detect-face-image", { image_url: u })
        if (r.status !== 200) throw new Error(`create ${r.status}: ${JSON.stringify(r.json)}`)
        ids.push(r.json.data.detect_task_id)
      }
    })
  )
  const queuedMs = performance.now() - t0
  const pending = [...ids]
  const outcomes = new Map<string, string>()
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      for (let id = pending.pop(); id !== undefined; id = pending.pop()) {
        for (;;) {
          const r = await api(base, `/api/v1/client/job/detect-face-result?detect_task_id=${id}&wait=30`)
          const status = r.json.data.status
          if (status === "succeeded" || status === "failed") {
            outcomes.set(id, status)
            break
          }
        }
      }
    })
  )
  const drainedMs = performance.now() - t0
  const benchCpu = process.cpuUsage(benchCpu0)
  return {
    ids,
    outcomes,
    queuedMs,
    drainedMs,
    // CPU per task: the server's (every thread), and this process's (the 50 clients and the origin, which share the
    // cores with the server).
    serverCpuMsPerTask: (processCpuMs(serverPid) - serverCpu0) / n,
    serverFaultsPerTask: (minorFaults(serverPid) - serverFaults0) / n,
    clientCpuMsPerTask: (benchCpu.user + benchCpu.system) / 1000 / n
  }
}

/** A burst's outcome against the store's own record of completions (how many times each task completed). */
const tally = (run: Awaited<ReturnType<typeof burst>>, completions: ReadonlyMap<string, number>) => ({
  succeeded: [...run.outcomes.values()].filter((s) => s === "succeeded").length,
  lost: run.ids.filter((id) => (completions.get(id) ?? 0) === 0).length,
  duplicated: run.ids.filter((id) => (completions.get(id) ?? 0) > 1).length
})

const main = async () => {
  const loadBefore = loadavg()[0]!
  const photo = readFileSync(photoPath)
  const origin = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "image/jpeg", "content-length": photo.length })
    res.end(photo)
  })
  await new Promise<void>((resolve) => origin.listen(0, "127.0.0.1", resolve))
  const imageUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}/photo.jpg`
  // The three servers' data directories, removed when the bench ends (their stores are read after each server stops).
  const work = mkdtempSync(join(tmpdir(), "facedet-bench-server-"))
  process.once("exit", () => rmSync(work, { recursive: true, force: true }))
  const dataDir = join(work, "eager")
  mkdirSync(dataDir)
  const server = startServer(dataDir)
  const base = await server.url
  console.log(`server: ${base} (data ${dataDir})`)

  // 1. End-to-end latency on an idle server (30 warm-up runs, then 30 measured, one at a time). Between runs (not
  //    timed) the client downloads the crops, as a swap would: image crops are written just after the task
  //    succeeds, so this also leaves the server idle for the next run. The warm-up is what a server that has been
  //    serving sees: after only 5 runs, V8 still compiles the server's hot paths and the p50 was 2-4 ms higher
  //    (scratch: 33.4 ms over runs 6-35, 28.8-31.5 over the next 90).
  const fetchCrops = (data: Json) =>
    Promise.all(
      data.result.faces.map(async (f: Json) => {
        const res = await fetch(f.link)
        if (res.status !== 200) throw new Error(`crop ${f.link}: ${res.status}`)
        await res.arrayBuffer()
      })
    )
  for (let i = 0; i < warmUpRuns; i++) await fetchCrops((await createAndWait(base, imageUrl)).data)
  const beforeE2e = await scrape(base)
  const e2e: Array<number> = []
  let lastId = ""
  for (let i = 0; i < 30; i++) {
    const r = await createAndWait(base, imageUrl)
    if (r.data.status !== "succeeded") throw new Error(`e2e task failed: ${JSON.stringify(r.data)}`)
    e2e.push(r.ms)
    lastId = r.data.detect_task_id
    await fetchCrops(r.data)
  }
  const faces = (await api(base, `/api/v1/client/job/detect-face-result?detect_task_id=${lastId}`)).json.data.result
    .faces.length
  const stages = timeline(beforeE2e, await scrape(base))

  // 2. Result-call throughput vs a bare node:http server answering the same bytes.
  const resultPath = `/api/v1/client/job/detect-face-result?detect_task_id=${lastId}`
  const sameJson = await (await fetch(`${base}${resultPath}`, { headers: { "x-api-key": key } })).text()
  const bare = spawn(process.execPath, ["-e", bareServerSource(sameJson)], { stdio: ["ignore", "pipe", "inherit"] })
  const bareUrl = await new Promise<string>((resolve) =>
    bare.stdout!.on("data", (c: Buffer) => {
      const m = /listening on (\S+)/.exec(c.toString())
      if (m) resolve(m[1]!)
    })
  )
  const rounds = 5
  const seconds = 4
  const facedetRps: Array<number> = []
  const bareRps: Array<number> = []
  const facedetP99: Array<number> = []
  const bareP99: Array<number> = []
  const roundRatios: Array<number> = []
  await cannon(`${base}${resultPath}`, 2) // warm-up
  await cannon(`${bareUrl}${resultPath}`, 2)
  for (let r = 0; r < rounds; r++) {
    const b = await cannon(`${bareUrl}${resultPath}`, seconds)
    bareRps.push(b.requests.average)
    bareP99.push(b.latency.p99)
    const f = await cannon(`${base}${resultPath}`, seconds)
    if (f.non2xx > 0 || f.errors > 0) throw new Error(`facedet answered ${f.non2xx} non-2xx, ${f.errors} errors`)
    facedetRps.push(f.requests.average)
    facedetP99.push(f.latency.p99)
    roundRatios.push(f.requests.average / b.requests.average)
  }

  // The server's peak memory so far (VmHWM only grows): which phase sets the peak.
  const rssAfterResultCalls = peakRssMb(server.process.pid!)

  // 2b. The edge: the default node:http edge against @effect/platform's Node handler (FACEDET_HTTP_EDGE=platform,
  //     tracing off) for the requests that need work, in a second server process. Two result calls: a finished
  //     task's (its remembered answer, the fast path either edge keeps) and one whose answer is not remembered (a
  //     task with a callback: the store is read and the answer built on every call).
  mkdirSync(join(work, "edge"))
  const platform = startServer(join(work, "edge"), { FACEDET_HTTP_EDGE: "platform" })
  const platformBase = await platform.url
  const uncachedPath = async (base: string) => {
    const r = await api(base, "/api/v1/client/job/detect-face-image", {
      image_url: imageUrl,
      callback_url: "http://127.0.0.1:9/hook"
    })
    const id = r.json.data.detect_task_id as string
    await api(base, `/api/v1/client/job/detect-face-result?detect_task_id=${id}&wait=30`)
    return `/api/v1/client/job/detect-face-result?detect_task_id=${id}`
  }
  const platformCached = `/api/v1/client/job/detect-face-result?detect_task_id=${(await createAndWait(platformBase, imageUrl)).data.detect_task_id}`
  const edgePaths = {
    nodeCached: `${base}${resultPath}`,
    platformCached: `${platformBase}${platformCached}`,
    nodeUncached: `${base}${await uncachedPath(base)}`,
    platformUncached: `${platformBase}${await uncachedPath(platformBase)}`
  }
  const edgeSeconds = 3
  const edgeRps: Record<keyof typeof edgePaths | "bare", Array<number>> = {
    bare: [],
    nodeCached: [],
    platformCached: [],
    nodeUncached: [],
    platformUncached: []
  }
  for (const url of Object.values(edgePaths)) await cannon(url, 1) // warm-up
  for (let r = 0; r < rounds; r++) {
    edgeRps.bare.push((await cannon(`${bareUrl}${resultPath}`, edgeSeconds)).requests.average)
    for (const [name, url] of Object.entries(edgePaths) as Array<[keyof typeof edgePaths, string]>) {
      const f = await cannon(url, edgeSeconds)
      if (f.non2xx > 0 || f.errors > 0) throw new Error(`${name}: ${f.non2xx} non-2xx, ${f.errors} errors`)
      edgeRps[name].push(f.requests.average)
    }
  }
  platform.process.kill("SIGTERM")
  await platform.exit
  bare.kill()
  /** Median over rounds of each round's ratio to the bare server measured in the same round. */
  const edgeRatio = (name: keyof typeof edgePaths) =>
    round(median(edgeRps[name].map((rps, i) => rps / edgeRps.bare[i]!)), 2)
  const edge = {
    secondsPerRound: edgeSeconds,
    rounds,
    bareRps: round(median(edgeRps.bare), 0),
    nodeCached: { rps: round(median(edgeRps.nodeCached), 0), ofBare: edgeRatio("nodeCached") },
    platformCached: { rps: round(median(edgeRps.platformCached), 0), ofBare: edgeRatio("platformCached") },
    nodeUncached: { rps: round(median(edgeRps.nodeUncached), 0), ofBare: edgeRatio("nodeUncached") },
    platformUncached: { rps: round(median(edgeRps.platformUncached), 0), ofBare: edgeRatio("platformUncached") },
    target: "platform adopted if its result-call ratio stays >= 0.6 of bare node:http"
  }

  // The detector alone, in this process, while the server is idle: the bound for 1 and 3.
  const alone = await detectorAlone(new Uint8Array(photo))

  // 3. 1,000 image tasks queued at once.
  const n = 1000
  const eagerBurst = await burst(base, imageUrl, n, server.process.pid!)
  const rssAfterBurst = peakRssMb(server.process.pid!)
  const { ids, queuedMs, drainedMs } = eagerBurst

  // 4. Callbacks.
  const hooks = await callbackBench(base, imageUrl)
  const rssMb = peakRssMb(server.process.pid!)
  server.process.kill("SIGTERM")
  const exitCode = await server.exit
  const { succeeded, lost, duplicated } = tally(eagerBurst, SqliteJobStore.completionCounts(dataDir))

  // 5. Lazy crops (FACEDET_CROPS=lazy), on a server of its own: the same end-to-end run and 1,000 tasks, and what
  //    fetching a task's links costs the first time (all of its crops from one decode) and the second.
  const lazyDir = join(work, "lazy")
  mkdirSync(lazyDir)
  const lazyServer = startServer(lazyDir, { FACEDET_CROPS: "lazy" })
  const lazyBase = await lazyServer.url
  const timedFetch = async (data: Json) => {
    const t = performance.now()
    await fetchCrops(data)
    return performance.now() - t
  }
  for (let i = 0; i < warmUpRuns; i++) await fetchCrops((await createAndWait(lazyBase, imageUrl)).data)
  const lazyE2e: Array<number> = []
  const firstFetch: Array<number> = []
  const secondFetch: Array<number> = []
  for (let i = 0; i < 30; i++) {
    const r = await createAndWait(lazyBase, imageUrl)
    if (r.data.status !== "succeeded") throw new Error(`lazy e2e task failed: ${JSON.stringify(r.data)}`)
    lazyE2e.push(r.ms)
    firstFetch.push(await timedFetch(r.data))
    secondFetch.push(await timedFetch(r.data))
  }
  const lazyBurst = await burst(lazyBase, imageUrl, n, lazyServer.process.pid!)
  const lazyRssMb = peakRssMb(lazyServer.process.pid!)
  lazyServer.process.kill("SIGTERM")
  const lazyExitCode = await lazyServer.exit
  const lazyTally = tally(lazyBurst, SqliteJobStore.completionCounts(lazyDir))
  origin.close()
  const lazyRate = n / (lazyBurst.drainedMs / 1000)
  const lazy = {
    endToEndP50Ms: round(median(lazyE2e)),
    overDetectorMs: round(median(lazyE2e) - alone.singleMs),
    allLinksFirstFetchP50Ms: round(median(firstFetch)),
    allLinksSecondFetchP50Ms: round(median(secondFetch)),
    burst: {
      ...lazyTally,
      allDoneInMs: round(lazyBurst.drainedMs, 0),
      tasksPerSecond: round(lazyRate, 1),
      ofDetectorBound: round(lazyRate / alone.boundPerSecond, 2),
      ofDetectorInProcess: round(lazyRate / alone.tasksPerSecond, 2),
      ofDetectorCpuBound: round(lazyRate / alone.cpuBoundPerSecond, 2),
      serverCpuMsPerTask: round(lazyBurst.serverCpuMsPerTask),
      serverFaultsPerTask: round(lazyBurst.serverFaultsPerTask, 0),
      clientCpuMsPerTask: round(lazyBurst.clientCpuMsPerTask)
    },
    peakServerRssMb: lazyRssMb,
    serverExitCode: lazyExitCode
  }

  const ratio = median(roundRatios)
  const results = {
    machine: {
      cpus: availableParallelism(),
      serverNodeFlags: binFlags,
      node: process.version,
      // Other work on the machine skews every figure: the 1-minute load average before and after the run.
      loadAverage: { before: round(loadBefore, 2), after: round(loadavg()[0]!, 2) }
    },
    detectorAlone: {
      singleWithCropsMs: round(alone.singleMs),
      singleWithCropsCpuMs: round(alone.cpuMs),
      boundPerSecond: round(alone.boundPerSecond, 1),
      cpuBoundPerSecond: round(alone.cpuBoundPerSecond, 1),
      tasksPerSecondWithCrops: round(alone.tasksPerSecond, 1),
      inProcessCpuMsPerDetection: round(alone.concurrentCpuMs),
      inProcessFaultsPerDetection: round(alone.concurrentFaults, 0),
      inProcessCoresBusy: round(alone.concurrentCoresBusy, 2)
    },
    endToEnd: {
      photo: "faces-dev/2007_007763.jpg (500x375)",
      faces,
      runs: e2e.length,
      p50Ms: round(median(e2e)),
      p90Ms: round(quantile(e2e, 0.9)),
      overDetectorMs: round(median(e2e) - alone.singleMs),
      // Means over the 30 runs, from the server's own metrics; the rest of the end-to-end time is the client's
      // requests on loopback and the long-poll's answer.
      timelineMs: stages,
      targetP50Ms: 60,
      targetOverDetectorMs: 8
    },
    resultThroughput: {
      connections: 50,
      rounds,
      secondsPerRound: seconds,
      facedetRps: round(median(facedetRps), 0),
      bareNodeHttpRps: round(median(bareRps), 0),
      ratio: round(ratio, 2),
      roundRatios: roundRatios.map((r) => round(r, 2)),
      facedetP99Ms: median(facedetP99),
      bareP99Ms: median(bareP99),
      targets: { ratio: 0.5, p99Ms: 20 }
    },
    edge,
    burst: {
      tasks: n,
      uniqueTaskIds: new Set(ids).size,
      succeeded,
      lost,
      duplicated,
      allQueuedInMs: round(queuedMs, 0),
      allDoneInMs: round(drainedMs, 0),
      tasksPerSecond: round(n / (drainedMs / 1000), 1),
      // The bound: every core running one detection with crops after another, nothing else.
      ofDetectorBound: round(n / (drainedMs / 1000) / alone.boundPerSecond, 2),
      // One process driving the detector at two detections per core (the server's default workers): what a single
      // server process can hope for.
      ofDetectorInProcess: round(n / (drainedMs / 1000) / alone.tasksPerSecond, 2),
      // The cores' rate by one detection's CPU time rather than its wall time (see detectorAlone).
      ofDetectorCpuBound: round(n / (drainedMs / 1000) / alone.cpuBoundPerSecond, 2),
      serverCpuMsPerTask: round(eagerBurst.serverCpuMsPerTask),
      serverFaultsPerTask: round(eagerBurst.serverFaultsPerTask, 0),
      clientCpuMsPerTask: round(eagerBurst.clientCpuMsPerTask),
      targetOfDetectorBound: 0.8,
      peakServerRssMb: rssMb,
      // The peak as it stood after the result-call rounds (with the end-to-end runs before them), then after the
      // 1,000 tasks; the callbacks come last.
      peakRssMbAfter: { resultCalls: rssAfterResultCalls, burst: rssAfterBurst },
      // Issue 17: within the 300 MB measured before its work (the service's own target is 500 MB).
      targetRssMb: 300,
      serverExitCode: exitCode
    },
    callbacks: hooks,
    lazyCrops: lazy
  }
  const table = [
    ["measure", "value", "target"],
    [
      "create -> succeeded (long-poll), p50",
      `${results.endToEnd.p50Ms} ms (p90 ${results.endToEnd.p90Ms} ms)`,
      "<= 60 ms"
    ],
    [
      "  ... over the detector alone (with crops)",
      `${results.endToEnd.overDetectorMs} ms (detector: ${results.detectorAlone.singleWithCropsMs} ms)`,
      "<= 8 ms"
    ],
    [
      "  ... one task's timeline (server's means)",
      `create ${stages.createAnswered}, queued ${stages.queued}, download ${stages.download}, detect ${stages.detect}, record ${stages.record} ms; crops after ${stages.cropsAfterwards} ms`,
      ""
    ],
    [
      "detect-face-result, facedet",
      `${results.resultThroughput.facedetRps} req/s, p99 ${results.resultThroughput.facedetP99Ms} ms`,
      "p99 <= 20 ms"
    ],
    [
      "detect-face-result, bare node:http",
      `${results.resultThroughput.bareNodeHttpRps} req/s, p99 ${results.resultThroughput.bareP99Ms} ms`,
      ""
    ],
    [
      "throughput ratio facedet / bare",
      `${results.resultThroughput.ratio} (rounds: ${results.resultThroughput.roundRatios.join(", ")})`,
      ">= 0.5"
    ],
    [
      "edge: result call (remembered), node / platform",
      `${edge.nodeCached.ofBare} / ${edge.platformCached.ofBare} of bare (${edge.nodeCached.rps} / ${edge.platformCached.rps} req/s)`,
      "platform >= 0.6"
    ],
    [
      "edge: result call (built each time), node / platform",
      `${edge.nodeUncached.ofBare} / ${edge.platformUncached.ofBare} of bare (${edge.nodeUncached.rps} / ${edge.platformUncached.rps} req/s)`,
      ""
    ],
    [
      "1,000 tasks at once",
      `${succeeded} succeeded, ${lost} lost, ${duplicated} duplicated, ${round(drainedMs / 1000)} s`,
      "all, 0, 0"
    ],
    [
      "  ... tasks/s, of the detector-bound rate",
      `${results.burst.tasksPerSecond}/s: ${results.burst.ofDetectorBound} of ${results.detectorAlone.boundPerSecond}/s (cores / one detection), ${results.burst.ofDetectorInProcess} of ${results.detectorAlone.tasksPerSecondWithCrops}/s (in one process)`,
      ">= 0.8"
    ],
    [
      "  ... of the cores' rate by CPU time",
      `${results.burst.ofDetectorCpuBound} of ${results.detectorAlone.cpuBoundPerSecond}/s (one detection: ${results.detectorAlone.singleWithCropsCpuMs} ms CPU, ${results.detectorAlone.singleWithCropsMs} ms wall)`,
      ""
    ],
    [
      "  ... the detector alone in one process (2 per core)",
      `${results.detectorAlone.tasksPerSecondWithCrops}/s: ${results.detectorAlone.inProcessCpuMsPerDetection} ms CPU per detection, cores ${results.detectorAlone.inProcessCoresBusy} busy`,
      ""
    ],
    [
      "  ... CPU per task: server / clients and origin",
      `${results.burst.serverCpuMsPerTask} / ${results.burst.clientCpuMsPerTask} ms (one detection: ${results.detectorAlone.singleWithCropsCpuMs} ms)`,
      ""
    ],
    [
      "  ... page faults per task: server / the detector alone",
      `${results.burst.serverFaultsPerTask} / ${results.detectorAlone.inProcessFaultsPerDetection}`,
      ""
    ],
    [
      "peak server RSS",
      `${rssMb} MB (${rssAfterResultCalls} after the result calls, ${rssAfterBurst} after the 1,000 tasks)`,
      "<= 300 MB"
    ],
    [
      "task end -> callback received",
      `p50 ${hooks.endToCallback.p50Ms} ms, p99 ${hooks.endToCallback.p99Ms} ms (${hooks.endToCallback.runs} tasks)`,
      ""
    ],
    [
      "callback deliveries per second",
      `${hooks.burst.deliveriesPerSecond}/s (${hooks.burst.delivered} of ${hooks.burst.tasks} released at once)`,
      ""
    ],
    [
      "lazy crops: create -> succeeded, p50",
      `${lazy.endToEndP50Ms} ms (${lazy.overDetectorMs} ms over the detector with crops)`,
      "<= 8 ms over"
    ],
    [
      "lazy crops: a task's links, first / second fetch",
      `${lazy.allLinksFirstFetchP50Ms} / ${lazy.allLinksSecondFetchP50Ms} ms (p50, ${faces} links at once)`,
      ""
    ],
    [
      "lazy crops: 1,000 tasks at once",
      `${lazy.burst.succeeded} succeeded, ${lazy.burst.lost} lost, ${lazy.burst.duplicated} duplicated, ${round(lazy.burst.allDoneInMs / 1000)} s`,
      "all, 0, 0"
    ],
    [
      "  ... tasks/s, of the detector-bound rate",
      `${lazy.burst.tasksPerSecond}/s: ${lazy.burst.ofDetectorBound} of ${results.detectorAlone.boundPerSecond}/s (cores / one detection with crops), ${lazy.burst.ofDetectorInProcess} (in one process), ${lazy.burst.ofDetectorCpuBound} (by CPU time)`,
      ">= 0.8"
    ],
    [
      "  ... CPU per task: server / clients and origin",
      `${lazy.burst.serverCpuMsPerTask} / ${lazy.burst.clientCpuMsPerTask} ms`,
      ""
    ],
    ["  ... page faults per task in the server", `${lazy.burst.serverFaultsPerTask}`, ""],
    ["lazy crops: peak server RSS", `${lazy.peakServerRssMb} MB`, "<= 300 MB"],
    [
      "1-min load average, before -> after",
      `${results.machine.loadAverage.before} -> ${results.machine.loadAverage.after}`,
      ""
    ]
  ]
  const widths = [0, 1, 2].map((c) => Math.max(...table.map((row) => row[c]!.length)))
  for (const row of table) console.log(row.map((cell, c) => cell.padEnd(widths[c]!)).join("  "))
  const outDir = join(benchRoot, "results")
  mkdirSync(outDir, { recursive: true })
  writeFileSync(join(outDir, "server.json"), `${JSON.stringify(results, null, 2)}\n`)
  console.log(`wrote ${join(outDir, "server.json")}`)
  if (succeeded !== n || lost > 0 || duplicated > 0) process.exitCode = 1
  if (lazy.burst.succeeded !== n || lazy.burst.lost > 0 || lazy.burst.duplicated > 0) process.exitCode = 1
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
