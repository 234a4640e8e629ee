/**
 * The connection to PostgreSQL (`FACEDET_DATABASE_URL`): validating the URL, opening the pool, and telling an
 * unreachable database from a failing query.
 *
 * - The URL is checked before anything connects (`postgres://` or `postgresql://`, a host, a database), and it is
 *   only ever shown with its password replaced by `***`.
 * - The pool connects within `connectTimeoutMs` (2 s): while the database is down, a request fails fast with
 *   `StoreError { unavailable: true }` (the API answers 503) instead of hanging.
 * - `bigint` columns (times in epoch milliseconds, sizes) are read as numbers: they stay far below 2^53.
 *
 * @since 0.1.0
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import type * as SqlClient from "@effect/sql/SqlClient"
import { SqlError } from "@effect/sql/SqlError"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import pg from "pg"
import * as Causes from "./internal/causes.js"

export { type DatabaseUrl, parseUrl, redact } from "./internal/databaseUrl.js"
import type { DatabaseUrl } from "./internal/databaseUrl.js"

/**
 * `FACEDET_DATABASE_URL` (or `--database-url`) is not a usable PostgreSQL URL; `reason` never shows the password.
 *
 * @since 0.1.0
 */
export class DatabaseUrlInvalid extends Data.TaggedError("DatabaseUrlInvalid")<{ readonly reason: string }> {
  override get message(): string {
    return `invalid database URL: ${this.reason}`
  }
}

/**
 * The database could not be reached at start.
 *
 * @since 0.1.0
 */
export class DatabaseUnreachable extends Data.TaggedError("DatabaseUnreachable")<{
  readonly display: string
  readonly cause: unknown
}> {
  override get message(): string {
    return `cannot connect to PostgreSQL at ${this.display}: ${describeCause(this.cause)}`
  }
}

const describeCause = (cause: unknown): string => {
  // SqlError wraps the driver's error; the driver's message is the useful one.
  const c = Causes.chain(cause).at(-1)
  const message = c instanceof Error ? c.message : String(c)
  return message === "" ? Causes.codeOf(c) || message : message
}

const connectionCodes = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EHOSTUNREACH"])

/**
 * Whether a failure means the database is out of reach (refused, reset, timed out, shutting down, too many
 * connections) rather than a failing statement: the former is a 503 to retry, the latter a bug.
 *
 * @since 0.1.0
 */
export const isUnavailable = (cause: unknown): boolean =>
  Causes.chain(cause).some((c) => {
    const code = Causes.codeOf(c)
    // 08: connection exception; 57P0x: admin shutdown, crash shutdown, cannot connect now; 53300: too many
    // connections; 53100: the database's disk is full.
    if (connectionCodes.has(code) || code.startsWith("08") || code.startsWith("57P0")) return true
    if (code === "53300" || code === "53100") return true
    const message = c instanceof Error ? c.message : ""
    return /Connection terminated|timeout exceeded when trying to connect|Connection timed out|not queryable/i.test(
      message
    )
  })

/**
 * Turns a `SqlError` raised as a defect back into a failure. A transaction whose connection dies fails its
 * `ROLLBACK` too, and @effect/sql raises that one as a defect; to the caller it is the same outage.
 *
 * @since 0.1.0
 */
export const failOnSqlDefect = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | SqlError, R> =>
  Effect.catchAllDefect(self, (defect) => (defect instanceof SqlError ? Effect.fail(defect) : Effect.die(defect)))

/**
 * Pool settings.
 *
 * @since 0.1.0
 */
export interface Options {
  /** Connections of this process (default 10). */
  readonly maxConnections?: number
  /** How long to wait for a connection before failing (default 2000 ms). */
  readonly connectTimeoutMs?: number
  /** Shown in `pg_stat_activity` (default `facedet`). */
  readonly applicationName?: string
}

/** int8 as a number (times and sizes); the other types as pg parses them. */
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === 20
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig["getTypeParser"]
}

/**
 * The pool as a `SqlClient` (and `PgClient`) layer; fails at start when the database cannot be reached.
 *
 * @since 0.1.0
 */
export const layer = (
  url: DatabaseUrl,
  options: Options = {}
): Layer.Layer<SqlClient.SqlClient | PgClient.PgClient, DatabaseUnreachable> =>
  PgClient.layer({
    url: url.url,
    maxConnections: options.maxConnections ?? 10,
    connectTimeout: Duration.millis(options.connectTimeoutMs ?? 2000),
    idleTimeout: Duration.seconds(30),
    applicationName: options.applicationName ?? "facedet",
    types,
    // Column names are used as written (snake_case rows are mapped by hand).
    transformJson: false
  }).pipe(Layer.mapError((cause) => new DatabaseUnreachable({ display: url.display, cause })))

/**
 * The pg client settings of a URL, for a connection of our own (the LISTEN connection).
 *
 * @since 0.1.0
 */
export const clientConfig = (url: DatabaseUrl, options: Options = {}): pg.ClientConfig => ({
  connectionString: Redacted.value(url.url),
  connectionTimeoutMillis: options.connectTimeoutMs ?? 2000,
  application_name: `${options.applicationName ?? "facedet"}-listen`,
  keepAlive: true
})

/**
 * Opens and closes one connection: checks a URL (e.g. for `facedet db migrate`).
 *
 * @since 0.1.0
 */
export const ping = (url: DatabaseUrl): Effect.Effect<void, DatabaseUnreachable> =>
  Effect.tryPromise({
    try: async () => {
      const client = new pg.Client(clientConfig(url))
      client.on("error", () => {})
      await client.connect()
      await client.end()
    },
    catch: (cause) => new DatabaseUnreachable({ display: url.display, cause })
  })
