/**
 * The answers every route gives: the envelope `{code, message, data}` with the HTTP status equal to `code`, the
 * errors a request can meet, and the helpers that word their messages.
 */
import * as Endpoints from "@facedet/core/Endpoints"
import * as FaceDetError from "@facedet/core/FaceDetError"
import * as PollPolicy from "@facedet/core/PollPolicy"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { isDiskFull } from "../../JobStore.js"
import type { Request, Response } from "../httpEdge.js"

export const jsonHeaders = {
  "content-type": "application/json; charset=utf-8",
  [PollPolicy.longPoll.header]: "30"
} as const
export const maxWaitSeconds = Duration.toSeconds(PollPolicy.longPoll.maxWait)
export const drainRetryAfterSeconds = 5

export const json = (status: number, body: unknown, route: string, extra: Record<string, string> = {}): Response => ({
  status,
  headers: { ...jsonHeaders, ...extra },
  body: JSON.stringify(body),
  route
})

export const ok = (data: unknown, route: string): Response => json(200, { code: 200, message: "success", data }, route)

export const text = (body: string, route: string): Response => ({ status: 200, headers: jsonHeaders, body, route })

/** The envelope answer for an API error: status = code, `Retry-After` when the error says how long to wait. */
export const errorResponse = (error: FaceDetError.FaceDetError, route: string, close = false): Response => {
  const envelope = FaceDetError.toEnvelope(error)
  const retryAfterMs = "retryAfterMs" in error ? error.retryAfterMs : undefined
  const extra: Record<string, string> =
    retryAfterMs === undefined
      ? {}
      : { [Endpoints.headers.retryAfter]: String(Math.max(1, Math.ceil(retryAfterMs / 1000))) }
  return { ...json(envelope.code, envelope, route, extra), ...(close ? { close: true } : {}) }
}

/** `wait=<seconds>`: a plain decimal number from 0 to 30, else undefined. */
export const parseWait = (text: string): number | undefined => {
  const seconds = /^\d+(\.\d+)?$/.test(text) ? Number(text) : Number.NaN
  return seconds >= 0 && seconds <= maxWaitSeconds ? seconds : undefined
}

export const invalid = (message: string, path = "") =>
  new FaceDetError.ValidationError({ message, issues: [{ path, message }] })

/** A duration as words for messages: `1 hour`, `90 minutes`, `45 s`. */
export const describeDuration = (ms: number): string => {
  if (ms % 3_600_000 === 0) return ms === 3_600_000 ? "one hour" : `${ms / 3_600_000} hours`
  if (ms % 60_000 === 0) return `${ms / 60_000} minute${ms === 60_000 ? "" : "s"}`
  return `${Math.round(ms / 100) / 10} s`
}

/** A query value for a message: at most 64 characters, control characters shown as `?`. */
export const shown = (text: string): string =>
  // biome-ignore lint/suspicious/noControlCharactersInRegex: replacing them is the point
  `${text.slice(0, 64).replace(/[\u0000-\u001f\u007f]/g, "?")}${text.length > 64 ? "..." : ""}`

/**
 * A store or file-store failure as an answer. The cause goes to the log, not to the client: a store's messages name
 * files and internals. The shared database out of reach is an outage to wait out, not a bug: 455 (service
 * unavailable) with when to retry.
 */
export const storeFailure =
  (route: string) =>
  (e: { readonly message: string; readonly unavailable?: boolean }): Effect.Effect<Response> =>
    Effect.as(
      Effect.logError(`${route}: ${e.message}`),
      e.unavailable === true
        ? errorResponse(
            new FaceDetError.ServiceUnavailable(
              isDiskFull(e)
                ? { message: "the server's disk is full; retry later", retryAfterMs: 30_000 }
                : { message: "the task database is unreachable; retry shortly", retryAfterMs: 2000 }
            ),
            route
          )
        : errorResponse(
            new FaceDetError.ServerError({ message: "internal error: the task store failed; retry shortly" }),
            route
          )
    )

/** 455 while the server drains: retry shortly (elsewhere, or here after the restart). */
export const drainingAnswer = (route: string, message: string) =>
  errorResponse(
    new FaceDetError.ServiceUnavailable({ message, retryAfterMs: drainRetryAfterSeconds * 1000 }),
    route,
    true
  )

export const notFound = (request: Request) =>
  errorResponse(new FaceDetError.NotFound({ message: `no route for ${request.method} ${request.path}` }), "unmatched")
