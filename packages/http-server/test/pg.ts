/**
 * PostgreSQL for tests: the machine's server (FACEDET_TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test),
 * with a fresh database per test file so two runs (or two files) never share rows. In CI (`CI=true`) an unreachable
 * server fails the suite; elsewhere the PostgreSQL tests are skipped with a note.
 */
import { randomBytes } from "node:crypto"
import { execFileSync } from "node:child_process"
import { createRequire } from "node:module"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import pg from "pg"
import * as PgSchema from "../src/PgSchema.js"
import * as Postgres from "../src/Postgres.js"

const require = createRequire(import.meta.url)

export const adminUrl = process.env.FACEDET_TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test"

const probe = (): boolean => {
  try {
    // Synchronous, so `describe.skipIf` can use it at collection time.
    execFileSync(
      process.execPath,
      [
        "-e",
        `const pg=require(${JSON.stringify(require.resolve("pg"))});const c=new pg.Client({connectionString:${JSON.stringify(adminUrl)},connectionTimeoutMillis:2000});c.connect().then(()=>c.end()).then(()=>process.exit(0),()=>process.exit(1))`
      ],
      { stdio: "ignore", timeout: 5000 }
    )
    return true
  } catch {
    return false
  }
}

/** Whether PostgreSQL is reachable; in CI it must be. */
export const pgAvailable: boolean = (() => {
  const ok = probe()
  if (!ok && process.env.CI)
    throw new Error(`PostgreSQL is not reachable at ${Postgres.redact(adminUrl)} (CI needs it)`)
  if (!ok)
    process.stderr.write(`note: PostgreSQL not reachable at ${Postgres.redact(adminUrl)}; its tests are skipped\n`)
  return ok
})()

const admin = async <A>(f: (c: pg.Client) => Promise<A>): Promise<A> => {
  const c = new pg.Client({ connectionString: adminUrl })
  await c.connect()
  try {
    return await f(c)
  } finally {
    await c.end()
  }
}

/** A fresh, empty database; `drop` removes it (and any connection left to it). */
export const freshDatabase = async (): Promise<{ readonly url: string; readonly drop: () => Promise<void> }> => {
  const name = `facedet_test_${randomBytes(6).toString("hex")}`
  await admin((c) => c.query(`CREATE DATABASE ${name}`))
  const u = new URL(adminUrl)
  u.pathname = `/${name}`
  return {
    url: u.toString(),
    drop: () => admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined)
  }
}

/** The SqlClient of a URL, migrated. */
export const migrated = (url: string, options: Postgres.Options = {}) => {
  const parsed = Either.getOrThrow(Postgres.parseUrl(url))
  return Layer.tap(Postgres.layer(parsed, options), (context) =>
    Effect.provide(Effect.orDie(PgSchema.migrate()), context)
  )
}

/** Empties every table (between tests sharing a database). */
export const truncate = (url: string): Promise<void> =>
  (async () => {
    const c = new pg.Client({ connectionString: url })
    await c.connect()
    try {
      await c.query(
        "TRUNCATE tasks, media, blobs, blob_chunks, webhooks, webhook_secrets, rate_buckets, api_keys RESTART IDENTITY"
      )
    } finally {
      await c.end()
    }
  })()
