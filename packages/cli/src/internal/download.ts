/**
 * Streams an http(s) URL into a file, with a byte limit and a deadline: used for `--local` on a URL and for
 * `faces download`. The file is only left behind when the whole body arrived.
 *
 * Redirects are followed here (at most {@link maxRedirects}), not by `fetch`: `fetch` would forward every header to
 * any origin it is redirected to, and the API key must only ever reach the origin it was meant for.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Stream from "effect/Stream"

/** Why a download did not produce a file. */
export class DownloadError extends Data.TaggedError("DownloadError")<{
  readonly url: string
  readonly reason: "Scheme" | "Status" | "TooLarge" | "Transport" | "Timeout" | "Write"
  readonly message: string
  readonly httpStatus?: number
  readonly cause?: unknown
}> {}

export interface Options {
  readonly maxBytes: number
  readonly timeout: Duration.DurationInput
  /** Headers for the URL's own origin only (e.g. the API key for a facedet server's links): dropped by a redirect away. */
  readonly headers?: Record<string, string>
}

/** The most redirects followed for one download. */
export const maxRedirects = 5

const redirectStatuses = new Set([301, 302, 303, 307, 308])

const mib = (bytes: number): string => `${Math.round((bytes / 1024 / 1024) * 10) / 10} MiB`

/** Downloads `url` into `path`; returns the number of bytes written. */
export const toFile = (
  url: string,
  path: string,
  options: Options
): Effect.Effect<number, DownloadError, HttpClient.HttpClient | FileSystem.FileSystem> =>
  Effect.gen(function* () {
    let parsed: URL
    try {
      parsed = new URL(url)
    } catch {
      return yield* new DownloadError({ url, reason: "Scheme", message: `${url} is not a URL` })
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
      return yield* new DownloadError({ url, reason: "Scheme", message: `${url} is not an http(s) URL` })
    }
    const fs = yield* FileSystem.FileSystem
    const response = yield* follow(url, parsed, options.headers ?? {})
    if (response.status < 200 || response.status >= 300) {
      return yield* new DownloadError({
        url,
        reason: "Status",
        httpStatus: response.status,
        message: `${url} answered HTTP ${response.status}`
      })
    }
    const declared = Number(response.headers["content-length"])
    if (Number.isFinite(declared) && declared > options.maxBytes) {
      return yield* new DownloadError({
        url,
        reason: "TooLarge",
        message: `${url} is ${mib(declared)}, over the ${mib(options.maxBytes)} limit`
      })
    }
    let total = 0
    yield* response.stream.pipe(
      Stream.mapError(
        (cause) =>
          new DownloadError({ url, reason: "Transport", message: `reading ${url} failed: ${cause.message}`, cause })
      ),
      Stream.mapEffect((chunk) => {
        total += chunk.length
        return total > options.maxBytes
          ? Effect.fail(
              new DownloadError({
                url,
                reason: "TooLarge",
                message: `${url} is over the ${mib(options.maxBytes)} limit`
              })
            )
          : Effect.succeed(chunk)
      }),
      Stream.run(fs.sink(path)),
      Effect.catchTag("SystemError", "BadArgument", (cause) =>
        Effect.fail(new DownloadError({ url, reason: "Write", message: `could not write ${path}: ${cause.message}` }))
      ),
      // A partial file (error, deadline, interruption) is not a download: remove it.
      Effect.onExit((exit) => (Exit.isFailure(exit) ? fs.remove(path).pipe(Effect.ignore) : Effect.void))
    )
    return total
  }).pipe(
    Effect.scoped,
    Effect.timeoutFail({
      duration: options.timeout,
      onTimeout: () =>
        new DownloadError({
          url,
          reason: "Timeout",
          message: `${url} did not arrive within ${Duration.format(Duration.decode(options.timeout))}`
        })
    })
  )

/** GETs `start`, following redirects to http(s) URLs; the headers go to `start`'s origin only. */
const follow = (
  url: string,
  start: URL,
  headers: Record<string, string>
): Effect.Effect<HttpClientResponse.HttpClientResponse, DownloadError, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const client = yield* HttpClient.HttpClient
    let current = start
    for (let hop = 0; ; hop++) {
      const sameOrigin = current.origin === start.origin
      const response = yield* client.get(current, { headers: sameOrigin ? headers : {} }).pipe(
        // Only the fetch client reads this; others (undici) do not follow redirects on their own.
        Effect.provideService(FetchHttpClient.RequestInit, { redirect: "manual" }),
        Effect.mapError(
          (cause) =>
            new DownloadError({ url, reason: "Transport", message: `could not fetch ${url}: ${cause.message}`, cause })
        )
      )
      const location = response.headers.location
      if (!redirectStatuses.has(response.status) || location === undefined) return response
      if (hop === maxRedirects) {
        return yield* new DownloadError({
          url,
          reason: "Status",
          message: `${url} redirected more than ${maxRedirects} times`
        })
      }
      const next = resolveLocation(location, current)
      if (next === undefined || (next.protocol !== "http:" && next.protocol !== "https:")) {
        return yield* new DownloadError({ url, reason: "Scheme", message: `${url} redirected to ${location}` })
      }
      current = next
    }
  })

const resolveLocation = (location: string, base: URL): URL | undefined => {
  try {
    return new URL(location, base)
  } catch {
    return undefined
  }
}
