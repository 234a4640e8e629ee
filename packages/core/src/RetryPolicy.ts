/**
 * When to try a failed call again, and how long to wait first.
 *
 * **Defaults** (see `research/sdk-anchors.md` in the facedet design notes):
 *
 * - Exponential from 500 ms, doubling, capped at 8 s: openai-node's `initialRetryDelay 0.5 s` / `maxRetryDelay 8 s`,
 *   reaching the cap at the fifth retry. fal-js uses 1 s / 30 s, which is slow for a ~1 s detection task.
 * - Jitter multiplies each delay by a factor in [0.8, 1.0]: it spreads clients out without ever exceeding the cap
 *   (openai-node shortens by up to 25%; Effect's `jittered` spreads ±20%, which would break the cap).
 * - 2 retries (3 attempts), as openai-node; reads of a result may allow more (fal retries status reads 5 times).
 * - A server's `Retry-After` (or `retry-after-ms`) of up to 60 s replaces the computed delay. A longer one is not
 *   slept through (compare an SDK that slept through a 3-day Retry-After): retrying stops and the error, carrying
 *   `retryAfterMs`, reaches the caller.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Schedule from "effect/Schedule"
import type { FaceDetError } from "./FaceDetError.js"
import { isRetryable } from "./FaceDetError.js"

/**
 * @since 0.1.0
 * @category Models
 */
export interface Options {
  /** Retries after the first attempt. Default 2 (3 attempts in all). */
  readonly maxRetries?: number
  /** Delay before the first retry. Default 500 ms. */
  readonly initialDelay?: Duration.DurationInput
  /** Growth factor. Default 2. */
  readonly factor?: number
  /** Cap on a computed delay. Default 8 s. */
  readonly maxDelay?: Duration.DurationInput
  /** Multiply each computed delay by a random factor in [0.8, 1.0]. Default true. */
  readonly jitter?: boolean
  /** The longest Retry-After honoured; a longer one stops retrying. Default 60 s. */
  readonly maxRetryAfter?: Duration.DurationInput
  /** Which errors to retry. Default {@link isRetryable}. */
  readonly while?: (error: FaceDetError) => boolean
}

/**
 * The defaults, resolved.
 *
 * @since 0.1.0
 * @category Constants
 */
export const defaults = {
  maxRetries: 2,
  initialDelay: Duration.millis(500),
  factor: 2,
  maxDelay: Duration.seconds(8),
  jitter: true,
  maxRetryAfter: Duration.seconds(60)
} as const

/**
 * The computed delay before retry number `attempt` (0-based), before jitter.
 *
 * @since 0.1.0
 * @category Combinators
 */
export const backoffDelay = (attempt: number, options: Options = {}): Duration.Duration => {
  const initial = Duration.toMillis(options.initialDelay ?? defaults.initialDelay)
  const cap = Duration.toMillis(options.maxDelay ?? defaults.maxDelay)
  const factor = options.factor ?? defaults.factor
  return Duration.millis(Math.min(initial * factor ** attempt, cap))
}

const retryAfterOf = (error: FaceDetError): number | undefined =>
  "retryAfterMs" in error && typeof error.retryAfterMs === "number" ? error.retryAfterMs : undefined

/**
 * Whether a Retry-After is too long to wait for (then retrying stops and the caller sees the error).
 *
 * @since 0.1.0
 * @category Guards
 */
export const exceedsMaxRetryAfter = (error: FaceDetError, options: Options = {}): boolean => {
  const after = retryAfterOf(error)
  return after !== undefined && after > Duration.toMillis(options.maxRetryAfter ?? defaults.maxRetryAfter)
}

/**
 * The retry schedule: feed it the failures (`Effect.retry(effect, RetryPolicy.make())`).
 *
 * **Example**
 *
 * ```ts
 * import { Effect } from "effect"
 * import { RetryPolicy } from "@facedet/core"
 *
 * const robust = Effect.retry(call, RetryPolicy.make({ maxRetries: 4 }))
 * ```
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = (options: Options = {}): Schedule.Schedule<number, FaceDetError> => {
  const maxRetries = Math.max(0, Math.floor(options.maxRetries ?? defaults.maxRetries))
  const shouldRetry = options.while ?? isRetryable
  const jitter = options.jitter ?? defaults.jitter
  const computed = Schedule.unfold(0, (n) => n + 1).pipe(
    Schedule.addDelay((n) => backoffDelay(n, options)),
    (s) => (jitter ? Schedule.jitteredWith(s, { min: 0.8, max: 1 }) : s)
  )
  return Schedule.identity<FaceDetError>().pipe(
    Schedule.whileInput((error: FaceDetError) => shouldRetry(error) && !exceedsMaxRetryAfter(error, options)),
    Schedule.intersect(Schedule.recurs(maxRetries)),
    Schedule.intersect(computed),
    Schedule.modifyDelay(([[error]], delay) => {
      const after = retryAfterOf(error)
      return after === undefined ? delay : Duration.millis(after)
    }),
    Schedule.map(([[, count]]) => count)
  )
}

/**
 * Reads a server's requested delay from `retry-after-ms` (milliseconds) or `Retry-After` (seconds, or an HTTP
 * date relative to `nowMs`). Negative or unreadable values give `undefined`.
 *
 * @since 0.1.0
 * @category Combinators
 */
export const parseRetryAfter = (
  headers: { readonly retryAfter?: string | null | undefined; readonly retryAfterMs?: string | null | undefined },
  nowMs: number
): number | undefined => {
  const ms = headers.retryAfterMs?.trim()
  if (ms) {
    const value = Number(ms)
    if (Number.isFinite(value) && value >= 0) return Math.round(value)
  }
  const raw = headers.retryAfter?.trim()
  if (!raw) return undefined
  if (/^[+-]?\d+(\.\d+)?$/.test(raw)) {
    const seconds = Number(raw)
    return seconds >= 0 ? Math.round(seconds * 1000) : undefined
  }
  const date = Date.parse(raw)
  if (Number.isNaN(date)) return undefined
  return Math.max(0, date - nowMs)
}
