/**
 * The bound the server's figures are judged against, measured in the bench's own process while the server is idle:
 * the detector alone (configured from the environment, as the server configures it), crops included, on the same
 * photo. `singleMs`: the median time of one detection on an idle detector (what create -> succeeded cannot beat);
 * `boundPerSecond`: every core doing one such detection after another (the bound the 1,000 tasks are judged by);
 * `tasksPerSecond`: what one process achieves driving the detector with two detections in flight per core (as many as
 * the server's default `FACEDET_WORKERS`; one per core left the cores a fifth idle), with the CPU per detection in
 * that run (`concurrentCpuMs`) and the share of the cores it kept busy (`concurrentCoresBusy`);
 * `cpuMs`: the CPU time of one detection (every thread of the process: inference workers, libvips, the event loop),
 * median over the single runs, and `cpuBoundPerSecond` the cores' rate by that measure: what the server's CPU per
 * task (measured in the burst) is compared with.
 */
import { availableParallelism } from "node:os"
import { FaceDetector } from "@facedet/detector"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import { median } from "../median.js"

export const detectorAlone = async (photo: Uint8Array) => {
  const scope = Effect.runSync(Scope.make())
  try {
    const context = await Effect.runPromise(Layer.buildWithScope(FaceDetector.layerConfig, scope))
    const detect = Effect.provide(
      Effect.flatMap(FaceDetector.FaceDetector, (d) => d.detectImage(photo)),
      context
    )
    for (let i = 0; i < 10; i++) await Effect.runPromise(detect)
    const single: Array<number> = []
    const cpu: Array<number> = []
    for (let i = 0; i < 30; i++) {
      const t = performance.now()
      const c = process.cpuUsage()
      await Effect.runPromise(detect)
      single.push(performance.now() - t)
      const used = process.cpuUsage(c)
      cpu.push((used.user + used.system) / 1000)
    }
    const n = 200
    const t0 = performance.now()
    const c0 = process.cpuUsage()
    const f0 = process.resourceUsage().minorPageFault
    await Effect.runPromise(
      Effect.forEach(Array.from({ length: n }), () => detect, { concurrency: 2 * availableParallelism() })
    )
    const concurrentCpu = process.cpuUsage(c0)
    const concurrentFaults = (process.resourceUsage().minorPageFault - f0) / n
    const concurrentMs = performance.now() - t0
    const singleMs = median(single)
    const cpuMs = median(cpu)
    return {
      singleMs,
      cpuMs,
      boundPerSecond: (availableParallelism() * 1000) / singleMs,
      cpuBoundPerSecond: (availableParallelism() * 1000) / cpuMs,
      tasksPerSecond: n / (concurrentMs / 1000),
      // The same run's CPU per detection, and how busy it kept the cores (1 = every core all the time).
      concurrentFaults,
      concurrentCpuMs: (concurrentCpu.user + concurrentCpu.system) / 1000 / n,
      concurrentCoresBusy: (concurrentCpu.user + concurrentCpu.system) / 1000 / concurrentMs / availableParallelism()
    }
  } finally {
    await Effect.runPromise(Scope.close(scope, Exit.void))
  }
}
