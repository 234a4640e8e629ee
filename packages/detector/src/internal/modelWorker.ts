/**
 * A small model (the recognition model, the face check) on a worker thread of its own: onnxruntime-node's `run` holds
 * the calling thread for the whole inference (2-10 ms an item), which on the main thread would stall a server's event
 * loop. The worker starts on the first request, runs one batch at a time, and is closed with the scope. A run that
 * throws, or a worker that dies, fails that batch with `InferenceFailed`; the next batch starts a fresh worker.
 */
import { Worker } from "node:worker_threads"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { InferenceFailed, type ModelLoadFailed } from "../DetectorError.js"
import * as OnnxRuntime from "./onnxRuntime.js"

/** A model with one uint8 NHWC RGB input of `size` x `size` and one float output of `outputs` values per item. */
export interface Spec {
  /** What it computes, for error messages ("face embedding"). */
  readonly task: string
  readonly inputName: string
  readonly size: number
  readonly outputName: string
  readonly outputs: number
  /** Items per message to the worker at most (one message costs about 1 ms). */
  readonly maxBatch: number
  /**
   * Items per inference at most: a larger batch saves little time and its activations cost memory (recognition,
   * batches of 64: about 60 MB more peak memory than 8; the face check, 8: about 30 MB more than 1, for 5 % of its
   * time).
   */
  readonly runBatch: number
}

export interface ModelWorker {
  /** One output per input (`size` x `size` RGB), in order. */
  readonly run: (
    inputs: ReadonlyArray<Uint8Array>
  ) => Effect.Effect<Array<Float32Array>, InferenceFailed | ModelLoadFailed>
  /**
   * One output per item, in order, each input written by `write` straight into the memory the worker reads (`out`:
   * `size` x `size` RGB, with its previous contents): no buffer per input.
   */
  readonly runInto: <A>(
    items: ReadonlyArray<A>,
    write: (item: A, out: Uint8Array) => void
  ) => Effect.Effect<Array<Float32Array>, InferenceFailed | ModelLoadFailed>
}

const workerSource = `
const { parentPort, workerData } = require("node:worker_threads")
const ort = require(workerData.ortPath)
const { size, inputName, outputName, runBatch, outputs } = workerData
const shared = new Uint8Array(workerData.shared)
// The inputs are copied out of shared memory (onnxruntime takes no tensor on it) into memory kept from run to run.
let local = new Uint8Array(0)
const main = async () => {
  let session
  try {
    session = await ort.InferenceSession.create(workerData.bytes, {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      executionMode: "sequential",
      graphOptimizationLevel: "all",
      logSeverityLevel: 3,
      extra: { session: { intra_op: { allow_spinning: "0" } } }
    })
  } catch (e) {
    parentPort.postMessage({ type: "failed", message: String((e && e.message) || e) })
    return
  }
  parentPort.postMessage({ type: "ready" })
  parentPort.on("message", async (job) => {
    if (job.type === "close") {
      try { await session.release() } catch {}
      parentPort.close()
      return
    }
    try {
      const item = size * size * 3
      const n = job.count
      if (local.length < n * item) local = new Uint8Array(n * item)
      local.set(shared.subarray(0, n * item))
      const data = new Float32Array(n * outputs)
      for (let i = 0; i < n; i += runBatch) {
        const m = Math.min(runBatch, n - i)
        const input = new ort.Tensor("uint8", local.subarray(i * item, (i + m) * item), [m, size, size, 3])
        const out = await session.run({ [inputName]: input })
        data.set(out[outputName].data, i * outputs)
      }
      parentPort.postMessage({ type: "result", id: job.id, data }, [data.buffer])
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
  | { readonly type: "result"; readonly id: number; readonly data: Float32Array }
  | { readonly type: "error"; readonly id: number; readonly message: string }

/**
 * A worker for the model `load` reads (and checks) on first use, so a detector that never needs the model never loads
 * it (a missing or altered file fails that call with `ModelLoadFailed`). Its worker is closed with the scope.
 */
export const make = (
  spec: Spec,
  load: Effect.Effect<{ readonly path: string; readonly bytes: Uint8Array }, ModelLoadFailed>
): Effect.Effect<ModelWorker, never, Scope.Scope> =>
  Effect.gen(function* () {
    let worker: Promise<Worker> | undefined
    let live: Worker | undefined
    let nextId = 0
    const ortPath = OnnxRuntime.modulePath()
    const itemBytes = spec.size * spec.size * 3
    // The batch's inputs go to the worker through memory both threads keep (one batch at a time, below): a fresh
    // buffer per batch cost a page fault per 4 KiB on first touch, about 0.3 ms per 192x192 window on a virtual machine.
    let shared: Uint8Array | undefined
    const start = (bytes: Uint8Array, memory: Uint8Array): Promise<Worker> =>
      new Promise((resolve, reject) => {
        const w = new Worker(workerSource, {
          eval: true,
          ...OnnxRuntime.workerOptions(),
          workerData: {
            ortPath,
            bytes,
            shared: memory.buffer,
            size: spec.size,
            inputName: spec.inputName,
            outputName: spec.outputName,
            outputs: spec.outputs,
            runBatch: spec.runBatch
          }
        })
        w.once("message", (reply: Reply) =>
          reply.type === "ready" ? resolve(w) : reject(new Error(reply.type === "failed" ? reply.message : "no answer"))
        )
        w.once("error", reject)
        w.once("exit", (code) => {
          reject(new Error(`exit code ${code}`))
          // A dead worker is started again on the next batch.
          if (live === w) {
            live = undefined
            worker = undefined
          }
        })
        live = w
      })
    yield* Effect.addFinalizer(() =>
      Effect.promise(async () => {
        const w = await worker?.catch(() => undefined)
        worker = undefined
        if (w === undefined) return
        const exited = new Promise((resolve) => w.once("exit", resolve))
        w.postMessage({ type: "close" })
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000).unref())])
        await w.terminate()
      })
    )
    // One batch at a time: the worker answers in order, and a close waits for the run in progress.
    const lock = yield* Effect.makeSemaphore(1)

    const runBatch = <A>(items: ReadonlyArray<A>, write: (item: A, out: Uint8Array) => void) =>
      Effect.gen(function* () {
        shared ??= new Uint8Array(new SharedArrayBuffer(spec.maxBatch * itemBytes))
        const memory = shared
        if (worker === undefined) {
          const model = yield* load
          worker = start(model.bytes, memory)
          worker.catch(() => (worker = undefined))
        }
        const pending = worker
        return yield* Effect.tryPromise({
          try: async () => {
            const w = await pending
            for (const [i, item] of items.entries()) write(item, memory.subarray(i * itemBytes, (i + 1) * itemBytes))
            const id = nextId++
            return await new Promise<Float32Array>((resolve, reject) => {
              const onMessage = (reply: Reply) => {
                if (reply.type === "result" && reply.id === id) done(() => resolve(reply.data))
                else if (reply.type === "error" && reply.id === id) done(() => reject(new Error(reply.message)))
              }
              const onExit = (code: number) =>
                done(() => reject(new Error(`its worker thread stopped (exit code ${code})`)))
              const done = (then: () => void) => {
                w.off("message", onMessage)
                w.off("exit", onExit)
                then()
              }
              w.on("message", onMessage)
              w.on("exit", onExit)
              w.postMessage({ type: "run", id, count: items.length })
            })
          },
          catch: (cause) =>
            new InferenceFailed({
              attempts: 1,
              detail: `${spec.task} failed: ${cause instanceof Error ? cause.message : String(cause)}`
            })
        })
      }).pipe(
        Effect.map((data) =>
          Array.from({ length: items.length }, (_, i) => data.slice(i * spec.outputs, (i + 1) * spec.outputs))
        ),
        lock.withPermits(1)
      )

    const runInto = <A>(items: ReadonlyArray<A>, write: (item: A, out: Uint8Array) => void) =>
      Effect.gen(function* () {
        const out: Array<Float32Array> = []
        for (let i = 0; i < items.length; i += spec.maxBatch) {
          out.push(...(yield* runBatch(items.slice(i, i + spec.maxBatch), write)))
        }
        return out
      })
    const run = (inputs: ReadonlyArray<Uint8Array>) => runInto(inputs, (input, out) => out.set(input))
    return { run, runInto }
  })
