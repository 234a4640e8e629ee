/**
 * Progress of a wait, on stderr. On a terminal: one live line (`detect task <id>: processing, 12s`) redrawn every
 * second and removed at the end. In a pipe: one plain line when the task is created and one per new status, with
 * no timings, so logs stay stable and diffable.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as HumanDuration from "./HumanDuration.js"
import { Output } from "./Output.js"
import * as Render from "./Render.js"

/**
 * @since 0.1.0
 * @category Models
 */
export interface Progress {
  /** The task exists (its id is what a resume needs). */
  readonly created: (detectTaskId: string) => Effect.Effect<void>
  /** A snapshot arrived. */
  readonly update: (detectTaskId: string, status: string) => Effect.Effect<void>
  /** The id of the task being waited on, once known. */
  readonly taskId: Effect.Effect<string | undefined>
}

/** How often the live line's elapsed time is redrawn. */
const redrawEvery = Duration.seconds(1)

/**
 * A progress reporter for one wait; the live line is removed when the scope closes.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = (initial?: {
  readonly detectTaskId: string
}): Effect.Effect<Progress, never, Output | Scope.Scope> =>
  Effect.gen(function* () {
    const output = yield* Output
    const start = yield* Clock.currentTimeMillis
    let taskId = initial?.detectTaskId
    let status = "starting"
    let reported: string | undefined
    const draw = Effect.flatMap(Clock.currentTimeMillis, (now) =>
      taskId === undefined
        ? output.status(`creating detect task, ${HumanDuration.format(now - start)}`)
        : output.status(Render.status(taskId, status, now - start))
    )
    if (output.interactive) {
      yield* Effect.forkScoped(Effect.repeat(draw, Schedule.spaced(redrawEvery)))
      yield* Effect.addFinalizer(() => output.clearStatus)
    }
    return {
      taskId: Effect.sync(() => taskId),
      created: (id) =>
        Effect.suspend(() => {
          taskId = id
          return output.interactive ? draw : output.err(`detect task ${id} created`)
        }),
      update: (id, next) =>
        Effect.suspend(() => {
          taskId = id
          status = next
          if (output.interactive) return draw
          if (reported === next) return Effect.void
          reported = next
          return output.err(`detect task ${id}: ${next}`)
        })
    }
  })
