/**
 * Waiting for a task to end: poll on core's schedule (or long-poll, once the server advertised it), report each
 * new status, ignore stale answers, and give up at the overall deadline with a `WaitTimeout` that names the task.
 *
 * Every sleep is an `Effect.sleep`, so interrupting the fiber (an abort) ends a wait at once, and `TestClock`
 * drives it in tests.
 */
import { FaceDetError, PollPolicy, TaskStatus } from "@facedet/core"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Ref from "effect/Ref"
import type { Answer } from "./transport.js"

/** How to wait on one task. */
export interface Spec<A> {
  readonly taskId: string
  /** A detection task (its `WaitTimeout` carries `detectTaskId`, its statuses are checked for order). */
  readonly detection: boolean
  /** One poll; `waitSeconds` asks a long-polling server to hold the answer that long. */
  readonly fetch: (waitSeconds: number | undefined) => Effect.Effect<Answer<A>, FaceDetError.FaceDetError>
  readonly statusOf: (data: A) => string
  readonly isTerminal: (status: string) => boolean
  /** The server's long-poll limit in seconds, once advertised (read before every poll). */
  readonly longPollSeconds: Effect.Effect<number | undefined>
  readonly poll: PollPolicy.Options
  /** Overall deadline; `Duration.infinity` waits as long as it takes. */
  readonly deadline: Duration.Duration
  /** Ask at once (resuming a task) rather than after the first poll delay (just created). */
  readonly pollFirst: boolean
  /** Called with the first snapshot and each one whose status differs from the last reported. */
  readonly onUpdate: (data: A) => Effect.Effect<void>
}

/** Waits until the task's status is terminal and returns that snapshot (a failed one included). */
export const run = <A>(spec: Spec<A>): Effect.Effect<A, FaceDetError.FaceDetError> =>
  Effect.gen(function* () {
    const lastStatus = yield* Ref.make<string | undefined>(undefined)
    const loop = Effect.gen(function* () {
      const start = yield* Clock.currentTimeMillis
      const deadlineMs = Duration.toMillis(spec.deadline)
      let attempt = 0
      let observation: TaskStatus.Observation | undefined
      let reported: string | undefined
      // A long-polling server can be asked at once: it answers when the task ends.
      if (!spec.pollFirst && (yield* spec.longPollSeconds) === undefined) {
        yield* Effect.sleep(PollPolicy.delay(attempt++, spec.poll))
      }
      while (true) {
        const advertised = yield* spec.longPollSeconds
        const remainingSeconds = Math.floor((deadlineMs - ((yield* Clock.currentTimeMillis) - start)) / 1000)
        const waitSeconds =
          advertised !== undefined && remainingSeconds >= 1 ? Math.min(advertised, remainingSeconds) : undefined
        const answer = yield* spec.fetch(waitSeconds)
        const status = spec.statusOf(answer.data)
        // A status going backwards is a stale answer (a lagging replica): keep the earlier view and ask again.
        const seen = spec.detection ? TaskStatus.observe(observation, status) : Either.right(undefined)
        if (Either.isRight(seen)) {
          observation = seen.right
          yield* Ref.set(lastStatus, status)
          if (status !== reported) {
            reported = status
            yield* spec.onUpdate(answer.data)
          }
          if (spec.isTerminal(status)) return answer.data
        }
        // A server that held the request already made us wait; one that answered early (or never long-polls)
        // gets the schedule's delay, so an unknown status never turns into a busy loop.
        const held = waitSeconds !== undefined && answer.receivedAt - answer.startedAt >= (waitSeconds * 1000) / 2
        if (!held) yield* Effect.sleep(PollPolicy.delay(attempt++, spec.poll))
      }
    })
    if (!Duration.isFinite(spec.deadline)) return yield* loop
    return yield* loop.pipe(
      Effect.timeout(spec.deadline),
      Effect.catchTag("TimeoutException", () =>
        Effect.flatMap(Ref.get(lastStatus), (status) =>
          Effect.fail(
            new FaceDetError.WaitTimeout({
              taskId: spec.taskId,
              timeoutMs: Duration.toMillis(spec.deadline),
              lastStatus: status,
              detection: spec.detection
            })
          )
        )
      )
    )
  })
