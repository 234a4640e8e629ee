/**
 * The server's Prometheus metrics, rendered in the text exposition format (version 0.0.4) at `GET /metrics`:
 *
 * - `facedet_tasks_total{kind, outcome}`: tasks that ended (`succeeded`, or the failure code, e.g.
 *   `FaceSwap.Detect.Failed`), plus `facedet_tasks_created_total{kind}`;
 * - `facedet_queue_depth{state}`: tasks queued and running (read from the store at scrape time);
 * - `facedet_detection_seconds{kind}`: time from claim to result, a histogram;
 * - `facedet_task_stage_seconds{kind, stage}`: where a task's time goes, a histogram per stage: `queued` (create to
 *   claim), `download` (or reading the upload), `detect`, `record` (the completing write) and `crops` (an image's
 *   eager crops encoded and written: after the task completes, or before it on PostgreSQL);
 * - `facedet_http_request_duration_seconds{route, code}`: a histogram per route template and answered code;
 * - callbacks: `facedet_webhook_attempts_total{outcome}`, `facedet_webhook_delivery_seconds`;
 * - the process: CPU seconds, resident memory, V8 heap and external memory, open file descriptors, start time, and
 *   the event loop's delay (p50, p90, p99, max) sampled every 20 ms, since the start and over the last window of at
 *   least 10 s (`nodejs_eventloop_delay_window_seconds`: a slowly worsening loop shows there, not in the totals).
 *
 * Hand-rolled rather than `prom-client`: four metric families, no dependency, and recording stays a few array
 * increments on the request path.
 *
 * @since 0.1.0
 */

import * as Context from "effect/Context"
import * as Layer from "effect/Layer"
import { readdirSync } from "node:fs"
import { monitorEventLoopDelay, performance } from "node:perf_hooks"

const httpBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
const deliveryBuckets = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 60, 300, 3600, 21_600, 86_400]
const stageBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300]
const detectionBuckets = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600]

class Histogram {
  readonly counts: Array<number>
  sum = 0
  count = 0
  constructor(readonly buckets: ReadonlyArray<number>) {
    this.counts = new Array(buckets.length).fill(0)
  }
  observe(seconds: number): void {
    this.sum += seconds
    this.count += 1
    for (let i = 0; i < this.buckets.length; i++) {
      if (seconds <= this.buckets[i]!) {
        this.counts[i]! += 1
        return
      }
    }
  }
}

const escape = (v: string): string => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")
const labels = (l: Readonly<Record<string, string>>): string =>
  Object.entries(l)
    .map(([k, v]) => `${k}="${escape(v)}"`)
    .join(",")

/**
 * The stages of a task that `facedet_task_stage_seconds` times.
 *
 * @since 0.1.0
 */
export type Stage = "queued" | "download" | "detect" | "record" | "crops"

/**
 * The metrics registry of one server.
 *
 * @since 0.1.0
 */
export interface Metrics {
  readonly taskCreated: (kind: string) => void
  readonly taskEnded: (kind: string, outcome: string, seconds: number | undefined) => void
  readonly httpRequest: (route: string, code: number, seconds: number) => void
  /** A stage of a task took `seconds` (`facedet_task_stage_seconds`). */
  readonly taskStage: (kind: string, stage: Stage, seconds: number) => void
  /**
   * A callback attempt ended: `outcome` is delivered, retry or failed; `seconds` (delivered and failed only) is the
   * time from the task's end to that final attempt.
   */
  readonly webhookAttempt: (outcome: "delivered" | "retry" | "failed", seconds: number | undefined) => void
  /** The exposition text; `depth` is read by the caller from the store. */
  readonly render: (depth: { readonly queued: number; readonly running: number }) => string
}

/** Open file descriptors of this process (Linux: /proc/self/fd), or undefined elsewhere. */
const openFds = (): number | undefined => {
  try {
    return readdirSync("/proc/self/fd").length
  } catch {
    return undefined
  }
}

/**
 * A new, empty registry.
 *
 * @since 0.1.0
 */
export const make = (): Metrics => {
  // Event-loop delay, sampled every 20 ms: the first sign of a CPU-bound handler or a blocking call.
  const loopDelay = monitorEventLoopDelay({ resolution: 20 })
  loopDelay.enable()
  // The same over a window that a scrape closes once it is 10 s old: the totals above settle after an hour and
  // would hide a loop that is slowly getting worse.
  const windowDelay = monitorEventLoopDelay({ resolution: 20 })
  windowDelay.enable()
  let windowStartedAt = performance.now()
  let lastWindow = { p99: 0, max: 0 }
  const startedAt = Date.now() / 1000
  const created = new Map<string, number>()
  const ended = new Map<string, { kind: string; outcome: string; n: number }>()
  const detection = new Map<string, Histogram>()
  const stages = new Map<string, { kind: string; stage: Stage; h: Histogram }>()
  const http = new Map<string, { route: string; code: number; h: Histogram }>()
  const webhookAttempts = { delivered: 0, retry: 0, failed: 0 }
  const webhookLatency = new Histogram(deliveryBuckets)

  const histogramLines = (name: string, l: Record<string, string>, h: Histogram, out: Array<string>) => {
    let cumulative = 0
    for (let i = 0; i < h.buckets.length; i++) {
      cumulative += h.counts[i]!
      out.push(`${name}_bucket{${labels({ ...l, le: String(h.buckets[i]) })}} ${cumulative}`)
    }
    out.push(`${name}_bucket{${labels({ ...l, le: "+Inf" })}} ${h.count}`)
    out.push(`${name}_sum{${labels(l)}} ${h.sum}`)
    out.push(`${name}_count{${labels(l)}} ${h.count}`)
  }

  return {
    taskCreated: (kind) => created.set(kind, (created.get(kind) ?? 0) + 1),
    taskEnded: (kind, outcome, seconds) => {
      const key = `${kind}\u0000${outcome}`
      const entry = ended.get(key) ?? { kind, outcome, n: 0 }
      entry.n += 1
      ended.set(key, entry)
      if (seconds !== undefined) {
        const h = detection.get(kind) ?? new Histogram(detectionBuckets)
        detection.set(kind, h)
        h.observe(seconds)
      }
    },
    taskStage: (kind, stage, seconds) => {
      const key = `${kind} ${stage}`
      const entry = stages.get(key) ?? { kind, stage, h: new Histogram(stageBuckets) }
      stages.set(key, entry)
      entry.h.observe(seconds)
    },
    httpRequest: (route, code, seconds) => {
      const key = `${route} ${code}`
      const entry = http.get(key) ?? { route, code, h: new Histogram(httpBuckets) }
      http.set(key, entry)
      entry.h.observe(seconds)
    },
    webhookAttempt: (outcome, seconds) => {
      webhookAttempts[outcome] += 1
      if (outcome === "delivered" && seconds !== undefined) webhookLatency.observe(seconds)
    },
    render: (depth) => {
      const out: Array<string> = []
      out.push("# HELP facedet_tasks_created_total Detection tasks accepted, by kind.")
      out.push("# TYPE facedet_tasks_created_total counter")
      for (const [kind, n] of created) out.push(`facedet_tasks_created_total{${labels({ kind })}} ${n}`)
      out.push(
        "# HELP facedet_tasks_total Detection tasks that ended, by kind and outcome (succeeded or the error code)."
      )
      out.push("# TYPE facedet_tasks_total counter")
      for (const e of ended.values())
        out.push(`facedet_tasks_total{${labels({ kind: e.kind, outcome: e.outcome })}} ${e.n}`)
      out.push("# HELP facedet_queue_depth Tasks waiting for a worker (queued) and being processed (running).")
      out.push("# TYPE facedet_queue_depth gauge")
      out.push(`facedet_queue_depth{state="queued"} ${depth.queued}`)
      out.push(`facedet_queue_depth{state="running"} ${depth.running}`)
      out.push("# HELP facedet_detection_seconds Time from a worker's claim to the task's result, by kind.")
      out.push("# TYPE facedet_detection_seconds histogram")
      for (const [kind, h] of detection) histogramLines("facedet_detection_seconds", { kind }, h, out)
      out.push("# HELP facedet_task_stage_seconds Time a task spent in each stage, by kind and stage.")
      out.push("# TYPE facedet_task_stage_seconds histogram")
      for (const e of stages.values()) {
        histogramLines("facedet_task_stage_seconds", { kind: e.kind, stage: e.stage }, e.h, out)
      }
      out.push("# HELP facedet_http_request_duration_seconds HTTP request latency by route and answered code.")
      out.push("# TYPE facedet_http_request_duration_seconds histogram")
      for (const e of http.values()) {
        histogramLines("facedet_http_request_duration_seconds", { route: e.route, code: String(e.code) }, e.h, out)
      }
      const memory = process.memoryUsage()
      const cpu = process.cpuUsage()
      out.push("# HELP process_cpu_seconds_total User and system CPU time of the process.")
      out.push("# TYPE process_cpu_seconds_total counter")
      out.push(`process_cpu_seconds_total ${(cpu.user + cpu.system) / 1e6}`)
      out.push("# HELP process_resident_memory_bytes Resident set size.")
      out.push("# TYPE process_resident_memory_bytes gauge")
      out.push(`process_resident_memory_bytes ${memory.rss}`)
      out.push("# HELP nodejs_heap_used_bytes V8 heap in use.")
      out.push("# TYPE nodejs_heap_used_bytes gauge")
      out.push(`nodejs_heap_used_bytes ${memory.heapUsed}`)
      out.push("# HELP nodejs_external_memory_bytes Memory of C++ objects bound to JavaScript (buffers, rasters).")
      out.push("# TYPE nodejs_external_memory_bytes gauge")
      out.push(`nodejs_external_memory_bytes ${memory.external}`)
      const fds = openFds()
      if (fds !== undefined) {
        out.push("# HELP process_open_fds Open file descriptors.")
        out.push("# TYPE process_open_fds gauge")
        out.push(`process_open_fds ${fds}`)
      }
      out.push("# HELP process_start_time_seconds Start of the process, Unix seconds.")
      out.push("# TYPE process_start_time_seconds gauge")
      out.push(`process_start_time_seconds ${Math.floor(startedAt)}`)
      out.push("# HELP nodejs_eventloop_delay_seconds Event-loop delay since the start (20 ms resolution).")
      out.push("# TYPE nodejs_eventloop_delay_seconds summary")
      for (const q of [0.5, 0.9, 0.99]) {
        out.push(`nodejs_eventloop_delay_seconds{quantile="${q}"} ${loopDelay.percentile(q * 100) / 1e9}`)
      }
      out.push(`nodejs_eventloop_delay_seconds_max ${loopDelay.max / 1e9}`)
      if (performance.now() - windowStartedAt >= 10_000) {
        lastWindow = { p99: windowDelay.percentile(99) / 1e9, max: windowDelay.max / 1e9 }
        windowDelay.reset()
        windowStartedAt = performance.now()
      }
      out.push("# HELP nodejs_eventloop_delay_window_seconds Event-loop delay over the last complete window (>= 10 s).")
      out.push("# TYPE nodejs_eventloop_delay_window_seconds gauge")
      out.push(`nodejs_eventloop_delay_window_seconds{quantile="0.99"} ${lastWindow.p99}`)
      out.push(`nodejs_eventloop_delay_window_seconds{quantile="1"} ${lastWindow.max}`)
      out.push(
        "# HELP facedet_webhook_attempts_total Callback delivery attempts by outcome (delivered, retry, failed)."
      )
      out.push("# TYPE facedet_webhook_attempts_total counter")
      for (const [outcome, n] of Object.entries(webhookAttempts))
        out.push(`facedet_webhook_attempts_total{${labels({ outcome })}} ${n}`)
      out.push("# HELP facedet_webhook_delivery_seconds Time from a task's end to its callback's successful delivery.")
      out.push("# TYPE facedet_webhook_delivery_seconds histogram")
      histogramLines("facedet_webhook_delivery_seconds", {}, webhookLatency, out)
      return `${out.join("\n")}\n`
    }
  }
}

/**
 * The server's registry, as a service.
 *
 * @since 0.1.0
 */
export class Registry extends Context.Tag("@facedet/http-server/Metrics")<Registry, Metrics>() {}

/**
 * A new registry for the server being built.
 *
 * @since 0.1.0
 */
export const layer: Layer.Layer<Registry> = Layer.sync(Registry, make)
