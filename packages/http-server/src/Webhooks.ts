/**
 * The callback dispatcher: delivers the outbox rows that ending tasks write (see `JobStore.Delivery`) to their
 * `callback_url`, signed with the Standard Webhooks scheme (`@facedet/core/Webhook`), at least once.
 *
 * - **Durable.** A delivery exists from the transaction that ended its task; the dispatcher only moves it along
 *   (`pending` -> `delivered` | `failed`). A crash or `kill -9` mid-attempt leaves it `pending`, and the next start
 *   sends it again with the same `webhook-id`, so receivers de-duplicate on that header.
 * - **Same bytes every time.** The body is built once, at the first attempt (the result call's `data` of the task
 *   at its end), stored, and re-signed with a fresh timestamp on every retry.
 * - **Retries.** Timeouts, network errors, 408, 429 and 5xx are retried with exponential backoff and equal jitter
 *   (`Webhook.retryDelayMs`: 5 s doubling to 1 h), honouring a longer `Retry-After`, until 24 h after the task
 *   ended; any other answer (other 4xx, a redirect, which is never followed) or a refused address ends it at once.
 * - **Hostile receivers.** The same SSRF rules as media URLs, a 10 s deadline per attempt, at most 64 KiB of the
 *   answer read and thrown away (`internal/webhookPost`).
 * - **Concurrency.** A few dispatcher fibers (8 by default) each hold one delivery at a time under a lease, so one
 *   slow receiver never delays the others.
 *
 * @since 0.1.0
 */
import { lookup as systemLookup } from "node:dns/promises"
import * as Webhook from "@facedet/core/Webhook"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Log from "./internal/log.js"
import * as Signals from "./internal/signals.js"
import type * as Ssrf from "./internal/ssrf.js"
import * as Post from "./internal/webhookPost.js"
import type { Delivery, DeliveryOutcome, Task } from "./JobStore.js"
import { JobStore } from "./JobStore.js"
import * as Metrics from "./Metrics.js"

/**
 * Dispatcher settings.
 *
 * @since 0.1.0
 */
export interface Options {
  /** The body of a task's callback (`{detect_task_id, status, data}`). */
  readonly payload: (task: Task) => string
  readonly policy: Ssrf.Policy
  /** DNS for callback hosts (tests inject one). Default the system resolver. */
  readonly resolve?: Ssrf.Resolve
  /** Deliveries attempted at once. Default 8. */
  readonly concurrency?: number
  /** Per-attempt deadline. Default 10 s. */
  readonly timeoutMs?: number
  /** Longest answer read (then discarded). Default 64 KiB. */
  readonly maxResponseBytes?: number
  readonly retry?: Webhook.RetryOptions
  /** How often idle dispatchers look for due retries. Default 1000 ms. */
  readonly pollMs?: number
  /** Random numbers in [0, 1) for the jitter. Default `Math.random`. */
  readonly random?: () => number
  readonly userAgent?: string
  /** Extra trusted CAs for https receivers (tests). */
  readonly ca?: string | ReadonlyArray<string>
}

/**
 * The settings every server uses unless told otherwise.
 *
 * @since 0.1.0
 */
export const defaults = {
  concurrency: 8,
  timeoutMs: 10_000,
  maxResponseBytes: 64 * 1024,
  pollMs: 1000,
  userAgent: "facedet-webhooks/1.0 (+self-hosted facedet server)"
} as const

/**
 * Starts the dispatcher fibers for the lifetime of the scope.
 *
 * @since 0.1.0
 */
export const make = (
  options: Options
): Effect.Effect<void, never, Scope.Scope | JobStore | Metrics.Registry | Signals.Deliveries> =>
  Effect.gen(function* () {
    const store = yield* JobStore
    const metrics = yield* Metrics.Registry
    // Woken by the workers when a task with a callback ends (and, on PostgreSQL, by the other processes).
    const signal = yield* Signals.Deliveries
    const concurrency = options.concurrency ?? defaults.concurrency
    const timeoutMs = options.timeoutMs ?? defaults.timeoutMs
    const pollMs = options.pollMs ?? defaults.pollMs
    const random = options.random ?? Math.random
    const horizonMs = options.retry?.horizonMs ?? Webhook.retryDefaults.horizonMs
    const postOptions: Post.Options = {
      policy: options.policy,
      resolve: options.resolve ?? ((hostname) => systemLookup(hostname, { all: true })),
      timeoutMs,
      maxResponseBytes: options.maxResponseBytes ?? defaults.maxResponseBytes,
      userAgent: options.userAgent ?? defaults.userAgent,
      ca: options.ca
    }

    /** The body, built and stored at the first attempt; `undefined` when the task record is already gone. */
    const bodyOf = (d: Delivery) =>
      d.body !== undefined
        ? Effect.succeed(Option.some(d.body))
        : Effect.flatMap(store.get(d.taskId), (task) => {
            if (Option.isNone(task)) return Effect.succeed(Option.none<string>())
            const body = options.payload(task.value)
            return Effect.as(store.setDeliveryBody(d.id, body), Option.some(body))
          })

    /** What to record after an attempt. */
    const decide = (d: Delivery, attempt: Post.Attempt, now: number): DeliveryOutcome => {
      if (attempt._tag === "Answered" && attempt.status >= 200 && attempt.status <= 299) {
        return { _tag: "Delivered", status: attempt.status }
      }
      const status = attempt._tag === "Answered" ? attempt.status : undefined
      const error =
        attempt._tag === "NoAnswer"
          ? attempt.reason
          : attempt.status >= 300 && attempt.status <= 399
            ? `the receiver answered HTTP ${attempt.status}; redirects are not followed`
            : `the receiver answered HTTP ${attempt.status}`
      const permanent = attempt._tag === "NoAnswer" ? attempt.permanent : !Webhook.isRetryableStatus(attempt.status)
      if (permanent) return { _tag: "Failed", status, error }
      const computed = Webhook.retryDelayMs(d.attempts, random, options.retry)
      const asked = attempt._tag === "Answered" ? (attempt.retryAfterMs ?? 0) : 0
      const at = now + Math.max(computed, asked)
      if (at > d.createdAt + horizonMs) {
        return { _tag: "Failed", status, error: `${error}; gave up after ${d.attempts + 1} attempts` }
      }
      return { _tag: "Retry", status, error, at }
    }

    const deliver = (d: Delivery) =>
      Effect.gen(function* () {
        const body = yield* bodyOf(d)
        let outcome: DeliveryOutcome
        if (Option.isNone(body)) {
          outcome = { _tag: "Failed", status: undefined, error: "the task record expired before its first attempt" }
        } else {
          const secrets = yield* store.webhookSecrets(d.owner)
          if (secrets.length === 0) {
            // The create that made the task writes the key's first secret just after it: try again shortly.
            const error = "the API key has no webhook signing secret yet"
            outcome = decide(d, { _tag: "NoAnswer", reason: error, permanent: false }, yield* Clock.currentTimeMillis)
          } else {
            const timestamp = Math.floor((yield* Clock.currentTimeMillis) / 1000)
            const signature = yield* Webhook.sign(secrets, d.id, timestamp, body.value)
            const attempt = yield* Effect.promise((abort) =>
              Post.post(
                d.url,
                body.value,
                {
                  [Webhook.headers.id]: d.id,
                  [Webhook.headers.timestamp]: String(timestamp),
                  [Webhook.headers.signature]: signature
                },
                postOptions,
                abort
              )
            )
            outcome = decide(d, attempt, yield* Clock.currentTimeMillis)
          }
        }
        yield* store.settleDelivery(d.id, outcome)
        const now = yield* Clock.currentTimeMillis
        metrics.webhookAttempt(
          outcome._tag === "Delivered" ? "delivered" : outcome._tag === "Retry" ? "retry" : "failed",
          outcome._tag === "Retry" ? undefined : (now - d.createdAt) / 1000
        )
        if (outcome._tag === "Failed") {
          yield* Effect.logWarning(`callback ${d.id} of task ${d.taskId} failed for good: ${outcome.error}`)
        }
      })

    const loop = Effect.gen(function* () {
      for (;;) {
        const claimed = yield* store
          .claimDeliveries(1, timeoutMs * 3)
          .pipe(Effect.catchAll((e) => Effect.as(Log.failure("claiming a callback delivery failed", e), [])))
        const d = claimed[0]
        if (d === undefined) {
          yield* signal.idle(pollMs)
          continue
        }
        // Another due delivery may be waiting: let an idle sibling look.
        signal.wake()
        yield* deliver(d).pipe(
          Effect.catchAll((e) => Log.failure(`callback ${d.id}: attempt failed`, e)),
          Effect.catchAllDefect((defect) => Log.failure(`callback ${d.id}: defect`, defect))
        )
      }
    })

    for (let i = 0; i < concurrency; i++) yield* Effect.forkScoped(loop)
  })

/**
 * The dispatcher, running while the layer lives (it offers nothing to call: it reads the outbox and is woken by
 * `Signals.Deliveries`).
 *
 * @since 0.1.0
 */
export const layer = (options: Options): Layer.Layer<never, never, JobStore | Metrics.Registry | Signals.Deliveries> =>
  Layer.scopedDiscard(make(options))
