/**
 * The file store in the shared PostgreSQL database: every process reads what any process wrote (a face link or an
 * upload URL works whichever process answers it).
 *
 * A file is a `blobs` row and its bytes in `blob_chunks` of at most 1 MiB. An upload is staged on local disk while
 * it arrives (its limits and format checks run there, as with the data directory), then copied in chunk by chunk
 * in one transaction; a video is read back chunk by chunk into a temporary file for ffmpeg, and a face link streams
 * its chunks. Memory per transfer stays at one chunk, whatever the file's size.
 *
 * A file is written once: a second writer of the same path (two processes encoding the same crop) finds it there
 * and adds nothing, and readers only ever see whole files (rows become visible at commit).
 *
 * @since 0.1.0
 */
import { createReadStream, createWriteStream } from "node:fs"
import { rm } from "node:fs/promises"
import { join } from "node:path"
import { once } from "node:events"
import { randomBytes } from "node:crypto"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { BlobError, BlobStore, type Service } from "./BlobStore.js"
import type { Body } from "./internal/httpEdge.js"
import * as Postgres from "./Postgres.js"

/**
 * Bytes per chunk.
 *
 * @since 0.1.0
 */
export const chunkBytes = 1 << 20

/** Margin past the media lifetime before an unowned file counts as an orphan. */
const orphanMarginMs = 10 * 60_000

/**
 * The file store over the `SqlClient` in context (a migrated PostgreSQL database); `tmpDir` stages uploads.
 *
 * @since 0.1.0
 */
export const make = (tmpDir: string): Effect.Effect<Service, never, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const failure = (operation: string, path: string) => (cause: unknown) =>
      new BlobError({ operation, path, cause, unavailable: Postgres.isUnavailable(cause) })

    const chunk = (path: string, seq: number) =>
      Effect.map(
        sql<{ data: Uint8Array }>`SELECT data FROM blob_chunks WHERE path = ${path} AND seq = ${seq}`,
        (rows) => rows[0]?.data
      )

    const size = (path: string) =>
      sql<{ size: number }>`SELECT size FROM blobs WHERE path = ${path}`.pipe(
        Effect.map((rows) => Option.fromNullable(rows[0]?.size)),
        Effect.mapError(failure("stat", path))
      )

    /** Chunks in order, one query each: a reader that stops early stops the reads. */
    const chunks = (path: string) =>
      async function* (): AsyncIterable<Uint8Array> {
        for (let seq = 0; ; seq++) {
          const data = await Effect.runPromise(chunk(path, seq))
          if (data === undefined) return
          yield data
        }
      }

    return {
      kind: "postgres",
      putAll: (files) =>
        files.length === 0
          ? Effect.void
          : sql
              .withTransaction(
                Effect.gen(function* () {
                  const fresh = yield* sql<{ path: string }>`INSERT INTO blobs (path, size, created_at)
                    SELECT p, s, facedet_now_ms()
                    FROM unnest(${files.map(([path]) => path)}::text[], ${files.map(([, b]) => b.byteLength)}::bigint[])
                      AS f(p, s)
                    ON CONFLICT (path) DO NOTHING RETURNING path`
                  const added = new Set(fresh.map((r) => r.path))
                  const rows = files.flatMap(([path, bytes]) => {
                    if (!added.has(path)) return []
                    const parts = []
                    for (let seq = 0; seq * chunkBytes < Math.max(bytes.byteLength, 1); seq++) {
                      parts.push({
                        path,
                        seq,
                        data: Buffer.from(bytes.subarray(seq * chunkBytes, (seq + 1) * chunkBytes))
                      })
                    }
                    return parts
                  })
                  if (rows.length > 0) yield* sql`INSERT INTO blob_chunks ${sql.insert(rows)}`
                })
              )
              .pipe(Postgres.failOnSqlDefect, Effect.mapError(failure("write", files[0]![0]))),
      staging: () => join(tmpDir, `upload-${randomBytes(8).toString("hex")}`),
      adopt: (path, staged) => {
        const stream = createReadStream(staged, { highWaterMark: chunkBytes })
        return sql
          .withTransaction(
            Effect.gen(function* () {
              yield* sql`INSERT INTO blobs (path, size, created_at) VALUES (${path}, 0, facedet_now_ms())`
              let seq = 0
              let total = 0
              // One chunk in memory at a time: the next is read once this one is stored.
              const file = stream[Symbol.asyncIterator]()
              for (;;) {
                const next = yield* Effect.tryPromise(() => file.next() as Promise<IteratorResult<Buffer>>)
                if (next.done) break
                yield* sql`INSERT INTO blob_chunks (path, seq, data) VALUES (${path}, ${seq}, ${next.value})`
                seq++
                total += next.value.byteLength
              }
              yield* sql`UPDATE blobs SET size = ${total} WHERE path = ${path}`
            })
          )
          .pipe(
            Postgres.failOnSqlDefect,
            Effect.mapError(failure("adopt", path)),
            // A transaction that failed midway leaves the file open: close it before removing it.
            Effect.ensuring(
              Effect.promise(() => {
                stream.destroy()
                return rm(staged, { force: true })
              })
            )
          )
      },
      read: (path) =>
        sql<{ data: Uint8Array }>`SELECT data FROM blob_chunks WHERE path = ${path} ORDER BY seq`.pipe(
          Effect.flatMap((rows) =>
            rows.length === 0
              ? Effect.map(
                  size(path),
                  Option.map(() => new Uint8Array(0))
                )
              : Effect.succeed(Option.some<Uint8Array>(Buffer.concat(rows.map((r) => r.data))))
          ),
          Effect.mapError(failure("read", path))
        ),
      localFile: (path, dir) =>
        Effect.flatMap(size(path), (found) => {
          if (Option.isNone(found)) return Effect.succeed(Option.none())
          const target = join(dir, `blob-${randomBytes(8).toString("hex")}`)
          return Effect.tryPromise({
            try: async () => {
              const out = createWriteStream(target, { mode: 0o600 })
              try {
                for await (const data of chunks(path)()) {
                  if (!out.write(data)) await once(out, "drain")
                }
                out.end()
                await once(out, "finish")
              } catch (e) {
                out.destroy()
                await rm(target, { force: true })
                throw e
              }
              return Option.some({ path: target, temporary: true })
            },
            catch: failure("copy", path)
          })
        }),
      size,
      body: (path) =>
        Effect.flatMap(size(path), (found) => {
          if (Option.isNone(found)) return Effect.succeed(Option.none<Body>())
          // A crop is one chunk: read it now, so a failure is an answer rather than a cut connection.
          if (found.value <= chunkBytes) {
            return Effect.map(Effect.mapError(chunk(path, 0), failure("read", path)), (data) =>
              Option.some<Body>(data ?? new Uint8Array(0))
            )
          }
          return Effect.succeed(Option.some<Body>({ chunks: chunks(path), size: found.value }))
        }),
      remove: (paths) =>
        paths.length === 0
          ? Effect.void
          : sql`DELETE FROM blobs WHERE path IN ${sql.in(paths)}`.pipe(
              Effect.asVoid,
              Effect.mapError(failure("remove", paths[0]!))
            ),
      sweepOrphans: (_now, mediaTtlMs) =>
        sql<{ path: string }>`DELETE FROM blobs b WHERE path IN (
            SELECT path FROM blobs WHERE created_at < facedet_now_ms() - ${mediaTtlMs + orphanMarginMs} LIMIT 1000)
          AND NOT EXISTS (SELECT 1 FROM media m WHERE m.path = b.path)
          RETURNING path`.pipe(
          Effect.map((rows) => rows.length),
          Effect.mapError(failure("sweep", "blobs"))
        )
    } satisfies Service
  })

/**
 * The PostgreSQL file store as a layer.
 *
 * @since 0.1.0
 */
export const layer = (tmpDir: string): Layer.Layer<BlobStore, never, SqlClient.SqlClient> =>
  Layer.effect(BlobStore, make(tmpDir))
