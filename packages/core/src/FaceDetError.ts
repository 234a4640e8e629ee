/**
 * The error taxonomy shared by the client, the server and the CLI: one tagged error per envelope code, plus the
 * failures that happen around a call (transport, decoding, a task that ended `failed`, a wait that gave up).
 *
 * Each error knows whether retrying can help ({@link isRetryable}), carries `retryAfterMs` when the server said how
 * long to wait, and maps back to an envelope ({@link toEnvelope}) so the server answers with the same vocabulary.
 * Identity is by `_tag` ({@link isFaceDetError}), which survives duplicate copies of this package.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import { Code } from "./internal/code.js"

/**
 * Fields every error answered by a server carries.
 *
 * @since 0.1.0
 * @category Models
 */
export interface ApiErrorFields {
  /** The server's message, or a default description when it sent none. */
  readonly message: string
  /** The HTTP status of the answer, when it differs from `code` or the body was not an envelope. */
  readonly httpStatus?: number
  /** How long the server asked us to wait before trying again (Retry-After), in milliseconds. */
  readonly retryAfterMs?: number
  /** A request id the server sent (`x-request-id`), for support. */
  readonly requestId?: string
}

type ApiErrorArgs = Partial<ApiErrorFields>

const compact = <A extends object>(args: A): A =>
  Object.fromEntries(Object.entries(args).filter(([, v]) => v !== undefined)) as A

/**
 * The server rejected the API key (missing or invalid). Not retryable: fix the key.
 *
 * @since 0.1.0
 * @category Errors
 */
export class Unauthorized extends Data.TaggedError("Unauthorized")<ApiErrorFields & { readonly code: 401 }> {
  constructor(args: ApiErrorArgs = {}) {
    super({ ...compact(args), code: 401, message: args.message || "the API key is missing or invalid (x-api-key)" })
  }
}

/**
 * The account has no credits left for this call. Not retryable.
 *
 * @since 0.1.0
 * @category Errors
 */
export class InsufficientCredits extends Data.TaggedError("InsufficientCredits")<
  ApiErrorFields & { readonly code: 402 }
> {
  constructor(args: ApiErrorArgs = {}) {
    super({ ...compact(args), code: 402, message: args.message || "insufficient credits for this call" })
  }
}

/**
 * The task (or endpoint) does not exist, or has expired.
 *
 * @since 0.1.0
 * @category Errors
 */
export class NotFound extends Data.TaggedError("NotFound")<ApiErrorFields & { readonly code: 404 }> {
  constructor(args: ApiErrorArgs = {}) {
    super({ ...compact(args), code: 404, message: args.message || "not found" })
  }
}

/**
 * One problem with a request's input: where (`path`, e.g. `image_url`) and what.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Issue {
  readonly path: string
  readonly message: string
}

/**
 * The request was invalid (a bad URL, a missing field, malformed JSON, a stale detect_id...). Not retryable.
 *
 * @since 0.1.0
 * @category Errors
 */
export class ValidationError extends Data.TaggedError("ValidationError")<
  ApiErrorFields & { readonly code: 422; readonly issues: ReadonlyArray<Issue> }
> {
  constructor(args: ApiErrorArgs & { readonly issues?: ReadonlyArray<Issue> } = {}) {
    const issues = args.issues ?? []
    const fallback = issues.length
      ? issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join("; ")
      : "the request is invalid"
    super({ ...compact(args), code: 422, issues, message: args.message || fallback })
  }
}

/**
 * Too many requests. Retryable after `retryAfterMs` when the server said so.
 *
 * @since 0.1.0
 * @category Errors
 */
export class RateLimited extends Data.TaggedError("RateLimited")<ApiErrorFields & { readonly code: 429 }> {
  constructor(args: ApiErrorArgs = {}) {
    super({ ...compact(args), code: 429, message: args.message || "rate limited: too many requests" })
  }
}

/**
 * The service is unavailable (crun.ai: maintenance; facedet: draining for shutdown, or HTTP 503). Retryable.
 *
 * @since 0.1.0
 * @category Errors
 */
export class ServiceUnavailable extends Data.TaggedError("ServiceUnavailable")<
  ApiErrorFields & { readonly code: 455 }
> {
  constructor(args: ApiErrorArgs = {}) {
    super({ ...compact(args), code: 455, message: args.message || "the service is temporarily unavailable" })
  }
}

/**
 * The server (or a proxy in front of it: HTTP 502/504) failed. Retryable for reads; a create is billed work and is
 * only retried when the caller opts in.
 *
 * @since 0.1.0
 * @category Errors
 */
export class ServerError extends Data.TaggedError("ServerError")<ApiErrorFields & { readonly code: 500 }> {
  constructor(args: ApiErrorArgs = {}) {
    super({ ...compact(args), code: 500, message: args.message || "the server failed to answer" })
  }
}

/**
 * The server could not produce the result. Not retryable.
 *
 * @since 0.1.0
 * @category Errors
 */
export class GenerationFailed extends Data.TaggedError("GenerationFailed")<ApiErrorFields & { readonly code: 501 }> {
  constructor(args: ApiErrorArgs = {}) {
    super({ ...compact(args), code: 501, message: args.message || "generation failed" })
  }
}

/**
 * The feature is disabled on this server (facedet answers this for crun.ai calls it does not implement).
 *
 * @since 0.1.0
 * @category Errors
 */
export class FeatureDisabled extends Data.TaggedError("FeatureDisabled")<ApiErrorFields & { readonly code: 505 }> {
  constructor(args: ApiErrorArgs = {}) {
    super({ ...compact(args), code: 505, message: args.message || "this feature is disabled" })
  }
}

/**
 * An envelope code this version does not know. Not retryable.
 *
 * @since 0.1.0
 * @category Errors
 */
export class UnknownApiError extends Data.TaggedError("UnknownApiError")<ApiErrorFields & { readonly code: number }> {
  constructor(args: ApiErrorArgs & { readonly code: number }) {
    super({ ...compact(args), message: args.message || `the server answered with unknown code ${args.code}` })
  }
}

/**
 * The request did not complete: DNS, connection refused or reset, a per-request timeout, TLS, or the caller
 * aborted it (`reason: "Aborted"`, the one transport failure that is not retried).
 *
 * `requestSent` is false when the failure happened before any byte of the request left (then even a billed create
 * is safe to retry); true or unknown otherwise.
 *
 * @since 0.1.0
 * @category Errors
 */
export class TransportError extends Data.TaggedError("TransportError")<{
  readonly message: string
  readonly requestSent: boolean
  readonly reason: "Connect" | "Timeout" | "Network" | "Aborted"
  readonly cause?: unknown
}> {}

/**
 * The answer could not be read: not JSON, not an envelope, or a `data` of the wrong shape. `path` points at the
 * offending field (e.g. `data.result.faces.0.id`).
 *
 * @since 0.1.0
 * @category Errors
 */
export class DecodeError extends Data.TaggedError("DecodeError")<{
  readonly message: string
  readonly path?: string
  readonly httpStatus?: number
  /** The first bytes of the body, for diagnosis. */
  readonly body?: string
}> {}

/**
 * A detection task ended `failed`. `code` and `taskMessage` are the task's own error, verbatim (crun.ai's messages
 * may be Chinese).
 *
 * @since 0.1.0
 * @category Errors
 */
export class DetectionFailed extends Data.TaggedError("DetectionFailed")<{
  readonly message: string
  readonly detectTaskId: string
  readonly code: string
  readonly taskMessage: string
}> {
  constructor(args: { readonly detectTaskId: string; readonly code: string; readonly taskMessage: string }) {
    super({ ...args, message: `detection task ${args.detectTaskId} failed: ${args.code}: ${args.taskMessage}` })
  }
}

/**
 * Waiting gave up at its deadline. The task goes on server-side: resume with its id (`detectTaskId` for a
 * detection, `taskId` for any task).
 *
 * @since 0.1.0
 * @category Errors
 */
export class WaitTimeout extends Data.TaggedError("WaitTimeout")<{
  readonly message: string
  readonly taskId: string
  readonly detectTaskId?: string
  readonly timeoutMs: number
  readonly lastStatus?: string
}> {
  constructor(args: {
    readonly taskId: string
    readonly timeoutMs: number
    readonly lastStatus?: string | undefined
    readonly detection?: boolean
  }) {
    const { detection = true, lastStatus, taskId, timeoutMs } = args
    const status = lastStatus === undefined ? "" : ` (last status: ${lastStatus})`
    super({
      ...(lastStatus === undefined ? {} : { lastStatus }),
      ...(detection ? { detectTaskId: taskId } : {}),
      taskId,
      timeoutMs,
      message: `gave up waiting for task ${taskId} after ${formatMs(timeoutMs)}${status}; it continues on the server`
    })
  }
}

const formatMs = (ms: number): string => (ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`)

/**
 * Errors answered by a server (an envelope code or an HTTP status).
 *
 * @since 0.1.0
 * @category Models
 */
export type ApiError =
  | Unauthorized
  | InsufficientCredits
  | NotFound
  | ValidationError
  | RateLimited
  | ServiceUnavailable
  | ServerError
  | GenerationFailed
  | FeatureDisabled
  | UnknownApiError

/**
 * Every facedet error.
 *
 * @since 0.1.0
 * @category Models
 */
export type FaceDetError = ApiError | TransportError | DecodeError | DetectionFailed | WaitTimeout

/**
 * @since 0.1.0
 * @category Models
 */
export type Tag = FaceDetError["_tag"]

/**
 * Every tag, in a stable order.
 *
 * @since 0.1.0
 * @category Models
 */
export const tags: ReadonlyArray<Tag> = [
  "Unauthorized",
  "InsufficientCredits",
  "NotFound",
  "ValidationError",
  "RateLimited",
  "ServiceUnavailable",
  "ServerError",
  "GenerationFailed",
  "FeatureDisabled",
  "TransportError",
  "DecodeError",
  "DetectionFailed",
  "WaitTimeout",
  "UnknownApiError"
]

const tagSet: ReadonlySet<string> = new Set(tags)

/**
 * True for any facedet error, including one made by another copy of this package (identity is the `_tag`).
 *
 * @since 0.1.0
 * @category Guards
 */
export const isFaceDetError = (u: unknown): u is FaceDetError =>
  typeof u === "object" && u !== null && "_tag" in u && typeof u._tag === "string" && tagSet.has(u._tag)

/**
 * A guard for one tag: `is("RateLimited")(e)`.
 *
 * @since 0.1.0
 * @category Guards
 */
export const is =
  <T extends Tag>(tag: T) =>
  (u: unknown): u is Extract<FaceDetError, { readonly _tag: T }> =>
    isFaceDetError(u) && u._tag === tag

/**
 * Whether trying again can help: rate limits (429), unavailability (455, 503), server and gateway errors (500,
 * 502, 504) and transport failures other than the caller's own abort. Everything else needs a change by the caller.
 *
 * @since 0.1.0
 * @category Guards
 */
export const isRetryable = (error: FaceDetError): boolean => {
  switch (error._tag) {
    case "RateLimited":
    case "ServiceUnavailable":
    case "ServerError":
      return true
    case "TransportError":
      return error.reason !== "Aborted"
    default:
      return false
  }
}

/**
 * The error an envelope `code` (other than 200) stands for.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const fromCode = (
  code: number,
  args: ApiErrorArgs & { readonly issues?: ReadonlyArray<Issue> } = {}
): ApiError => {
  switch (code) {
    case Code.Unauthorized:
      return new Unauthorized(args)
    case Code.InsufficientCredits:
      return new InsufficientCredits(args)
    case Code.NotFound:
      return new NotFound(args)
    case Code.ValidationError:
      return new ValidationError(args)
    case Code.RateLimited:
      return new RateLimited(args)
    case Code.ServiceUnavailable:
      return new ServiceUnavailable(args)
    case Code.ServerError:
      return new ServerError(args)
    case Code.GenerationFailed:
      return new GenerationFailed(args)
    case Code.FeatureDisabled:
      return new FeatureDisabled(args)
    default:
      return new UnknownApiError({ ...args, code })
  }
}

/**
 * The error an HTTP status stands for when the body is not an envelope (an HTML page from a proxy, say).
 * 400 reads as a validation error, 403 as unauthorized, 502/504 as server errors, 503 as unavailable.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const fromHttpStatus = (status: number, args: ApiErrorArgs = {}): ApiError => {
  const withStatus = { ...args, httpStatus: status }
  switch (status) {
    case 400:
      return new ValidationError(withStatus)
    case 403:
      return new Unauthorized(withStatus)
    case 408:
    case 502:
    case 504:
      return new ServerError({
        ...withStatus,
        message: args.message || `the server or a proxy failed (HTTP ${status})`
      })
    case 503:
      return new ServiceUnavailable(withStatus)
    default:
      return fromCode(status, withStatus)
  }
}

/**
 * The envelope a server answers for an error: the same code (and HTTP status) and the error's message.
 * Errors that are not answers of their own map to the nearest code: a decoding failure of a request body is a
 * 422, a failed task a 501, a transport failure or a wait timeout a 500.
 *
 * @since 0.1.0
 * @category Combinators
 */
export const toEnvelope = (
  error: FaceDetError
): { readonly code: number; readonly message: string; readonly data: null } => {
  switch (error._tag) {
    case "TransportError":
    case "WaitTimeout":
      return { code: Code.ServerError, message: error.message, data: null }
    case "DecodeError":
      return { code: Code.ValidationError, message: error.message, data: null }
    case "DetectionFailed":
      return { code: Code.GenerationFailed, message: error.message, data: null }
    default:
      return { code: error.code, message: error.message, data: null }
  }
}
