/**
 * A pool of onnxruntime sessions, one per worker thread. onnxruntime-node runs `session.run` synchronously on the
 * calling thread, so sessions on the main thread would neither run in parallel nor leave the event loop free for
 * the HTTP server: each session lives in its own worker, and tiles are queued to whichever is idle.
 */
import { createRequire } from "node:module"
import { Worker } from "node:worker_threads"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { RawOutput } from "../BlazeFace.js"
import { ModelLoadFailed } from "../DetectorError.js"

/** What the worker needs to know about the model's tensors. */
export interface ModelSpec {
  readonly bytes: Uint8Array
  readonly path: string
  readonly inputName: string
  readonly inputSize: number
  readonly scoreOutputs: ReadonlyArray<string>
  readonly boxOutputs: ReadonlyArray<string>
}

export interface PoolOptions {
  /** Worker threads, each with one session. */
  readonly sessions: number
  /** Intra-op threads per session. */
  readonly threads: number
}

export interface InferencePool {
  /** Runs the model on one RGB tile (`inputSize`² x 3 bytes; the buffer is transferred to the worker). */
  readonly run: (rgb: Uint8Array) => Effect.Effect<RawOutput>
  readonly sessions: number
}

// The worker, as CommonJS source: a worker file would need its own build step and cannot be loaded from `src/` by
// the test runner. It converts RGB to [-1, 1] floats, runs the model, and returns the heads concatenated.
const workerSource = `
const { parentPort, workerData } = require("node:worker_threads")
const ort = require(workerData.ortPath)
const spec = workerData.spec
const size = spec.inputSize
const input = new Float32Array(size * size * 3)
const tensor = new ort.Tensor("float32", input, [1, size, size, 3])
const concat = (out, names) => {
  const parts = names.map((n) => out[n].data)
  const all = new Float32Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) { all.set(p, at); at += p.length }
  return all
}
const main = async () => {
  let session
  try {
    session = await ort.InferenceSession.create(spec.bytes, {
      intraOpNumThreads: workerData.threads,
      interOpNumThreads: 1,
      executionMode: "sequential",
      graphOptimizationLevel: "all",
      logSeverityLevel: 3,
      extra: { session: { intra_op: { allow_spinning: "0" } } }
    })
    await session.run({ [spec.inputName]: tensor })
  } catch (e) {
    parentPort.postMessage({ type: "failed", message: String((e && e.message) || e) })
    return
  }
  parentPort.postMessage({ type: "ready" })
  parentPort.on("message", async (job) => {
    try {
      const rgb = job.rgb
      for (let i = 0; i < input.length; i++) input[i] = rgb[i] / 127.5 - 1
      const out = await session.run({ [spec.inputName]: tensor })
      const scores = concat(out, spec.scoreOutputs)
      const boxes = concat(out, spec.boxOutputs)
      parentPort.postMessage({ type: "result", id: job.id, scores, boxes }, [scores.buffer, boxes.buffer])
    } catch (e) {
      parentPort.postMessage({ type: "error", id: job.id, message: String((e && e.message) || e) })
    }
  })
}
main()
`

type Reply =
  | { readonly type: "ready" }
  | { readonly type: "failed"; readonly message: string }
  | { readonly type: "result"; readonly id: number; readonly scores: Float32Array; readonly boxes: Float32Array }
  | { readonly type: "error"; readonly id: number; readonly message: string }

interface Job {
  readonly id: number
  readonly rgb: Uint8Array
  readonly resume: (effect: Effect.Effect<RawOutput>) => void
}

interface Slot {
  worker: Worker
  busy: Job | undefined
  ready: boolean
}

const ortPath = (): string => createRequire(import.meta.url).resolve("onnxruntime-node")

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
    const workerData = {
      ortPath: ortPath(),
      threads: options.threads,
      spec: { ...model, bytes: model.bytes, scoreOutputs: [...model.scoreOutputs], boxOutputs: [...model.boxOutputs] }
    }

    const dispatch = () => {
      for (const slot of slots) {
        if (!slot.ready || slot.busy !== undefined) continue
        const job = queue.shift()
        if (job === undefined) return
        slot.busy = job
        slot.worker.postMessage({ id: job.id, rgb: job.rgb }, [job.rgb.buffer as ArrayBuffer])
      }
    }

    // Starts a worker; resolves once it is ready (or failed to load the model).
    const spawn = (slot: Slot | undefined): Promise<Slot> =>
      new Promise((resolve, reject) => {
        const worker = new Worker(workerSource, { eval: true, workerData })
        const current: Slot = slot ?? { worker, busy: undefined, ready: false }
        current.worker = worker
        current.ready = false
        let started = false
        worker.on("message", (reply: Reply) => {
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
            case "result":
            case "error": {
              const job = current.busy
              current.busy = undefined
              if (job !== undefined && job.id === reply.id) {
                job.resume(
                  reply.type === "result"
                    ? Effect.succeed({ scores: reply.scores, boxes: reply.boxes })
                    : Effect.die(new Error(`face model inference failed: ${reply.message}`))
                )
              }
              dispatch()
              return
            }
          }
        })
        const lost = (why: string) => {
          if (!started) return reject(new Error(why))
          current.ready = false
          const job = current.busy
          current.busy = undefined
          job?.resume(Effect.die(new Error(`face model worker stopped: ${why}`)))
          if (!closed) spawn(current).catch(() => undefined)
        }
        worker.on("error", (error) => lost(error.message))
        worker.on("exit", (code) => lost(`exit code ${code}`))
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
      }).pipe(Effect.onError(() => Effect.promise(() => Promise.all(slots.map((s) => s.worker.terminate()))))),
      () =>
        Effect.promise(async () => {
          closed = true
          await Promise.all(slots.map((s) => s.worker.terminate()))
        })
    )

    const run = (rgb: Uint8Array): Effect.Effect<RawOutput> =>
      Effect.async<RawOutput>((resume) => {
        const job: Job = { id: nextId++, rgb, resume }
        queue.push(job)
        dispatch()
        return Effect.sync(() => {
          const at = queue.indexOf(job)
          if (at >= 0) queue.splice(at, 1)
        })
      })

    return { run, sessions: options.sessions }
  })
