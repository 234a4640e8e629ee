/**
 * One call to the API: send the request through the injected `HttpClient` with the per-request timeout, read the
 * envelope, translate every failure into the core taxonomy (once, here), and retry on core's schedule.
 *
 * The envelope `code` in the body decides the outcome; the HTTP status only when the body is not an envelope (a
 * proxy's HTML 502). Every answer is also checked for the facedet server's long-poll advertisement.
 */
import { Endpoints, Envelope, FaceDetError, PollPolicy, RetryPolicy, Wire } from "@facedet/core"
import type * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberRef from "effect/FiberRef"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import type { z } from "zod"
import type { Settings } from "./settings.js"

/**
 * A decoded answer and when its request started and its answer arrived (epoch ms, on the Effect clock).
 */
export interface Answer<A> {
  readonly data: A
  readonly startedAt: number
  readonly receivedAt: number
}

/**
 * `read`: safe to repeat (result, TaskInfo, upload). `create`: billed work, retried only when it surely did not
 * reach the server, unless the client opted in with `retryCreates`.
 */
export type CallKind = "read" | "create"

/** One call: the request (path relative to the base URL), how to decode `data`, and its retry class. */
export interface Call<A> {
  readonly request: HttpClientRequest.HttpClientRequest
  readonly decode: (data: unknown, httpStatus: number) => Either.Either<A, FaceDetError.DecodeError>
  readonly kind: CallKind
  /** Replaces the client's per-request timeout (a long poll adds its `wait`; an upload may need longer). */
  readonly timeout?: Duration.Duration
}

/** What the answers so far said about the server. */
export interface ServerState {
  /** Whether any answer arrived at all (whatever its status). */
  readonly answered: boolean
  /** Whether an answer carried `x-facedet-long-poll`, as every facedet server's does (`0` included). */
  readonly facedet: boolean
  /** The longest `wait` the server accepts on a result call, while it advertises long-polling. */
  readonly longPollSeconds: number | undefined
}

/** Sends calls; remembers what the server advertised. */
export interface Transport {
  readonly send: <A>(call: Call<A>) => Effect.Effect<Answer<A>, FaceDetError.FaceDetError>
  /** The longest `wait` the server accepts on a result call, once it has advertised long-polling; else undefined. */
  readonly longPollSeconds: Effect.Effect<number | undefined>
  /** What the answers so far said about the server. */
  readonly server: Effect.Effect<ServerState>
}

/** Per-call settings over the client's (the Promise API's `timeoutMs`, `maxRetries`, `headers`). */
export interface CallOverrides {
  readonly timeout?: Duration.Duration | undefined
  readonly maxRetries?: number | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
}

/** The current call's overrides, set with `Effect.locally` around one call. */
export const currentCallOverrides: FiberRef.FiberRef<CallOverrides | undefined> = FiberRef.unsafeMake<
  CallOverrides | undefined
>(undefined)

/**
 * Set by the Promise API around a call: marked when a request is handed to the HTTP client, so an abort can say
 * whether anything may have reached the server (`TransportError.requestSent`).
 */
export const currentDispatch: FiberRef.FiberRef<{ sent: boolean } | undefined> = FiberRef.unsafeMake<
  { sent: boolean } | undefined
>(undefined)

// Failures that happen while connecting: no byte of the request left, so even a billed create may be retried.
const connectCodes = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EAI_NONAME",
  "EAI_FAIL",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "EADDRNOTAVAIL",
  "UND_ERR_CONNECT_TIMEOUT"
])

/** The first `code` (ECONNREFUSED, UND_ERR_SOCKET...) along an error's `cause` chain: fetch wraps it in a TypeError. */
const errorCode = (cause: unknown): string | undefined => {
  let current = cause
  for (let depth = 0; depth < 6 && typeof current === "object" && current !== null; depth++) {
    const code = (current as { readonly code?: unknown }).code
    if (typeof code === "string") return code
    current = (current as { readonly cause?: unknown }).cause
  }
  return undefined
}

const originOf = (request: HttpClientRequest.HttpClientRequest): string => {
  try {
    return new URL(request.url).host
  } catch {
    return request.url
  }
}

/** Translates a platform HTTP failure into the taxonomy. */
export const fromHttpClientError = (error: HttpClientError.HttpClientError): FaceDetError.FaceDetError => {
  const host = originOf(error.request)
  if (error._tag === "RequestError") {
    if (error.reason !== "Transport") {
      return new FaceDetError.ValidationError({
        message: `could not build the request to ${host} (${error.reason}): ${String(error.cause ?? error.description)}`
      })
    }
    const code = errorCode(error.cause)
    if (code !== undefined && connectCodes.has(code)) {
      return new FaceDetError.TransportError({
        message: `could not connect to ${host} (${code})`,
        requestSent: false,
        reason: "Connect",
        cause: error.cause
      })
    }
    return new FaceDetError.TransportError({
      message: `the connection to ${host} failed${code ? ` (${code})` : ""}`,
      requestSent: true,
      reason: "Network",
      cause: error.cause
    })
  }
  return new FaceDetError.TransportError({
    message: `reading the answer from ${host} failed (HTTP ${error.response.status}, ${error.reason})`,
    requestSent: true,
    reason: "Network",
    cause: error.cause
  })
}

const snippet = (text: string): string => (text.length > 200 ? `${text.slice(0, 200)}…` : text)

const notJson: unique symbol = Symbol("notJson")

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return notJson
  }
}

/**
 * Reads one answer: the envelope decides; a body that is not an envelope falls back to the HTTP status, or is a
 * `DecodeError` when the status says success.
 */
export const interpret = <A>(
  answer: { readonly status: number; readonly headers: Headers.Headers; readonly text: string },
  nowMs: number,
  decode: Call<A>["decode"]
): Either.Either<A, FaceDetError.FaceDetError> => {
  const { headers, status, text } = answer
  const retryAfterMs = RetryPolicy.parseRetryAfter(
    { retryAfter: headers[Endpoints.headers.retryAfter], retryAfterMs: headers[Endpoints.headers.retryAfterMs] },
    nowMs
  )
  const requestId = headers[Endpoints.headers.requestId]
  const context = {
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    ...(requestId === undefined ? {} : { requestId })
  }
  const json = parseJson(text)
  const envelope = json === notJson ? undefined : Envelope.RawEnvelope.safeParse(json)
  if (envelope?.success) {
    const { code, data, message } = envelope.data
    if (code === Envelope.Code.Ok) return decode(data, status)
    return Either.left(
      FaceDetError.fromCode(code, { ...context, message, ...(status === code ? {} : { httpStatus: status }) })
    )
  }
  if (status < 200 || status > 299) return Either.left(FaceDetError.fromHttpStatus(status, context))
  return Either.left(
    new FaceDetError.DecodeError({
      message:
        json === notJson
          ? `the answer (HTTP ${status}) is not JSON`
          : `the answer (HTTP ${status}) is not a {code, message, data} envelope`,
      httpStatus: status,
      body: snippet(text)
    })
  )
}

/** A create may be retried only when retrying cannot bill twice: rate limits, maintenance, or nothing was sent. */
const createRetryable = (error: FaceDetError.FaceDetError): boolean => {
  switch (error._tag) {
    case "RateLimited":
    case "ServiceUnavailable":
      return true
    case "TransportError":
      return !error.requestSent && error.reason !== "Aborted"
    default:
      return false
  }
}

/** Reads `x-facedet-long-poll: <seconds>`; 0 withdraws it; anything unreadable is ignored. */
const advertisedLongPoll = (headers: Headers.Headers): number | "withdrawn" | undefined => {
  const raw = headers[Endpoints.headers.longPoll]?.trim()
  if (raw === undefined || !/^\d{1,6}$/.test(raw)) return undefined
  const seconds = Number(raw)
  return seconds === 0 ? "withdrawn" : Math.min(seconds, Duration.toSeconds(PollPolicy.longPoll.maxWait))
}

/** Builds the transport over the injected `HttpClient`. */
export const make = (settings: Settings): Effect.Effect<Transport, never, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const base = yield* HttpClient.HttpClient
    const client = base.pipe(
      HttpClient.mapRequest((request) =>
        request.pipe(
          HttpClientRequest.prependUrl(settings.baseUrl),
          // Default headers fill in what a call's own headers left unset.
          (r) => {
            let out = r
            for (const [name, value] of Object.entries(settings.defaultHeaders)) {
              if (out.headers[name.toLowerCase()] === undefined) out = HttpClientRequest.setHeader(out, name, value)
            }
            return out
          },
          HttpClientRequest.setHeader(Endpoints.headers.apiKey, Redacted.value(settings.apiKey)),
          HttpClientRequest.acceptJson,
          settings.userAgent === undefined ? (r) => r : HttpClientRequest.setHeader("user-agent", settings.userAgent)
        )
      ),
      // Trace headers mean nothing to crun.ai; keep requests to what the API documents.
      HttpClient.withTracerPropagation(false)
    )
    const server = yield* Ref.make<ServerState>({ answered: false, facedet: false, longPollSeconds: undefined })
    // Named in a timeout's message (a call's own request still has a relative URL at this point).
    const host = new URL(settings.baseUrl).host

    const attempt = <A>(
      call: Call<A>,
      overrides: CallOverrides | undefined
    ): Effect.Effect<Answer<A>, FaceDetError.FaceDetError> => {
      const budget = overrides?.timeout ?? call.timeout ?? settings.timeout
      return Effect.gen(function* () {
        const startedAt = yield* Clock.currentTimeMillis
        const dispatch = yield* FiberRef.get(currentDispatch)
        if (dispatch) dispatch.sent = true
        const request =
          overrides?.headers === undefined
            ? call.request
            : HttpClientRequest.setHeaders(call.request, overrides.headers)
        const response = yield* Effect.mapError(client.execute(request), fromHttpClientError)
        const advertised = advertisedLongPoll(response.headers)
        yield* Ref.update(server, (known) => ({
          answered: true,
          facedet: known.facedet || response.headers[Endpoints.headers.longPoll] !== undefined,
          longPollSeconds:
            advertised === undefined ? known.longPollSeconds : advertised === "withdrawn" ? undefined : advertised
        }))
        const text = yield* Effect.mapError(response.text, fromHttpClientError)
        const receivedAt = yield* Clock.currentTimeMillis
        const data = yield* interpret(
          { status: response.status, headers: response.headers, text },
          receivedAt,
          call.decode
        )
        return { data, startedAt, receivedAt }
      }).pipe(
        Effect.timeoutFail({
          duration: budget,
          onTimeout: () =>
            new FaceDetError.TransportError({
              message: `no answer from ${host} within ${Duration.format(budget)}`,
              requestSent: true,
              reason: "Timeout"
            })
        }),
        Effect.tapError((error) =>
          Effect.logDebug("facedet call failed").pipe(
            Effect.annotateLogs({
              method: call.request.method,
              path: call.request.url,
              error: error._tag,
              message: error.message
            })
          )
        )
      )
    }

    const send = <A>(call: Call<A>): Effect.Effect<Answer<A>, FaceDetError.FaceDetError> =>
      Effect.flatMap(FiberRef.get(currentCallOverrides), (overrides) =>
        Effect.retry(
          attempt(call, overrides),
          RetryPolicy.make({
            ...settings.retry,
            maxRetries: overrides?.maxRetries ?? settings.maxRetries,
            while: call.kind === "create" && !settings.retryCreates ? createRetryable : FaceDetError.isRetryable
          })
        )
      )

    return {
      send,
      longPollSeconds: Ref.get(server).pipe(Effect.map((known) => known.longPollSeconds)),
      server: Ref.get(server)
    }
  })

/** Decodes `data` with a core schema, naming the wrong field. */
export const decodeWith =
  <T extends z.ZodType>(schema: T) =>
  (data: unknown, httpStatus: number): Either.Either<z.output<T>, FaceDetError.DecodeError> =>
    Wire.decodeResponse(schema, data, { path: "data", httpStatus })
