/**
 * Validates a client's options once, at construction, into the settings every call uses. A bad option is a typed
 * `ValidationError` naming it, before anything is sent.
 */
import { Endpoints, FaceDetError, type PollPolicy, RetryPolicy } from "@facedet/core"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import type { Options } from "../FaceDetClient.js"
import { isBrowser, userAgent } from "./version.js"

/** Resolved client settings. */
export interface Settings {
  readonly baseUrl: string
  readonly apiKey: Redacted.Redacted<string>
  readonly timeout: Duration.Duration
  readonly maxRetries: number
  readonly retryCreates: boolean
  readonly retry: Omit<RetryPolicy.Options, "maxRetries" | "while">
  readonly poll: PollPolicy.Options
  readonly userAgent: string | undefined
  /** Sent with every request (before the API key, which they cannot replace). */
  readonly defaultHeaders: Readonly<Record<string, string>>
}

/** Checks header names and values: tokens for names, no control characters in values (header injection). */
export const checkHeaders = (
  issues: Array<{ path: string; message: string }>,
  path: string,
  headers: Readonly<Record<string, string>> | undefined
): void => {
  if (headers === undefined) return
  if (typeof headers !== "object" || headers === null) {
    issues.push({ path, message: "must be an object of header names to string values" })
    return
  }
  for (const [name, value] of Object.entries(headers)) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) issues.push({ path, message: `"${name}" is not a header name` })
    else if (typeof value !== "string" || controlChars.test(value)) {
      issues.push({ path, message: `the value of ${name} must be a string without control characters` })
    }
  }
}

/** The per-request timeout when none is given: detection calls answer in well under a second. */
export const defaultTimeout: Duration.Duration = Duration.seconds(30)

// Control characters in a header value would be a header-injection hole (and fetch rejects them anyway).
// biome-ignore lint/suspicious/noControlCharactersInRegex: that is the point of this pattern
const controlChars = /[\u0000-\u001f\u007f]/

/** Reads a duration option; `undefined` when it is not a positive finite duration. */
export const positiveDuration = (input: Duration.DurationInput): Duration.Duration | undefined => {
  try {
    const d = Duration.decode(input)
    return Duration.isFinite(d) && Duration.toMillis(d) > 0 ? d : undefined
  } catch {
    return undefined
  }
}

/** Reads a wait deadline: a positive duration, or `Duration.infinity` (wait as long as it takes). */
export const deadline = (input: Duration.DurationInput): Duration.Duration | undefined => {
  try {
    const d = Duration.decode(input)
    return Duration.toMillis(d) > 0 ? d : undefined
  } catch {
    return undefined
  }
}

/** A base URL without its trailing slashes, or `undefined` when it is not an http(s) URL without query or hash. */
const baseUrlOf = (raw: string): string | undefined => {
  try {
    const url = new URL(raw.trim())
    if (url.protocol !== "http:" && url.protocol !== "https:") return undefined
    if (url.search !== "" || url.hash !== "" || url.username !== "" || url.password !== "") return undefined
    return url.href.replace(/\/+$/, "")
  } catch {
    return undefined
  }
}

/** Checks the durations and growth factor of a retry or poll tuning. */
const checkTuning = (
  issues: Array<FaceDetError.Issue>,
  path: string,
  tuning: { readonly factor?: number } | undefined,
  durations: ReadonlyArray<string>
): void => {
  if (tuning === undefined) return
  const values = tuning as Readonly<Record<string, unknown>>
  for (const name of durations) {
    const value = values[name]
    if (value !== undefined && positiveDuration(value as Duration.DurationInput) === undefined) {
      issues.push({ path: `${path}.${name}`, message: "must be a positive, finite duration" })
    }
  }
  if (tuning.factor !== undefined && !(Number.isFinite(tuning.factor) && tuning.factor >= 1)) {
    issues.push({ path: `${path}.factor`, message: "must be a finite number of at least 1" })
  }
}

/** Checks a client's options. */
export const resolve = (options: Options): Either.Either<Settings, FaceDetError.ValidationError> => {
  const issues: Array<FaceDetError.Issue> = []
  const key =
    typeof options.apiKey === "string"
      ? options.apiKey
      : Redacted.isRedacted(options.apiKey)
        ? Redacted.value(options.apiKey)
        : undefined
  if (typeof key !== "string" || key.trim() === "") {
    issues.push({ path: "apiKey", message: "an API key is required (set FACEDET_API_KEY or pass apiKey)" })
  } else if (controlChars.test(key)) {
    issues.push({ path: "apiKey", message: "the API key contains control characters (a stray newline?)" })
  }
  const baseUrl = baseUrlOf(options.baseUrl ?? Endpoints.defaultBaseUrl)
  if (baseUrl === undefined) {
    issues.push({ path: "baseUrl", message: "must be an http(s) URL without query, fragment or credentials" })
  }
  const maxRetries = options.maxRetries ?? RetryPolicy.defaults.maxRetries
  if (!Number.isInteger(maxRetries) || maxRetries < 0 || maxRetries > 100) {
    issues.push({ path: "maxRetries", message: "must be an integer from 0 to 100" })
  }
  const timeout = options.timeout === undefined ? defaultTimeout : positiveDuration(options.timeout)
  if (timeout === undefined) issues.push({ path: "timeout", message: "must be a positive, finite duration" })
  checkTuning(issues, "retry", options.retry, ["initialDelay", "maxDelay", "maxRetryAfter"])
  checkTuning(issues, "poll", options.poll, ["initialDelay", "maxDelay"])
  if (options.userAgent !== undefined && (options.userAgent === "" || controlChars.test(options.userAgent))) {
    issues.push({ path: "userAgent", message: "must be a non-empty string without control characters" })
  }
  checkHeaders(issues, "defaultHeaders", options.defaultHeaders)
  if (issues.length > 0 || key === undefined || baseUrl === undefined || timeout === undefined) {
    return Either.left(new FaceDetError.ValidationError({ issues }))
  }
  return Either.right({
    apiKey: Redacted.make(key.trim()),
    baseUrl,
    timeout,
    maxRetries,
    retryCreates: options.retryCreates ?? false,
    retry: options.retry ?? {},
    poll: options.poll ?? {},
    userAgent: options.userAgent ?? (isBrowser() ? undefined : userAgent),
    defaultHeaders: options.defaultHeaders ?? {}
  })
}
