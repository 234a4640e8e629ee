/**
 * Prints a result the way every command does: `--json` puts the `data` object on stdout whatever its state; the
 * human form puts a succeeded or in-flight result on stdout. A failed task then fails with core's
 * `DetectionFailed` (its code and message verbatim), which is printed on stderr and exits with "task failed".
 */
import type { DetectTask } from "@facedet/core"
import type * as FaceDetError from "@facedet/core/FaceDetError"
import { FaceDetClient } from "@facedet/node-client"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { Output } from "../Output.js"
import * as Render from "../Render.js"

export interface Options {
  readonly json: boolean
  readonly validity?: Render.Validity | "local" | undefined
}

/**
 * When a detect_id stops working, when the client can say so conservatively: only after it saw the task before it
 * succeeded (a create, or an in-flight answer). A result fetched already succeeded could have succeeded up to an
 * hour earlier: then no date is promised.
 */
export const validityOf = (
  detectId: string
): Effect.Effect<Render.Validity | undefined, never, FaceDetClient.FaceDetClient> =>
  Effect.flatMap(FaceDetClient.FaceDetClient, (client) =>
    Effect.map(client.detection(detectId), (known) =>
      Option.isSome(known) && known.value.notBefore !== undefined ? { expiresAt: known.value.expiresAt } : undefined
    )
  )

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
    if (data.status === "failed") return yield* FaceDetClient.detectionFailed(data)
  })
