/**
 * `GET /api/v1/client/job/detect-face-result`: a task's status and result, with facedet's long-poll (`wait`, up to
 * 30 s: woken by the task's end, here or in another process). Answers of ended tasks go into the finished-answer
 * cache, which serves the next polls without a store read.
 */
import type * as DetectTask from "@facedet/core/DetectTask"
import * as FaceDetError from "@facedet/core/FaceDetError"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { Deps } from "../../Api.js"
import { isEnded } from "../../JobStore.js"
import type { Request } from "../httpEdge.js"
import { errorResponse, invalid, maxWaitSeconds, parseWait, shown, storeFailure, text } from "./answers.js"
import { cacheKey, type FinishedAnswers } from "./finished.js"
import { callbackState, resultData } from "./resultData.js"

/** A long-poll re-reads the store at least this often: completions by another process have no in-process signal. */
const longPollRereadMs = 5000

/** The result route over the server's dependencies and its finished-answer cache. */
export const make = (deps: Deps, finished: FinishedAnswers) => {
  const { config, store } = deps
  return (request: Request, owner: string, route: string) =>
    Effect.gen(function* () {
      const ids = request.query.getAll("detect_task_id")
      const waits = request.query.getAll("wait")
      for (const [name, values] of [
        ["detect_task_id", ids],
        ["wait", waits]
      ] as const) {
        if (values.length > 1) return errorResponse(invalid(`${name} is given more than once`, name), route)
      }
      const id = ids[0]
      if (id === undefined || id.trim() === "") {
        return errorResponse(invalid("detect_task_id is required", "detect_task_id"), route)
      }
      const waitText = waits[0]
      const waitSeconds = waitText === undefined ? 0 : parseWait(waitText)
      if (waitSeconds === undefined) {
        return errorResponse(invalid(`wait must be a number of seconds from 0 to ${maxWaitSeconds}`, "wait"), route)
      }
      // An ended task's remembered answer was already served (or dropped, when expired) before this route (see `Api.make`).
      const found = yield* store.get(id)
      // Another key's task is as unknown as a missing one.
      if (Option.isNone(found) || found.value.owner !== owner) {
        return errorResponse(new FaceDetError.NotFound({ message: `no detection task ${shown(id)}` }), route)
      }
      let task = found.value
      if (waitSeconds > 0 && !isEnded(task) && !(yield* deps.draining)) {
        const until = (yield* Clock.currentTimeMillis) + waitSeconds * 1000
        task = yield* Effect.scoped(
          Effect.gen(function* () {
            // Listen first, then read: an end between the read and the wait still wakes this request.
            const listener = yield* deps.signals.listen(id)
            let current = task
            for (;;) {
              const again = yield* store.get(id)
              if (Option.isNone(again)) return current
              current = again.value
              const left = until - (yield* Clock.currentTimeMillis)
              if (isEnded(current) || (yield* deps.draining) || left <= 0) return current
              yield* listener.wait(Math.min(left, longPollRereadMs))
            }
          })
        )
      }
      let data: DetectTask.ResultData = resultData(task, yield* deps.publicUrl)
      if (task.callbackUrl !== undefined) {
        const delivery = yield* store.delivery(task.id)
        data = { ...data, callback: callbackState(task.callbackUrl, Option.getOrUndefined(delivery)) }
      }
      const response = text(JSON.stringify({ code: 200, message: "success", data }), route)
      // A callback's state still changes after the task ends: such answers are not remembered.
      if (isEnded(task) && task.finishedAt !== undefined && task.callbackUrl === undefined) {
        finished.remember(cacheKey(owner, id), response, task.finishedAt + config.taskRetentionMs)
      }
      return response
    }).pipe(Effect.catchTag("StoreError", storeFailure(route)), Effect.merge)
}
