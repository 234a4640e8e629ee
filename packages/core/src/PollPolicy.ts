/**
 * How often to ask for a task's result while it runs, and when to stop asking.
 *
 * **Defaults** (see `research/sdk-anchors.md` in the facedet design notes): the first poll after 500 ms (crun.ai's
 * documented task finished in about a second; replicate and fal poll every 500 ms), then each wait 1.5x longer, up
 * to 5 s (openai-node's fixed interval), since users ask for "start quick, then slow down". An overall deadline of
 * 5 minutes for images and 15 for videos: none of the peer SDKs has a default deadline, and users repeatedly ask
 * for one. On the deadline a wait fails with `WaitTimeout`, carrying the task id so the caller can resume.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Schedule from "effect/Schedule"
import type { MediaKind } from "./MediaFormat.js"

/**
 * @since 0.1.0
 * @category Models
 */
export interface Options {
  /** The wait before the first poll. Default 500 ms. */
  readonly initialDelay?: Duration.DurationInput
  /** Growth factor of successive waits. Default 1.5. */
  readonly factor?: number
  /** Cap on a wait. Default 5 s. */
  readonly maxDelay?: Duration.DurationInput
}

/**
 * @since 0.1.0
 * @category Constants
 */
export const defaults = {
  initialDelay: Duration.millis(500),
  factor: 1.5,
  maxDelay: Duration.seconds(5),
  imageDeadline: Duration.minutes(5),
  videoDeadline: Duration.minutes(15)
} as const

/**
 * The wait before poll number `attempt` (0-based: the first poll after creation).
 *
 * @since 0.1.0
 * @category Combinators
 */
export const delay = (attempt: number, options: Options = {}): Duration.Duration => {
  const initial = Duration.toMillis(options.initialDelay ?? defaults.initialDelay)
  const cap = Duration.toMillis(options.maxDelay ?? defaults.maxDelay)
  return Duration.millis(Math.min(Math.round(initial * (options.factor ?? defaults.factor) ** attempt), cap))
}

/**
 * The polling schedule: each recurrence waits {@link delay} and outputs the poll number. It never stops by itself;
 * pair it with a deadline (`Effect.timeoutFail`) and a terminal-status check.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = (options: Options = {}): Schedule.Schedule<number> =>
  Schedule.unfold(0, (n) => n + 1).pipe(Schedule.addDelay((n) => delay(n, options)))

/**
 * The default overall deadline for waiting on a task of this kind.
 *
 * @since 0.1.0
 * @category Constants
 */
export const deadlineFor = (kind: MediaKind): Duration.Duration =>
  kind === "image" ? defaults.imageDeadline : defaults.videoDeadline

/**
 * The longest a facedet server holds a long-poll request (`wait=<seconds>` on the result call), and the response
 * header by which it advertises the feature.
 *
 * @since 0.1.0
 * @category Constants
 */
export const longPoll = {
  header: "x-facedet-long-poll",
  maxWait: Duration.seconds(30)
} as const
