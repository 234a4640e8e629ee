/**
 * `facedet db migrate` against the machine's PostgreSQL (a fresh database, dropped afterwards): `--dry-run` lists
 * the pending migrations and creates nothing, the real run applies them once, and a database out of reach fails
 * with exit code 8 and a message that never shows the password.
 */
import { randomBytes } from "node:crypto"
import { createRequire } from "node:module"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { runCli } from "./helpers/runCli.js"

// pg comes with @facedet/http-server (a dev dependency here).
const pg = createRequire(createRequire(import.meta.url).resolve("@facedet/http-server/package.json"))("pg") as {
  Client: new (config: {
    connectionString: string
    connectionTimeoutMillis?: number
  }) => {
    connect: () => Promise<void>
    query: (text: string) => Promise<{ rows: Array<Record<string, unknown>> }>
    end: () => Promise<void>
  }
}

const adminUrl = process.env.FACEDET_TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test"
const name = `facedet_cli_${randomBytes(6).toString("hex")}`
const dbUrl = (() => {
  const u = new URL(adminUrl)
  u.pathname = `/${name}`
  return u.toString()
})()

const admin = async (text: string) => {
  const c = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 2000 })
  await c.connect()
  try {
    return await c.query(text)
  } finally {
    await c.end()
  }
}

const reachable = await admin("SELECT 1").then(
  () => true,
  (e) => {
    if (process.env.CI) throw e
    return false
  }
)

describe.skipIf(!reachable)("facedet db migrate", () => {
  beforeAll(() => admin(`CREATE DATABASE ${name}`))
  afterAll(() => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))

  it("lists with --dry-run, applies once, then finds nothing to do", async () => {
    const dry = await runCli(["db", "migrate", "--dry-run", "--database-url", dbUrl])
    expect(dry.code, dry.stderr).toBe(0)
    expect(dry.stdout).toMatch(/^would apply 1: /m)
    expect(dry.stdout).toMatch(/^would apply 2: tasks\.embeddings/m)
    expect(dry.stdout).toMatch(/nothing was changed \(--dry-run\)/)
    const c = new pg.Client({ connectionString: dbUrl })
    await c.connect()
    const tables = async () =>
      (await c.query("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'")).rows[0]!.n
    expect(await tables()).toBe(0)

    const applied = await runCli(["db", "migrate"], { env: { FACEDET_DATABASE_URL: dbUrl } })
    expect(applied.code, applied.stderr).toBe(0)
    expect(applied.stdout).toMatch(/^applied 1: /m)
    expect(applied.stdout).toMatch(/^applied 2: /m)
    expect(await tables()).toBeGreaterThan(5)
    await c.end()

    const again = await runCli(["db", "migrate", "--database-url", dbUrl])
    expect(again.code).toBe(0)
    expect(again.stdout).toMatch(/the schema is up to date \(version 2\)/)
  }, 60_000)

  it("an unreachable database exits 8 without showing the password; a bad URL is a usage error", async () => {
    const down = await runCli(["db", "migrate", "--database-url", "postgres://facedet:s3cret-pw@127.0.0.1:1/x"])
    expect(down.code).toBe(8)
    expect(down.stderr).toMatch(/cannot connect to PostgreSQL at postgres:\/\/facedet:\*\*\*@127\.0\.0\.1:1\/x/)
    expect(down.stderr + down.stdout).not.toContain("s3cret-pw")
    const bad = await runCli(["db", "migrate", "--database-url", "mysql://u:s3cret-pw@h/x"])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/expected a postgres:\/\/ or postgresql:\/\/ URL/)
    expect(bad.stderr).not.toContain("s3cret-pw")
    const none = await runCli(["db", "migrate"])
    expect(none.code).toBe(2)
  }, 60_000)
})
