/**
 * `facedet result <detect_task_id>`: print a task's current result, or with `--wait` wait until it ends (the way
 * to resume a wait that was interrupted or timed out: the task went on server-side).
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import { FaceDetClient } from "@facedet/node-client"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { present, validityOf } from "./internal/present.js"
import type { Reported } from "./internal/report.js"
import { report } from "./internal/report.js"
import { untilEnded } from "./internal/waiting.js"
import type { Output } from "./Output.js"
import * as Target from "./Target.js"

/**
 * The parsed command line of `facedet result`.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Args {
  readonly detectTaskId: string
  readonly target: Target.Target
  readonly wait: boolean
  readonly json: boolean
  readonly timeout: Option.Option<Duration.Duration>
}

/**
 * The task's result: now, or once it ended (`failed` included, as data).
 *
 * @since 0.1.0
 * @category Handlers
 */
export const fetch = (args: Omit<Args, "json">) =>
  Effect.gen(function* () {
    const client = yield* FaceDetClient.FaceDetClient
    if (!args.wait) return yield* client.getResult(args.detectTaskId)
    return yield* untilEnded(
      (hooks) =>
        client.waitForResult(args.detectTaskId, {
          ...(Option.isSome(args.timeout) ? { timeout: args.timeout.value } : {}),
          onUpdate: hooks.onUpdate
        }),
      args.detectTaskId
    )
  })

/**
 * Runs the command.
 *
 * @since 0.1.0
 * @category Handlers
 */
export const run = (args: Args): Effect.Effect<void, Reported, Output | HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const data = yield* fetch(args)
    yield* present(data, { json: args.json, validity: data.result ? yield* validityOf(data.result.id) : undefined })
  }).pipe(Effect.provide(Target.clientLayer(args.target)), report(Target.errorContext(args.target)))
