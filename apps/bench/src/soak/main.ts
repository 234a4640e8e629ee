/**
 * Soak: `pnpm bench -- soak [--minutes N] [--users N] [--warmup M] [--only a,b]` runs the built server (`dist/main.js`, a child
 * process, SQLite and a data directory, the real detector) under a mixed load for N minutes (default 30) and
 * watches it for slow leaks.
 *
 * The load: N users (default 6), each in a loop with a short pause, picking by weight: an image task by URL
 * (long-polled to its end), a video or animated-GIF task, an upload then a task on it, fetches of face-crop links
 * seen earlier, bad input (malformed JSON, missing or non-http URLs, a wrong key, an unknown task, non-media
 * uploads, a URL to a page that is no media), clients that disconnect mid-request (an upload cut halfway, a
 * create body cut halfway, a long-poll abandoned) and readiness probes.
 *
 * Every 10 s it samples the server's RSS and open descriptors (from /proc), V8 heap and the event loop's p99 over
 * the last window (from /metrics), ffmpeg processes the server has running, and the latency of tasks that ended in
 * the window. After the warm-up (default: a sixth of the run, at most 5 minutes) it fits a line to RSS, heap and
 * descriptors and reports the slopes per 10 minutes. At the end every task created must reach the end its input
 * calls for (0 lost), no answer may be a 5xx, and no ffmpeg may be left behind.
 *
 * Writes `apps/bench/results/soak.json` (summary and every sample).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync
} from "node:fs"
import { createServer, type IncomingMessage, request, type ServerResponse } from "node:http"
import { connect } from "node:net"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { VideoFrames } from "@facedet/detector"
import { ffmpegChildren } from "@facedet/testkit/Processes"
import { median, quantile } from "../median.js"

const here = dirname(fileURLToPath(import.meta.url))
const benchRoot = join(here, "..", "..")
const serverMain = fileURLToPath(new URL("../dist/main.js", import.meta.resolve("@facedet/http-server")))
const photoDir = join(benchRoot, "data", "faces-dev")
const key = "soak-key-0123456789abcdef"

const { values: args } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== "--"),
  options: {
    minutes: { type: "string", default: "30" },
    users: { type: "string", default: "6" },
    warmup: { type: "string" },
    // For narrowing down a finding: only these actions (comma-separated names from the list below).
    only: { type: "string" }
  },
  strict: true
})
const minutes = Number(args.minutes)
const users = Number(args.users)
const warmupMinutes = args.warmup === undefined ? Math.min(5, minutes / 6) : Number(args.warmup)
if (!(minutes > 0) || !Number.isInteger(users) || users < 1 || !(warmupMinutes >= 0) || warmupMinutes >= minutes) {
  console.error("usage: pnpm bench -- soak [--minutes N>0] [--users N>=1] [--warmup M, 0 <= M < N]")
  process.exit(2)
}
const sampleEveryMs = 10_000

// ---------------------------------------------------------------------------------------------------------------
// Media: the four faces-dev photos, a short MP4 and an animated GIF made from one of them with ffmpeg.

const photos = readdirSync(photoDir)
  .filter((f) => f.endsWith(".jpg"))
  .map((f) => readFileSync(join(photoDir, f)))
const work = mkdtempSync(join(tmpdir(), "facedet-soak-"))
const ffmpeg = VideoFrames.locateFfmpeg(undefined, { ...process.env, FACEDET_FFMPEG_FALLBACK: "npm" })
if (ffmpeg === undefined) {
  console.error("soak: needs ffmpeg (apt-get install ffmpeg) for its video tasks")
  process.exit(1)
}
const make = (out: string, filter: string, extra: ReadonlyArray<string>) => {
  const source = join(photoDir, "2007_007763.jpg")
  const r = spawnSync(ffmpeg, [
    "-y",
    "-loglevel",
    "error",
    "-loop",
    "1",
    "-i",
    source,
    "-t",
    "2",
    "-r",
    "8",
    "-vf",
    filter,
    ...extra,
    out
  ])
  if (r.status !== 0) throw new Error(`ffmpeg failed making ${out}: ${r.stderr}`)
  return readFileSync(out)
}
const clip = make(join(work, "clip.mp4"), "scale=480:-2,format=yuv420p", ["-c:v", "mpeg4", "-q:v", "5"])
const gif = make(join(work, "anim.gif"), "scale=240:-2", [])

const origin = createServer((req: IncomingMessage, res: ServerResponse) => {
  const url = req.url ?? "/"
  const photo = /^\/photo\/(\d)\.jpg$/.exec(url)
  const send = (type: string, body: Buffer | string) => {
    res.writeHead(200, { "content-type": type, "content-length": Buffer.byteLength(body) })
    res.end(body)
  }
  if (photo) send("image/jpeg", photos[Number(photo[1]) % photos.length]!)
  else if (url === "/clip.mp4") send("video/mp4", clip)
  else if (url === "/anim.gif") send("image/gif", gif)
  else if (url === "/page.html") send("text/html", "<!doctype html><title>not a photo</title>")
  else {
    res.writeHead(404)
    res.end()
  }
})
await new Promise<void>((resolve) => origin.listen(0, "127.0.0.1", resolve))
const originBase = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`

// ---------------------------------------------------------------------------------------------------------------
// The server.

const dataDir = join(work, "data")
mkdirSync(join(benchRoot, "results"), { recursive: true })
const child: ChildProcess = spawn(process.execPath, [serverMain, "--port", "0", "--data-dir", dataDir], {
  env: {
    ...process.env,
    FACEDET_API_KEYS: key,
    FACEDET_ALLOW_PRIVATE_URLS: "true",
    FACEDET_RATE_LIMIT_RPS: "100000",
    FACEDET_RATE_LIMIT_BURST: "100000",
    FACEDET_FFMPEG_PATH: ffmpeg
  },
  stdio: ["ignore", "pipe", "pipe"]
})
// The server's log (a line per failed task, by design) goes to a file, not over the report.
const serverLog = createWriteStream(join(benchRoot, "results", "soak-server.log"))
child.stderr!.pipe(serverLog)
const exited = new Promise<number | null>((resolve) => child.once("exit", resolve))
const base = await new Promise<string>((resolve, reject) => {
  let out = ""
  child.stdout!.on("data", (chunk: Buffer) => {
    out += chunk.toString()
    const m = /listening on (http:\/\/\S+)/.exec(out)
    if (m) resolve(m[1]!)
  })
  child.once("exit", (code) => reject(new Error(`server exited (${code}) before listening`)))
})
const serverPid = child.pid!
const { host: serverHost, port: serverPort } = new URL(base)

// ---------------------------------------------------------------------------------------------------------------
// Bookkeeping.

const statuses = new Map<number, number>()
const serverErrors: Array<string> = []
const surprises: Array<string> = []
const counts = new Map<string, number>()
const bump = (name: string) => counts.set(name, (counts.get(name) ?? 0) + 1)
/** Tasks created, with the outcome their input calls for and whether it was seen. */
const tasks = new Map<string, { readonly expect: "succeeded" | "failed"; readonly createdAt: number; ended?: number }>()
/** End-to-end latencies (create -> terminal seen) of tasks that ended since the last sample, by kind. */
let windowLatencies: { image: Array<number>; video: Array<number> } = { image: [], video: [] }
const links: Array<string> = []

const note = (where: string, status: number) => {
  statuses.set(status, (statuses.get(status) ?? 0) + 1)
  if (status >= 500) serverErrors.push(`${where}: ${status}`)
}

// biome-ignore lint/suspicious/noExplicitAny: envelope fields are read by name
type Json = any

const call = async (
  method: string,
  path: string,
  options: { body?: unknown; raw?: Uint8Array | string; type?: string; apiKey?: string; signal?: AbortSignal } = {}
): Promise<{ status: number; json: Json }> => {
  const headers: Record<string, string> = { "x-api-key": options.apiKey ?? key }
  let body: Uint8Array | string | undefined
  if (options.raw !== undefined) {
    body = options.raw
    headers["content-type"] = options.type ?? "application/octet-stream"
  } else if (options.body !== undefined) {
    body = JSON.stringify(options.body)
    headers["content-type"] = "application/json"
  }
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    signal: options.signal ?? null,
    ...(body === undefined ? {} : { body: body as Uint8Array<ArrayBuffer> | string })
  })
  const text = await res.text()
  note(`${method} ${path.split("?")[0]}`, res.status)
  let json: Json = {}
  try {
    json = JSON.parse(text) as Json
  } catch {
    if (!path.startsWith("/faces/")) surprises.push(`${method} ${path}: not JSON (${res.status})`)
  }
  return { status: res.status, json }
}

const paths = {
  image: "/api/v1/client/job/detect-face-image",
  video: "/api/v1/client/job/detect-face-video",
  result: "/api/v1/client/job/detect-face-result",
  upload: "/api/v1/client/upload"
}

/** Creates a task and long-polls it to its end; checks the end against what the input calls for. */
const task = async (kind: "image" | "video", url: string, expect: "succeeded" | "failed"): Promise<void> => {
  const t0 = performance.now()
  const created = await call("POST", kind === "image" ? paths.image : paths.video, {
    body: kind === "image" ? { image_url: url } : { video_url: url }
  })
  if (created.status !== 200) {
    surprises.push(`create ${kind} ${url}: ${created.status} ${created.json.message}`)
    return
  }
  const id = created.json.data.detect_task_id as string
  const record: { expect: "succeeded" | "failed"; createdAt: number; ended?: number } = {
    expect,
    createdAt: Date.now()
  }
  tasks.set(id, record)
  for (;;) {
    const r = await call("GET", `${paths.result}?detect_task_id=${id}&wait=30`)
    if (r.status !== 200) {
      surprises.push(`result ${id}: ${r.status}`)
      return
    }
    const status = r.json.data.status as string
    if (status !== "succeeded" && status !== "failed") continue
    record.ended = Date.now()
    windowLatencies[kind].push(performance.now() - t0)
    if (status !== expect) surprises.push(`task ${id} (${kind} ${url}) ended ${status}, expected ${expect}`)
    for (const face of r.json.data.result?.faces ?? []) {
      links.push(String(face.link))
      if (links.length > 300) links.shift()
    }
    return
  }
}

/** Writes `head` then part of a body on a raw socket and hangs up: a client that goes away mid-request. */
const cutRequest = (head: string, partial: Buffer): Promise<void> =>
  new Promise((resolve) => {
    const socket = connect(Number(serverPort), serverHost)
    socket.on("error", () => resolve())
    socket.on("connect", () => {
      socket.write(head)
      socket.write(partial, () => setTimeout(() => socket.destroy(), 20 + Math.random() * 80))
    })
    socket.on("close", () => resolve())
  })

const pick = <A>(xs: ReadonlyArray<A>): A => xs[Math.floor(Math.random() * xs.length)]!
const photoUrl = () => `${originBase}/photo/${Math.floor(Math.random() * photos.length)}.jpg`

/**
 * A client with a wrong key, from another loopback address (127.0.0.2): the server throttles failed keys per address,
 * and a key-guesser must not share its budget with the honest users. Past its burst it gets 429s, as it should.
 */
const wrongKey = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const body = JSON.stringify({ image_url: photoUrl() })
    const req = request(
      `${base}${paths.image}`,
      {
        method: "POST",
        localAddress: "127.0.0.2",
        headers: { "x-api-key": "wrong-key-0000000000000", "content-type": "application/json" }
      },
      (res) => {
        res.resume()
        res.on("end", () => {
          note("POST wrong key", res.statusCode ?? 0)
          resolve(res.statusCode ?? 0)
        })
      }
    )
    req.on("error", reject)
    req.end(body)
  })

const actions: ReadonlyArray<readonly [name: string, weight: number, run: () => Promise<void>]> = [
  ["image", 30, () => task("image", photoUrl(), "succeeded")],
  ["video", 6, () => task("video", `${originBase}/clip.mp4`, "succeeded")],
  ["gif", 4, () => task("video", `${originBase}/anim.gif`, "succeeded")],
  [
    "upload",
    12,
    async () => {
      const up = await call("POST", paths.upload, { raw: pick(photos), type: "image/jpeg" })
      if (up.status !== 200) return void surprises.push(`upload: ${up.status} ${up.json.message}`)
      await task("image", up.json.data.url as string, "succeeded")
    }
  ],
  [
    "crops",
    18,
    async () => {
      for (let i = 0; i < 4 && links.length > 0; i++) {
        const link = pick(links)
        const res = await fetch(link)
        const bytes = Buffer.from(await res.arrayBuffer())
        note("GET /faces", res.status)
        if (res.status !== 200 || bytes[0] !== 0xff) surprises.push(`crop ${link}: ${res.status}`)
      }
    }
  ],
  [
    "bad",
    14,
    async () => {
      const cases: ReadonlyArray<() => Promise<number>> = [
        async () => (await call("POST", paths.image, { raw: "{not json", type: "application/json" })).status,
        async () => (await call("POST", paths.image, { body: { nope: 1 } })).status,
        async () => (await call("POST", paths.video, { body: { video_url: "ftp://example.com/a.mp4" } })).status,
        wrongKey,
        async () => (await call("GET", `${paths.result}?detect_task_id=nosuchtask000000`)).status,
        async () => (await call("GET", `${paths.result}?detect_task_id=x&wait=99`)).status,
        async () =>
          (await call("POST", paths.upload, { raw: "just some text, not a photo", type: "image/jpeg" })).status,
        async () => (await call("POST", paths.upload, { raw: new Uint8Array(0), type: "image/jpeg" })).status
      ]
      const status = await pick(cases)()
      if (status < 400 || status >= 500) surprises.push(`bad input answered ${status}`)
      // An accepted task whose URL is no media: it must end failed, not linger.
      if (Math.random() < 0.3) await task("image", `${originBase}/page.html`, "failed")
    }
  ],
  [
    "disconnect",
    10,
    async () => {
      const which = Math.random()
      if (which < 0.4) {
        const head = `POST ${paths.upload} HTTP/1.1\r\nhost: ${serverHost}:${serverPort}\r\nx-api-key: ${key}\r\ncontent-type: image/jpeg\r\ncontent-length: 1000000\r\n\r\n`
        await cutRequest(head, pick(photos).subarray(0, 30_000))
      } else if (which < 0.7) {
        const body = Buffer.from(JSON.stringify({ image_url: photoUrl() }))
        const head = `POST ${paths.image} HTTP/1.1\r\nhost: ${serverHost}:${serverPort}\r\nx-api-key: ${key}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`
        await cutRequest(head, body.subarray(0, body.length >> 1))
      } else {
        // A long-poll abandoned: the task itself goes on and is checked at the end like every other.
        const created = await call("POST", paths.image, { body: { image_url: photoUrl() } })
        if (created.status !== 200) return void surprises.push(`create: ${created.status}`)
        const id = created.json.data.detect_task_id as string
        tasks.set(id, { expect: "succeeded", createdAt: Date.now() })
        const abort = new AbortController()
        setTimeout(() => abort.abort(), 5 + Math.random() * 40)
        await call("GET", `${paths.result}?detect_task_id=${id}&wait=30`, { signal: abort.signal }).catch(
          () => undefined
        )
      }
    }
  ],
  [
    "probe",
    6,
    async () => {
      const res = await fetch(`${base}${pick(["/readyz", "/healthz", "/metrics"])}`)
      await res.arrayBuffer()
      note("GET probe", res.status)
      if (res.status !== 200) surprises.push(`probe ${res.url}: ${res.status}`)
    }
  ]
]
const only = args.only?.split(",")
const mix = only === undefined ? actions : actions.filter(([name]) => only.includes(name))
if (mix.length === 0) {
  console.error(`soak: --only names none of ${actions.map(([name]) => name).join(", ")}`)
  process.exit(2)
}
const totalWeight = mix.reduce((n, [, w]) => n + w, 0)
const choose = () => {
  let r = Math.random() * totalWeight
  for (const action of mix) {
    r -= action[1]
    if (r < 0) return action
  }
  return mix[0]!
}

// ---------------------------------------------------------------------------------------------------------------
// Sampling.

interface Sample {
  readonly t: number
  readonly rssMb: number
  /** The anonymous part of RSS (heap, buffers, native allocations), without file pages mapped in. */
  readonly anonMb: number
  readonly heapMb: number
  readonly externalMb: number
  readonly fds: number
  readonly loopP99Ms: number
  readonly ffmpeg: number
  readonly imageP50Ms: number | null
  readonly imageP99Ms: number | null
  readonly videoP50Ms: number | null
  readonly tasksEnded: number
}

/** A rounded quantile of a window's latencies; null for a window in which no task ended. */
const windowQuantile = (xs: ReadonlyArray<number>, q: number): number | null =>
  xs.length === 0 ? null : Math.round(quantile(xs, q))

const metric = (text: string, name: string): number => {
  const line = text.split("\n").find((l) => l.startsWith(`${name} `))
  return line === undefined ? Number.NaN : Number(line.slice(name.length + 1))
}

const samples: Array<Sample> = []
const startedAt = Date.now()
const sample = async () => {
  const status = readFileSync(`/proc/${serverPid}/status`, "utf8")
  const rssKb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1])
  const fds = readdirSync(`/proc/${serverPid}/fd`).length
  const text = await (await fetch(`${base}/metrics`)).text()
  const w = windowLatencies
  windowLatencies = { image: [], video: [] }
  samples.push({
    t: (Date.now() - startedAt) / 1000,
    rssMb: Math.round(rssKb / 102.4) / 10,
    anonMb: Math.round(Number(/RssAnon:\s+(\d+) kB/.exec(status)?.[1]) / 102.4) / 10,
    heapMb: Math.round(metric(text, "nodejs_heap_used_bytes") / 104857.6) / 10,
    externalMb: Math.round(metric(text, "nodejs_external_memory_bytes") / 104857.6) / 10,
    fds,
    loopP99Ms: Math.round(metric(text, 'nodejs_eventloop_delay_window_seconds{quantile="0.99"}') * 1e4) / 10,
    ffmpeg: ffmpegChildren(serverPid),
    imageP50Ms: windowQuantile(w.image, 0.5),
    imageP99Ms: windowQuantile(w.image, 0.99),
    videoP50Ms: windowQuantile(w.video, 0.5),
    tasksEnded: w.image.length + w.video.length
  })
  const s = samples.at(-1)!
  console.log(
    `t=${String(Math.round(s.t)).padStart(5)}s rss=${s.rssMb}MB anon=${s.anonMb}MB heap=${s.heapMb}MB ext=${s.externalMb}MB fds=${s.fds} loop_p99=${s.loopP99Ms}ms ffmpeg=${s.ffmpeg} image_p50=${s.imageP50Ms}ms p99=${s.imageP99Ms}ms video_p50=${s.videoP50Ms}ms ended=${s.tasksEnded} 5xx=${serverErrors.length} surprises=${surprises.length}`
  )
}

// ---------------------------------------------------------------------------------------------------------------
// Run.

const deadline = startedAt + minutes * 60_000
const networkErrors: Array<string> = []
const user = async () => {
  while (Date.now() < deadline) {
    const [name, , run] = choose()
    bump(name)
    try {
      await run()
    } catch (e) {
      networkErrors.push(
        `${name}: ${e instanceof Error ? `${e.message} ${String((e as { cause?: unknown }).cause ?? "")}` : String(e)}`
      )
    }
    await new Promise((r) => setTimeout(r, Math.random() * 100))
  }
}
console.log(`soak: ${minutes} min, ${users} users, warm-up ${warmupMinutes} min, server pid ${serverPid} at ${base}`)
const sampler = setInterval(() => void sample().catch((e) => networkErrors.push(`sample: ${e}`)), sampleEveryMs)
await Promise.all(Array.from({ length: users }, user))
clearInterval(sampler)
await sample()

// Every task created must reach its end: give stragglers (an abandoned long-poll's task) time to finish.
const lost: Array<string> = []
for (const [id, record] of tasks) {
  if (record.ended !== undefined) continue
  const until = Date.now() + 120_000
  for (;;) {
    const r = await call("GET", `${paths.result}?detect_task_id=${id}&wait=30`)
    const status = r.json.data?.status
    if (status === "succeeded" || status === "failed") {
      record.ended = Date.now()
      if (status !== record.expect) surprises.push(`task ${id} ended ${status}, expected ${record.expect}`)
      break
    }
    if (Date.now() > until) {
      lost.push(id)
      break
    }
  }
}
const ffmpegLeft = ffmpegChildren(serverPid)
child.kill("SIGTERM")
const exitCode = await exited
origin.close()

// ---------------------------------------------------------------------------------------------------------------
// Report.

/** Least-squares slope of y over t (seconds), per 10 minutes. */
const slope = (points: ReadonlyArray<readonly [number, number]>): number => {
  const n = points.length
  const mt = points.reduce((a, [t]) => a + t, 0) / n
  const my = points.reduce((a, [, y]) => a + y, 0) / n
  const num = points.reduce((a, [t, y]) => a + (t - mt) * (y - my), 0)
  const den = points.reduce((a, [t]) => a + (t - mt) ** 2, 0)
  return den === 0 ? 0 : (num / den) * 600
}
const steady = samples.filter((s) => s.t >= warmupMinutes * 60)
const r2 = (n: number) => Math.round(n * 100) / 100
const rssSlope = r2(slope(steady.map((s) => [s.t, s.rssMb])))
const heapSlope = r2(slope(steady.map((s) => [s.t, s.heapMb])))
const fdSlope = r2(slope(steady.map((s) => [s.t, s.fds])))
const ended = [...tasks.values()].filter((t) => t.ended !== undefined).length
const summary = {
  minutes,
  users,
  warmupMinutes,
  samplesAfterWarmup: steady.length,
  actions: Object.fromEntries(counts),
  answers: Object.fromEntries([...statuses].sort(([a], [b]) => a - b)),
  tasksCreated: tasks.size,
  tasksEnded: ended,
  tasksLost: lost.length,
  responses5xx: serverErrors.length,
  surprises: surprises.length,
  clientNetworkErrors: networkErrors.length,
  ffmpegLeftBehind: ffmpegLeft,
  serverExitCode: exitCode,
  rssMb: { first: steady[0]?.rssMb, last: steady.at(-1)?.rssMb, max: Math.max(...samples.map((s) => s.rssMb)) },
  rssSlopeMbPer10Min: rssSlope,
  heapSlopeMbPer10Min: heapSlope,
  fds: { first: steady[0]?.fds, last: steady.at(-1)?.fds, max: Math.max(...steady.map((s) => s.fds)) },
  fdSlopePer10Min: fdSlope,
  loopP99Ms: { median: median(steady.map((s) => s.loopP99Ms)), max: Math.max(...steady.map((s) => s.loopP99Ms)) },
  imageTaskMs: {
    p50: median(steady.flatMap((s) => (s.imageP50Ms === null ? [] : [s.imageP50Ms]))),
    p99Max: Math.max(...steady.flatMap((s) => (s.imageP99Ms === null ? [] : [s.imageP99Ms])))
  },
  tasksPerMinute: Math.round((ended / minutes) * 10) / 10
}
const verdicts = {
  rssSlope: rssSlope < 5,
  // Descriptors come and go with the load; a leak shows as a trend, not a step: under 1 per 10 minutes.
  fdGrowth: fdSlope < 1,
  no5xx: serverErrors.length === 0,
  noneLost: lost.length === 0,
  noFfmpegLeft: ffmpegLeft === 0,
  cleanExit: exitCode === 0,
  noSurprises: surprises.length === 0,
  noClientErrors: networkErrors.length === 0
}
console.log(JSON.stringify(summary, null, 2))
for (const line of [...serverErrors.slice(0, 10), ...surprises.slice(0, 20), ...networkErrors.slice(0, 10)]) {
  console.log(`  ${line}`)
}
for (const [name, ok] of Object.entries(verdicts)) console.log(`${ok ? "PASS" : "FAIL"} ${name}`)
const resultsDir = join(benchRoot, "results")
mkdirSync(resultsDir, { recursive: true })
writeFileSync(
  join(resultsDir, "soak.json"),
  `${JSON.stringify({ summary, verdicts, surprises: surprises.slice(0, 100), networkErrors: networkErrors.slice(0, 100), samples }, null, 2)}\n`
)
if (existsSync(work)) rmSync(work, { recursive: true, force: true })
process.exit(Object.values(verdicts).every(Boolean) ? 0 : 1)
