/**
 * Waiting on a task the way every command does: progress on stderr, the last snapshot kept so a `failed` task
 * comes back as data (for `--json`), and on Ctrl-C the hint to resume with `facedet result <id> --wait`.
 */
import type { DetectTask, FaceDetError } from "@facedet/core"
import * as Effect from "effect/Effect"
import { Output } from "../Output.js"
import * as Progress from "../Progress.js"
import * as Render from "../Render.js"

/** The callbacks a client wait takes. */
export interface Hooks {
  readonly onCreated: (created: DetectTask.CreateData) => Effect.Effect<void>
  readonly onUpdate: (snapshot: DetectTask.ResultData) => Effect.Effect<void>
}

/**
 * Runs a client wait (`detectFaces`, `waitForResult`) with progress; ends with the terminal snapshot, `failed`
 * included. `detectTaskId` is the task's id when it already exists (resuming).
 */
export const untilEnded = <R>(
  wait: (hooks: Hooks) => Effect.Effect<DetectTask.Succeeded, FaceDetError.FaceDetError, R>,
  detectTaskId?: string
): Effect.Effect<DetectTask.ResultData, FaceDetError.FaceDetError, R | Output> =>
  Effect.scoped(
    Effect.gen(function* () {
      const output = yield* Output
      const progress = yield* Progress.make(detectTaskId === undefined ? undefined : { detectTaskId })
      let last: DetectTask.ResultData | undefined
      return yield* wait({
        onCreated: (created) => progress.created(created.detect_task_id),
        onUpdate: (snapshot) =>
          Effect.suspend(() => {
            last = snapshot
            return progress.update(snapshot.detect_task_id, snapshot.status)
          })
      }).pipe(
        Effect.map((data): DetectTask.ResultData => data),
        // A failed task is still a result: `--json` prints its data before the error.
        Effect.catchTag("DetectionFailed", (failure) =>
          last?.status === "failed" ? Effect.succeed(last) : Effect.fail(failure)
        ),
        Effect.onInterrupt(() =>
          Effect.flatMap(progress.taskId, (id) =>
            output.err(
              id === undefined
                ? "interrupted before the server answered with a detect task id; if the create reached it, that task still runs"
                : Render.resumeHint(id)
            )
          )
        )
      )
    })
  )
