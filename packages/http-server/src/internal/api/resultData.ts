/**
 * What the result call and a callback say about a task, exactly as crun.ai spells it, plus facedet's extensions.
 */
import type * as DetectTask from "@facedet/core/DetectTask"
import * as Timestamp from "@facedet/core/Timestamp"
import * as Detection from "@facedet/detector/Detection"
import type { Delivery, Task } from "../../JobStore.js"
import { status as wireStatus } from "../../JobStore.js"

/**
 * The `data` of a result answer, exactly as crun.ai spells it, plus facedet's optional face fields.
 *
 * @since 0.1.0
 */
export const resultData = (task: Task, publicUrl: string): DetectTask.ResultData => {
  const status = wireStatus(task)
  const result =
    status === "succeeded"
      ? {
          id: task.detectId ?? "",
          status: "succeed",
          type: "face_detect",
          hair_id: null,
          faces: (task.faces ?? []).map((f) => Detection.toWireFace(f, `${publicUrl}/faces/${f.token}.jpg`)),
          started_at: task.startedAt === undefined ? null : Timestamp.format(task.startedAt),
          finished_at: task.finishedAt === undefined ? null : Timestamp.format(task.finishedAt),
          error: null
        }
      : null
  return {
    detect_task_id: task.id,
    status,
    result,
    error: status === "failed" ? (task.error ?? { code: "Detect.Internal", message: "failed" }) : null
  }
}

/**
 * The result's `callback` extension: where the task's callback stands (pending until the task ends).
 *
 * @since 0.1.0
 */
export const callbackState = (url: string, delivery: Delivery | undefined): DetectTask.CallbackState => ({
  url,
  state: delivery?.state ?? "pending",
  attempts: delivery?.attempts ?? 0,
  last_status: delivery?.lastStatus ?? null,
  next_attempt_at:
    delivery?.state === "pending" && delivery.nextAttemptAt !== undefined
      ? Timestamp.format(delivery.nextAttemptAt)
      : null
})

/**
 * The body a task's callback POSTs: `data` is the result call's, without the callback's own state.
 *
 * @since 0.1.0
 */
export const webhookPayload = (task: Task, publicUrl: string): string =>
  JSON.stringify({ detect_task_id: task.id, status: wireStatus(task), data: resultData(task, publicUrl) })
