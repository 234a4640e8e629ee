/**
 * Media given on the command line as a local path (or, for `--local`, a URL this command downloads itself): opened,
 * checked and sniffed before anything else happens, so a typo or a PDF fails at once with a usage error instead of
 * after an upload. Also where output folders and files are made.
 *
 * @since 0.1.0
 */
import { resolve } from "node:path"
import { fileURLToPath } from "node:url"
import * as FileSystem from "@effect/platform/FileSystem"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { CliError } from "./CliError.js"
import { FileError, MediaError, UsageError } from "./CliError.js"
import * as Download from "./internal/download.js"
import * as MediaKind from "./MediaKind.js"

/**
 * @since 0.1.0
 * @category Constants
 */
export const limits = {
  /** The largest file read into memory (to upload it, or to detect an image locally). */
  maxReadBytes: 1024 * 1024 * 1024,
  /** The largest media `--local` downloads from a URL. */
  maxDownloadBytes: 512 * 1024 * 1024,
  /** How long `--local` waits for a URL's media to arrive. */
  downloadTimeout: Duration.minutes(5)
} as const

/**
 * An opened piece of media.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Media {
  /** As given on the command line. */
  readonly source: string
  /** A local file holding it (a temporary download for a URL, removed with the scope). */
  readonly path: string
  readonly kind: MediaKind.Kind
  readonly format: string
  readonly contentType: string
  readonly size: number
  /** The whole file (read once, on first use). */
  readonly bytes: Effect.Effect<Uint8Array, CliError>
}

/**
 * What a command-line media argument is: an http(s) URL, or a local path (`file://` URLs included).
 *
 * @since 0.1.0
 * @category Models
 */
export type Source = { readonly _tag: "Url"; readonly url: URL } | { readonly _tag: "Path"; readonly path: string }

/**
 * Reads a media argument. `scheme://` other than http(s) and file is a usage error rather than a file name.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const classify = (argument: string): Effect.Effect<Source, UsageError> => {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(argument)?.[1]?.toLowerCase()
  if (scheme === undefined) return Effect.succeed({ _tag: "Path", path: resolve(argument) })
  if (scheme === "file") {
    return Effect.try({
      try: () => ({ _tag: "Path", path: fileURLToPath(argument) }) as const,
      catch: () => new UsageError({ message: `${argument} is not a valid file:// URL` })
    })
  }
  if (scheme !== "http" && scheme !== "https") {
    return Effect.fail(new UsageError({ message: `${argument}: only http(s) URLs and local paths are supported` }))
  }
  return Effect.try({
    try: () => ({ _tag: "Url", url: new URL(argument) }) as const,
    catch: () => new UsageError({ message: `${argument} is not a valid URL` })
  })
}

const fileError = (path: string, what: string) => (cause: { readonly message: string; readonly reason?: string }) =>
  new FileError({
    path,
    message: cause.reason === "NotFound" ? `${path} does not exist` : `cannot ${what} ${path}: ${cause.message}`,
    cause
  })

/**
 * Opens a local file: checks it is a readable regular file within the size limit and sniffs its kind.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const openFile = (path: string, source = path): Effect.Effect<Media, CliError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const info = yield* fs.stat(path).pipe(Effect.mapError(fileError(path, "read")))
    if (info.type !== "File") return yield* new FileError({ path, message: `${path} is not a file` })
    const size = Number(info.size)
    if (size === 0) return yield* new MediaError({ source, message: `${path} is empty` })
    if (size > limits.maxReadBytes) {
      return yield* new MediaError({ source, message: `${path} is larger than ${limits.maxReadBytes} bytes` })
    }
    const read = fs.readFile(path).pipe(Effect.mapError(fileError(path, "read")))
    const bytes = yield* Effect.cached(read)
    // GIFs are read whole (their frame count decides image or video); other formats are told by their header.
    const header = yield* readHeader(fs, path)
    const whole = header[0] === 0x47 ? yield* bytes : header
    const sniffed = MediaKind.ofBytes(whole)
    if (sniffed.kind === "unsupported") {
      return yield* new MediaError({
        source,
        message: `${source} is not an image or video facedet can read (it looks like ${sniffed.detected})`
      })
    }
    return { source, path, size, bytes, ...sniffed }
  })

const readHeader = (fs: FileSystem.FileSystem, path: string): Effect.Effect<Uint8Array, FileError> =>
  Effect.scoped(
    Effect.gen(function* () {
      const file = yield* fs.open(path, { flag: "r" })
      const buffer = new Uint8Array(64)
      const n = yield* file.read(buffer)
      return buffer.subarray(0, Number(n))
    })
  ).pipe(Effect.mapError(fileError(path, "read")))

/**
 * Opens a path, or downloads a URL into a temporary file removed when the scope closes (`--local` on a URL: http(s)
 * only, at most `limits.maxDownloadBytes`, within `limits.downloadTimeout`).
 *
 * @since 0.1.0
 * @category Constructors
 */
export const open = (
  argument: string
): Effect.Effect<Media, CliError, FileSystem.FileSystem | HttpClient.HttpClient | Scope.Scope> =>
  Effect.gen(function* () {
    const source = yield* classify(argument)
    if (source._tag === "Path") return yield* openFile(source.path, argument)
    const fs = yield* FileSystem.FileSystem
    const dir = yield* fs
      .makeTempDirectoryScoped({ prefix: "facedet-download-" })
      .pipe(Effect.mapError(fileError("a temporary folder", "create")))
    const path = `${dir}/media`
    yield* Download.toFile(source.url.href, path, {
      maxBytes: limits.maxDownloadBytes,
      timeout: limits.downloadTimeout
    }).pipe(
      Effect.mapError((error) =>
        error.reason === "Write"
          ? new FileError({ path, message: error.message })
          : new MediaError({ source: argument, message: error.message })
      )
    )
    return yield* openFile(path, argument)
  })

/**
 * The folder for output files: `dir` (created with its parents), or a new `facedet-` folder under the OS temp dir.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const outputDirectory = (dir?: string): Effect.Effect<string, FileError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    if (dir === undefined) {
      return yield* fs
        .makeTempDirectory({ prefix: "facedet-" })
        .pipe(Effect.mapError(fileError("a temporary folder", "create")))
    }
    const path = resolve(dir)
    yield* fs.makeDirectory(path, { recursive: true }).pipe(Effect.mapError(fileError(path, "create")))
    return path
  })

/**
 * Writes a file, as a `FileError` on failure.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const write = (path: string, bytes: Uint8Array): Effect.Effect<void, FileError, FileSystem.FileSystem> =>
  Effect.flatMap(FileSystem.FileSystem, (fs) => fs.writeFile(path, bytes)).pipe(
    Effect.mapError(fileError(path, "write"))
  )
