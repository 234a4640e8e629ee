/**
 * A pool of onnxruntime sessions, one per worker thread. onnxruntime-node runs `session.run` synchronously on the
 * calling thread, so sessions on the main thread would neither run in parallel nor leave the event loop free for
 * the HTTP server: each session lives in its own worker. A job is a batch of windows of one raster held in shared
 * memory: the worker copies each window's rows straight into the model's uint8 input (the model scales pixels
 * itself; windows may have any size the model accepts) and sends back only the anchors above the threshold, so a
 * window costs a row copy and a few bytes of messaging besides the inference itself.
 */
import { Worker } from "node:worker_threads"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { SparseOutput } from "../BlazeFace.js"
import { InferenceFailed, ModelLoadFailed } from "../DetectorError.js"
import type { Raster } from "../ImageDecoder.js"
import * as OnnxRuntime from "./onnxRuntime.js"

/** What the worker needs to know about the model's tensors. */
export interface ModelSpec {
  readonly bytes: Uint8Array
  readonly path: string
  readonly inputName: string
  /** Side of the square window the worker warms the session up with. */
  readonly inputSize: number
  readonly scoreOutputs: ReadonlyArray<string>
  readonly boxOutputs: ReadonlyArray<string>
  readonly valuesPerAnchor: number
}

export interface PoolOptions {
  /** Worker threads, each with one session. */
  readonly sessions: number
  /** Intra-op threads per session. */
  readonly threads: number
  /**
   * Attempts at a job whose worker dies under it (the thread exits, or onnxruntime throws) before the job fails
   * with `InferenceFailed`. Each retry runs on another worker; the dead one is replaced. Default 3.
   */
  readonly maxAttempts?: number
  /** For tests only: makes workers fail the way a crash would. */
  readonly fault?: Fault
}

/**
 * A fault injected into the workers, for tests: the next `times` jobs on a raster `width` pixels wide end their
 * worker thread (`exit`) or make onnxruntime's run throw (`throw`), counted across all workers.
 */
export interface Fault {
  readonly kind: "exit" | "throw"
  readonly width: number
  readonly times: number
}

/** A raster in shared memory, readable by the workers without a copy. */
export interface SharedRaster extends Raster {
  readonly shared: true
}

/**
 * Shared buffers kept for reuse: a fresh buffer costs a zero-fill and, on first touch, a page fault per 4 KiB page,
 * which on a virtual machine costs more than the copy into it.
 */
const spare: Array<SharedArrayBuffer> = []
/** At most this much memory is kept for reuse (one video frame with its crop-size copy, or a few level rasters). */
const maxSpareBytes = 8 * 1024 * 1024
let spareBytes = 0

/** `bytes` of shared memory, reused when a buffer of that size was released. Give it back with `release`. */
export const allocate = (bytes: number): Uint8Array => {
  const at = spare.findIndex((b) => b.byteLength === bytes)
  if (at < 0) return new Uint8Array(new SharedArrayBuffer(bytes))
  spareBytes -= bytes
  return new Uint8Array(spare.splice(at, 1)[0]!)
}

/** Whether a raster already lives in shared memory (a video frame read into `allocate`d memory). */
export const isShared = (raster: Raster): boolean => raster.data.buffer instanceof SharedArrayBuffer

/**
 * The raster in shared memory: as it is when it already lives there, else copied (once per level; every window of
 * the level then reads it in place). Give a copy back with `release` once no job reads it any more.
 */
export const share = (raster: Raster): SharedRaster => {
  if (isShared(raster)) return { data: raster.data, width: raster.width, height: raster.height, shared: true }
  const data = allocate(raster.data.length)
  data.set(raster.data)
  return { data, width: raster.width, height: raster.height, shared: true }
}

/** Returns a shared raster's memory (the whole buffer it views) for reuse. */
export const release = (raster: Raster): void => {
  const buffer = raster.data.buffer
  if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength > maxSpareBytes || spare.includes(buffer)) return
  spare.push(buffer)
  spareBytes += buffer.byteLength
  while (spareBytes > maxSpareBytes) spareBytes -= spare.shift()!.byteLength
}

/** A model window on a raster: top-left corner and size; pixels outside the raster are padding. */
export type Window = readonly [x: number, y: number, width: number, height: number]

export interface InferencePool {
  /**
   * Runs the model on windows of `raster` and returns, per window, the anchors whose logit is at least `minLogit`
   * (anchor indices for that window's size).
   */
  readonly run: (
    raster: SharedRaster,
    tiles: ReadonlyArray<Window>,
    minLogit: number
  ) => Effect.Effect<Array<SparseOutput>, InferenceFailed>
  readonly sessions: number
}

// The worker, as CommonJS source: a worker file would need its own build step and cannot be loaded from `src/` by
// the test runner. The input buffer grows to the largest window seen; padding is mid grey (128).
const workerSource = `
const { parentPort, workerData } = require("node:worker_threads")
const ort = require(workerData.ortPath)
const spec = workerData.spec
const fault = workerData.fault
// The test hook (PoolOptions.fault): the run dies the way a crashed native library or an aborted thread would.
const infer = (session, feeds, width) => {
  if (fault && width === fault.width && Atomics.sub(fault.remaining, 0, 1) > 0) {
    if (fault.kind === "exit") process.exit(70)
    return Promise.reject(new Error("injected onnxruntime failure"))
  }
  return session.run(feeds)
}
const per = spec.valuesPerAnchor
const pad = 128
let input = new Uint8Array(spec.inputSize * spec.inputSize * 3)
const cut = (data, width, height, x, y, w, h) => {
  if (input.length < w * h * 3) input = new Uint8Array(w * h * 3)
  const x0 = Math.max(0, x)
  const x1 = Math.min(width, x + w)
  const rowBytes = w * 3
  for (let row = 0; row < h; row++) {
    const sy = y + row
    const o = row * rowBytes
    if (sy < 0 || sy >= height || x1 <= x0) { input.fill(pad, o, o + rowBytes); continue }
    const left = (x0 - x) * 3
    if (left > 0) input.fill(pad, o, o + left)
    input.set(data.subarray((sy * width + x0) * 3, (sy * width + x1) * 3), o + left)
    const used = left + (x1 - x0) * 3
    if (used < rowBytes) input.fill(pad, o + used, o + rowBytes)
  }
  return new ort.Tensor("uint8", input.subarray(0, w * h * 3), [1, h, w, 3])
}
const keep = (out, minLogit) => {
  const anchors = []
  const logits = []
  const values = []
  let base = 0
  for (let h = 0; h < spec.scoreOutputs.length; h++) {
    const scores = out[spec.scoreOutputs[h]].data
    const boxes = out[spec.boxOutputs[h]].data
    for (let i = 0; i < scores.length; i++) {
      if (!(scores[i] >= minLogit)) continue
      anchors.push(base + i)
      logits.push(scores[i])
      for (let k = 0; k < per; k++) values.push(boxes[i * per + k])
    }
    base += scores.length
  }
  return { anchors: Int32Array.from(anchors), logits: Float32Array.from(logits), values: Float32Array.from(values) }
}
const main = async () => {
  let session
  try {
    session = await ort.InferenceSession.create(spec.bytes, {
      intraOpNumThreads: workerData.threads,
      interOpNumThreads: 1,
      executionMode: "sequential",
      graphOptimizationLevel: "all",
      // Windows come in many sizes (one per image size and level), and a memory pattern is planned and kept for each
      // input shape: over 52 image sizes it held about 40 MB more, for no measurable speed (the README's figures).
      enableMemPattern: false,
      logSeverityLevel: 3,
      extra: { session: { intra_op: { allow_spinning: "0" } } }
    })
    const size = spec.inputSize
    input.fill(pad)
    await session.run({ [spec.inputName]: new ort.Tensor("uint8", input.subarray(0, size * size * 3), [1, size, size, 3]) })
  } catch (e) {
    parentPort.postMessage({ type: "failed", message: String((e && e.message) || e) })
    return
  }
  parentPort.postMessage({ type: "ready" })
  // One message at a time: a close waits for the run in progress (terminating a thread inside onnxruntime's run
  // aborts the whole process), then releases the session and lets the thread end by itself.
  let queue = Promise.resolve()
  parentPort.on("message", (message) => {
    queue = queue.then(() => (message.type === "close" ? close() : run(message)))
  })
  const run = async (job) => {
    try {
      const outputs = []
      for (const [x, y, w, h] of job.tiles) {
        const tensor = cut(job.data, job.width, job.height, x, y, w, h)
        outputs.push(keep(await infer(session, { [spec.inputName]: tensor }, job.width), job.minLogit))
      }
      parentPort.postMessage({ type: "result", id: job.id, outputs })
    } catch (e) {
      parentPort.postMessage({ type: "error", id: job.id, message: String((e && e.message) || e) })
    }
  }
  const close = async () => {
    try {
      await session.release()
    } catch {}
    parentPort.close()
  }
}
main()
`

type Reply =
  | { readonly type: "ready" }
  | { readonly type: "failed"; readonly message: string }
  | { readonly type: "result"; readonly id: number; readonly outputs: Array<SparseOutput> }
  | { readonly type: "error"; readonly id: number; readonly message: string }

interface Job {
  readonly id: number
  readonly message: {
    readonly id: number
    readonly data: Uint8Array
    readonly width: number
    readonly height: number
    readonly tiles: ReadonlyArray<Window>
    readonly minLogit: number
  }
  readonly resume: (effect: Effect.Effect<Array<SparseOutput>, InferenceFailed>) => void
  /** Workers that died running it so far. */
  failures: number
  /** Its caller was interrupted: a retry would answer no one. */
  cancelled: boolean
}

interface Slot {
  worker: Worker
  busy: Job | undefined
  ready: boolean
}

/** Workers whose thread has ended. */
const exited = new WeakSet<Worker>()
/** Workers taken out of service after a failed run: their exit is expected and replaces nothing. */
const retired = new WeakSet<Worker>()

/** A worker still inside a run after this long is terminated anyway (a run takes milliseconds, not seconds). */
const closeGraceMs = 10_000

/**
 * Ends a worker: it finishes the run in progress, releases its session and exits. `terminate()` alone would stop the
 * thread inside onnxruntime's synchronous run, which aborts the process (an uncaught native exception).
 */
const close = (worker: Worker): Promise<void> =>
  new Promise((resolve) => {
    if (exited.has(worker)) return resolve()
    const timer = setTimeout(() => {
      worker.terminate().then(
        () => resolve(),
        () => resolve()
      )
    }, closeGraceMs)
    worker.once("exit", () => {
      clearTimeout(timer)
      resolve()
    })
    worker.postMessage({ type: "close" })
  })

/** Starts `options.sessions` workers, each loading the model and running it once (warm-up) before it takes work. */
export const make = (
  model: ModelSpec,
  options: PoolOptions
): Effect.Effect<InferencePool, ModelLoadFailed, Scope.Scope> =>
  Effect.gen(function* () {
    const queue: Array<Job> = []
    const slots: Array<Slot> = []
    let nextId = 0
    let closed = false
    const maxAttempts = Math.max(1, options.maxAttempts ?? 3)
    const fault = options.fault
    const workerData = {
      ortPath: OnnxRuntime.modulePath(),
      threads: options.threads,
      spec: { ...model, bytes: model.bytes, scoreOutputs: [...model.scoreOutputs], boxOutputs: [...model.boxOutputs] },
      fault:
        fault === undefined
          ? undefined
          : {
              kind: fault.kind,
              width: fault.width,
              remaining: new Int32Array(new SharedArrayBuffer(4)).fill(fault.times)
            }
    }

    // A job whose worker died under it runs again on another worker, first in line, until it has killed
    // `maxAttempts` of them: then it is the input that kills workers, and it fails.
    const retryOrFail = (job: Job, why: string) => {
      if (job.cancelled) return
      job.failures++
      if (job.failures < maxAttempts) {
        queue.unshift(job)
        dispatch()
        return
      }
      job.resume(Effect.fail(new InferenceFailed({ attempts: job.failures, detail: why })))
    }

    // A dead worker's slot gets a fresh worker; if that fails too (the model file gone, memory short), it tries
    // again with a growing pause instead of leaving the pool a worker short for good.
    const replace = (slot: Slot, pauseMs: number) => {
      if (closed) return
      spawn(slot).catch(() => {
        if (closed) return
        setTimeout(() => replace(slot, Math.min(pauseMs * 2, 30_000)), pauseMs).unref()
      })
    }

    const dispatch = () => {
      for (const slot of slots) {
        if (!slot.ready || slot.busy !== undefined) continue
        const job = queue.shift()
        if (job === undefined) return
        slot.busy = job
        slot.worker.postMessage(job.message)
      }
    }

    // Starts a worker; resolves once it is ready (or failed to load the model).
    const spawn = (slot: Slot | undefined): Promise<Slot> =>
      new Promise((resolve, reject) => {
        const worker = new Worker(workerSource, { eval: true, ...OnnxRuntime.workerOptions(), workerData })
        const current: Slot = slot ?? { worker, busy: undefined, ready: false }
        current.worker = worker
        current.ready = false
        let started = false
        worker.on("message", (reply: Reply) => {
          // A retired worker may still answer its close: it no longer speaks for the slot.
          if (current.worker !== worker) return
          switch (reply.type) {
            case "ready":
              started = true
              current.ready = true
              resolve(current)
              dispatch()
              return
            case "failed":
              reject(new Error(reply.message))
              return
            case "result": {
              const job = current.busy
              current.busy = undefined
              if (job !== undefined && job.id === reply.id) job.resume(Effect.succeed(reply.outputs))
              dispatch()
              return
            }
            case "error": {
              // onnxruntime threw: the session may be in any state, so the worker is retired (it finishes and
              // exits) and replaced, and the job tried elsewhere.
              const job = current.busy
              current.busy = undefined
              current.ready = false
              retired.add(worker)
              void close(worker)
              replace(current, 1_000)
              if (job !== undefined && job.id === reply.id) retryOrFail(job, `onnxruntime failed: ${reply.message}`)
              return
            }
          }
        })
        const lost = (why: string) => {
          if (!started) return reject(new Error(why))
          if (retired.has(worker) || current.worker !== worker) return
          retired.add(worker)
          current.ready = false
          const job = current.busy
          current.busy = undefined
          replace(current, 1_000)
          if (job !== undefined) retryOrFail(job, `its worker thread stopped (${why})`)
        }
        worker.on("error", (error) => lost(error.message))
        worker.on("exit", (code) => {
          exited.add(worker)
          lost(`exit code ${code}`)
        })
      })

    // No worker is replaced once closing has begun.
    const closeAll = Effect.promise(async () => {
      closed = true
      await Promise.all(slots.map((slot) => close(slot.worker)))
      // Jobs still waiting (their callers were interrupted, or never will be answered) are failed, not left hanging.
      for (const job of queue.splice(0)) {
        job.resume(Effect.fail(new InferenceFailed({ attempts: job.failures, detail: "the detector was shut down" })))
      }
    })

    yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: async () => {
          for (let i = 0; i < options.sessions; i++) slots.push(await spawn(undefined))
        },
        catch: (cause) =>
          new ModelLoadFailed({
            path: model.path,
            detail: `inference session failed to start: ${cause instanceof Error ? cause.message : String(cause)}`
          })
      }).pipe(Effect.onError(() => closeAll)),
      () => closeAll
    )

    const run = (
      raster: SharedRaster,
      tiles: ReadonlyArray<Window>,
      minLogit: number
    ): Effect.Effect<Array<SparseOutput>, InferenceFailed> =>
      tiles.length === 0
        ? Effect.succeed([])
        : Effect.async<Array<SparseOutput>, InferenceFailed>((resume) => {
            const id = nextId++
            const job: Job = {
              id,
              message: { id, data: raster.data, width: raster.width, height: raster.height, tiles, minLogit },
              resume,
              failures: 0,
              cancelled: false
            }
            queue.push(job)
            dispatch()
            return Effect.sync(() => {
              job.cancelled = true
              const at = queue.indexOf(job)
              if (at >= 0) queue.splice(at, 1)
            })
          })

    return { run, sessions: options.sessions }
  })
