/**
 * Streams an http(s) URL into a file, with a byte limit and a deadline: used for `--local` on a URL and for
 * `faces download`. The file is only left behind when the whole body arrived.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpClient from "@effect/platform/HttpClient"
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
  /** Headers to send (e.g. the API key for a facedet server's own links). */
  readonly headers?: Record<string, string>
}

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
    const client = (yield* HttpClient.HttpClient).pipe(HttpClient.followRedirects(5))
    const response = yield* client
      .get(parsed, { headers: options.headers ?? {} })
      .pipe(
        Effect.mapError(
          (cause) =>
            new DownloadError({ url, reason: "Transport", message: `could not fetch ${url}: ${cause.message}`, cause })
        )
      )
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
