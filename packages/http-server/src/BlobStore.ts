/**
 * Where the files of tasks live: uploads, face crops, and the kept sources of image tasks, each named by a path
 * relative to the data directory (`uploads/<token>`, `crops/<task>/<face>.jpg`, `sources/<task>`), which is also
 * what the job store's media records hold.
 *
 * Two adapters: the data directory itself (`fileSystem`, the default with the SQLite store) and the shared
 * PostgreSQL database (`PgBlobStore`, with the PostgreSQL store), so that any process answers for a file another
 * process wrote. Large files (videos) stream in and out in bounded memory with either.
 *
 * @since 0.1.0
 */
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs"
import { rm, rmdir } from "node:fs/promises"
import { dirname, join } from "node:path"
import { randomBytes } from "node:crypto"
import * as TaskId from "@facedet/core/TaskId"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as DataDir from "./internal/dataDir.js"
import type { Body } from "./internal/httpEdge.js"
import * as Orphans from "./internal/orphans.js"

/**
 * Reading or writing a file failed (disk, database). Never the user's fault.
 *
 * @since 0.1.0
 */
export class BlobError extends Data.TaggedError("BlobError")<{
  readonly operation: string
  readonly path: string
  readonly cause: unknown
  readonly unavailable?: boolean
}> {
  override get message(): string {
    const detail = this.cause instanceof Error ? this.cause.message : String(this.cause)
    return `file store ${this.operation} ${this.path} failed: ${detail}`
  }
}

/**
 * A blob as a local file, for readers that need a path (ffmpeg).
 *
 * @since 0.1.0
 */
export interface LocalFile {
  readonly path: string
  /** A copy made for this reader: the reader removes it when done. */
  readonly temporary: boolean
}

/**
 * The file store.
 *
 * @since 0.1.0
 */
export interface Service {
  readonly kind: "filesystem" | "postgres"
  /** Writes whole files (crops, kept sources); a file that exists already is left as it is (same content). */
  readonly putAll: (files: ReadonlyArray<readonly [path: string, bytes: Uint8Array]>) => Effect.Effect<void, BlobError>
  /**
   * Where an incoming file (an upload) is written first, on local disk; `adopt` then takes it into the store. For
   * the data directory this is the final place, and `adopt` has nothing to do.
   */
  readonly staging: (path: string) => string
  /** Takes a staged local file into the store under `path`, streaming; the staged file is gone afterwards. */
  readonly adopt: (path: string, staged: string) => Effect.Effect<void, BlobError>
  /** A whole file (images: the detector needs its bytes anyway). */
  readonly read: (path: string) => Effect.Effect<Option.Option<Uint8Array>, BlobError>
  /** A file as a local path (videos), copied into `tmpDir` when the store is not the disk. */
  readonly localFile: (path: string, tmpDir: string) => Effect.Effect<Option.Option<LocalFile>, BlobError>
  /** The size of a file, if it exists. */
  readonly size: (path: string) => Effect.Effect<Option.Option<number>, BlobError>
  /** A file as a response body, streamed. */
  readonly body: (path: string) => Effect.Effect<Option.Option<Body>, BlobError>
  /** Removes files (absent ones are fine). */
  readonly remove: (paths: ReadonlyArray<string>) => Effect.Effect<void, BlobError>
  /**
   * Removes files no record owns that are older than the media lifetime and a margin (left by a crash between
   * writing a file and recording it); returns how many.
   */
  readonly sweepOrphans: (now: number, mediaTtlMs: number) => Effect.Effect<number, BlobError>
}

/**
 * The file store.
 *
 * @since 0.1.0
 */
export class BlobStore extends Context.Tag("@facedet/http-server/BlobStore")<BlobStore, Service>() {}

/**
 * Writes `bytes` to `path` atomically (temporary file and rename): a reader never sees half a file.
 *
 * @since 0.1.0
 */
export const writeAtomic = (path: string, bytes: Uint8Array): void => {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  writeInto(path, bytes)
}

/** `writeAtomic` into a directory known to exist. */
const writeInto = (path: string, bytes: Uint8Array): void => {
  const partial = `${path}.${TaskId.makeToken((n) => randomBytes(n), 8)}.part`
  writeFileSync(partial, bytes, { mode: 0o600 })
  renameSync(partial, path)
}

/**
 * The data directory as the file store (one server per directory).
 *
 * @since 0.1.0
 */
export const fileSystem = (layout: DataDir.Layout): Service => {
  const abs = (path: string) => join(layout.root, path)
  const attempt = <A>(operation: string, path: string, f: () => A) =>
    Effect.try({ try: f, catch: (cause) => new BlobError({ operation, path, cause }) })
  const statSize = (path: string): Option.Option<number> => {
    try {
      return Option.some(statSync(abs(path)).size)
    } catch {
      return Option.none()
    }
  }
  return {
    kind: "filesystem",
    putAll: (files) =>
      Effect.suspend(() => {
        // A task's crops share a directory: made once, not once per file.
        const made = new Set<string>()
        return Effect.forEach(
          files,
          ([path, bytes]) =>
            attempt("write", path, () => {
              const file = abs(path)
              if (existsSync(file)) return
              const dir = dirname(file)
              if (!made.has(dir)) {
                mkdirSync(dir, { recursive: true, mode: 0o700 })
                made.add(dir)
              }
              writeInto(file, bytes)
            }),
          { discard: true }
        )
      }),
    staging: abs,
    adopt: (path, staged) =>
      attempt("adopt", path, () => {
        if (staged !== abs(path)) renameSync(staged, abs(path))
      }),
    read: (path) =>
      Effect.try({
        try: () => Option.some<Uint8Array>(readFileSync(abs(path))),
        catch: (cause) => cause
      }).pipe(
        Effect.catchAll((cause) =>
          typeof cause === "object" && cause !== null && "code" in cause && cause.code === "ENOENT"
            ? Effect.succeed(Option.none<Uint8Array>())
            : Effect.fail(new BlobError({ operation: "read", path, cause }))
        )
      ),
    localFile: (path) => Effect.sync(() => Option.map(statSize(path), () => ({ path: abs(path), temporary: false }))),
    size: (path) => Effect.sync(() => statSize(path)),
    body: (path) => Effect.sync(() => Option.map(statSize(path), (size): Body => ({ file: abs(path), size }))),
    remove: (paths) =>
      Effect.forEach(
        paths,
        (path) =>
          Effect.promise(async () => {
            await rm(abs(path), { force: true })
            // A task's crop directory goes with its last crop.
            if (path.startsWith("crops/")) await rmdir(dirname(abs(path))).catch(() => undefined)
          }),
        { concurrency: 8, discard: true }
      ),
    sweepOrphans: (now, mediaTtlMs) => Effect.promise(() => Orphans.sweep(layout, now, mediaTtlMs))
  }
}
