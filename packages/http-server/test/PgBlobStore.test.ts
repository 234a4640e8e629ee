/**
 * The PostgreSQL file store on a fresh database: whole files in and out, a file written twice keeps its first
 * content, a 3 MB upload goes in and back out in 1 MiB chunks (adopted from a staged file, copied to a local file,
 * streamed as a response body), and removal.
 */
import { readFileSync, statSync, writeFileSync, existsSync } from "node:fs"
import type * as SqlClient from "@effect/sql/SqlClient"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import type { Service } from "../src/BlobStore.js"
import * as PgBlobStore from "../src/PgBlobStore.js"
import { freshDatabase, migrated, pgAvailable } from "./pg.js"
import { tempDir } from "./support.js"

describe.skipIf(!pgAvailable)("PgBlobStore", () => {
  let db: { url: string; drop: () => Promise<void> }
  let runtime: ManagedRuntime.ManagedRuntime<SqlClient.SqlClient, unknown>
  let blobs: Service
  const tmp = tempDir()
  beforeAll(async () => {
    db = await freshDatabase()
    runtime = ManagedRuntime.make(migrated(db.url))
    blobs = await runtime.runPromise(PgBlobStore.make(tmp))
  })
  afterAll(async () => {
    await runtime?.dispose()
    await db?.drop()
  })

  it("keeps whole files; the first write of a path wins", async () => {
    await Effect.runPromise(
      Effect.gen(function* () {
        yield* blobs.putAll([
          ["crops/t/0.jpg", new Uint8Array([1, 2, 3])],
          ["sources/t", new Uint8Array(0)]
        ])
        yield* blobs.putAll([["crops/t/0.jpg", new Uint8Array([9])]])
        expect([...Option.getOrThrow(yield* blobs.read("crops/t/0.jpg"))]).toEqual([1, 2, 3])
        expect(Option.getOrThrow(yield* blobs.read("sources/t")).byteLength).toBe(0)
        expect(Option.isNone(yield* blobs.read("crops/t/1.jpg"))).toBe(true)
        const body = Option.getOrThrow(yield* blobs.body("crops/t/0.jpg"))
        expect([...(body as Uint8Array)]).toEqual([1, 2, 3])
        yield* blobs.remove(["crops/t/0.jpg", "sources/t", "absent"])
        expect(Option.isNone(yield* blobs.size("crops/t/0.jpg"))).toBe(true)
      })
    )
  })

  it("streams a large upload in and out in chunks", async () => {
    const big = Buffer.alloc(3 * PgBlobStore.chunkBytes + 12345)
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff
    const staged = blobs.staging("uploads/u1")
    writeFileSync(staged, big)
    await Effect.runPromise(blobs.adopt("uploads/u1", staged))
    expect(existsSync(staged)).toBe(false)
    const local = Option.getOrThrow(await Effect.runPromise(blobs.localFile("uploads/u1", tmp)))
    expect(local.temporary).toBe(true)
    expect(statSync(local.path).size).toBe(big.length)
    expect(readFileSync(local.path).equals(big)).toBe(true)
    const body = Option.getOrThrow(await Effect.runPromise(blobs.body("uploads/u1")))
    if (typeof body !== "object" || !("chunks" in body)) throw new Error("expected a streamed body")
    expect(body.size).toBe(big.length)
    const parts: Array<Uint8Array> = []
    for await (const part of body.chunks()) parts.push(part)
    expect(parts.length).toBe(4)
    expect(Buffer.concat(parts).equals(big)).toBe(true)
  })
})
