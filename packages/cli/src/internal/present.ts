/**
 * Prints a result the way every command does: `--json` puts the `data` object on stdout whatever its state; the
 * human form puts a succeeded or in-flight result on stdout. A failed task then fails with core's
 * `DetectionFailed` (its code and message verbatim), which is printed on stderr and exits with "task failed".
 */
import type { DetectTask } from "@facedet/core"
import * as FaceDetError from "@facedet/core/FaceDetError"
import * as Effect from "effect/Effect"
import { Output } from "../Output.js"
import * as Render from "../Render.js"

export interface Options {
  readonly json: boolean
  readonly validity?: Render.Validity | "local" | undefined
}

/** The failure a `failed` result stands for. */
export const failureOf = (data: DetectTask.ResultData): FaceDetError.DetectionFailed => {
  const error = data.error ?? data.result?.error
  return new FaceDetError.DetectionFailed({
    detectTaskId: data.detect_task_id,
    code: error?.code ?? "Unknown",
    taskMessage: error?.message ?? "the task failed without an error message"
  })
}

export const present = (
  data: DetectTask.ResultData,
  options: Options
): Effect.Effect<void, FaceDetError.DetectionFailed, Output> =>
  Effect.gen(function* () {
    const output = yield* Output
    if (options.json) {
      yield* output.out(Render.json(data))
    } else if (data.status !== "failed") {
      for (const line of Render.result(data, options.validity)) yield* output.out(line)
    }
    if (data.status === "failed") return yield* failureOf(data)
  })
