/**
 * What server processes share besides the job store and the file store, when several of them run on one
 * PostgreSQL database: the per-key rate-limit buckets, the generated API key's digest, and the wake-ups (a worker
 * learns of a queued task, a long-poll of an ended one, whichever process caused it).
 *
 * Wake-ups come from `LISTEN` on a connection of our own (not the pool's, and not @effect/sql-pg's `listen`,
 * whose connection is not replaced when it drops). When it drops (the database restarted, a network cut), it is
 * reopened with a backoff up to 5 s, and `onReconnect` wakes everyone: notifications sent meanwhile are lost, so
 * every waiter re-reads. Waiters also re-read on their own every few seconds, so a lost notification only delays.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Runtime from "effect/Runtime"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import pg from "pg"
import * as ApiKeys from "./ApiKeys.js"
import * as PgRateLimiter from "./internal/pgRateLimiter.js"
import * as Postgres from "./Postgres.js"
import type * as RateLimiter from "./RateLimiter.js"

/**
 * What to wake.
 *
 * @since 0.1.0
 */
export interface Wakeups {
  /** A task was queued (or requeued). */
  readonly queued: () => void
  /** A task ended; `callback`: it has a delivery to send. */
  readonly ended: (taskId: string, callback: boolean) => void
  /** The listening connection was reopened: notifications may have been missed. */
  readonly reconnected: () => void
}

/**
 * The shared state.
 *
 * @since 0.1.0
 */
export interface Service {
  /** The per-key rate limit over the shared buckets. */
  readonly limiter: (options: RateLimiter.Options) => Effect.Effect<RateLimiter.Shared>
  /** The configured keys, or the key generated once for the whole database (shown by the process that made it). */
  readonly apiKeys: (configured: ReadonlyArray<string>) => Effect.Effect<ApiKeys.ApiKeys, ApiKeys.KeyFileError>
  /** Forgets a generated key that was never shown (its process could not start). */
  readonly forgetGenerated: (keys: ApiKeys.ApiKeys) => Effect.Effect<void>
  /** Listens for wake-ups until the scope closes (its connection's losses and recoveries go to the log). */
  readonly listen: (wake: Wakeups) => Effect.Effect<void, never, Scope.Scope>
  /** Where it lives, for messages (the URL without its password). */
  readonly display: string
}

/**
 * The shared state of a server on PostgreSQL (absent with the embedded SQLite store).
 *
 * @since 0.1.0
 */
export class Cluster extends Context.Tag("@facedet/http-server/Cluster")<Cluster, Service>() {}

const keyRow = "generated"

/**
 * The shared state in the database of `url`, over its `SqlClient`.
 *
 * @since 0.1.0
 */
export const layerPostgres = (url: Postgres.DatabaseUrl): Layer.Layer<Cluster, never, SqlClient.SqlClient> =>
  Layer.effect(
    Cluster,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const keyError = (cause: unknown) => new ApiKeys.KeyFileError({ path: `${url.display} (table api_keys)`, cause })

      const apiKeys = (configured: ReadonlyArray<string>) =>
        configured.length > 0
          ? Effect.succeed(ApiKeys.fromKeys(configured))
          : Effect.gen(function* () {
              // The first process to start generates the key; every other one finds its digest.
              const key = ApiKeys.generateKey()
              const digest = ApiKeys.digestOf(key).toString("hex")
              const inserted = yield* sql<{ digest: string }>`INSERT INTO api_keys (name, digest, created_at)
                VALUES (${keyRow}, ${digest}, facedet_now_ms()) ON CONFLICT (name) DO NOTHING RETURNING digest`
              if (inserted.length === 1) return ApiKeys.fromDigests([ApiKeys.digestOf(key)], "generated", key)
              const rows = yield* sql<{ digest: string }>`SELECT digest FROM api_keys WHERE name = ${keyRow}`
              return ApiKeys.fromDigests(
                rows.map((r) => Buffer.from(r.digest, "hex")),
                "stored"
              )
            }).pipe(Effect.mapError(keyError))

      const forgetGenerated = (keys: ApiKeys.ApiKeys) =>
        keys.generated === undefined
          ? Effect.void
          : Effect.ignore(
              sql`DELETE FROM api_keys WHERE name = ${keyRow}
                AND digest = ${ApiKeys.digestOf(keys.generated).toString("hex")}`
            )

      const listen = (wake: Wakeups) =>
        Effect.acquireRelease(
          Effect.map(Effect.runtime<never>(), (runtime) => {
            // The connection's events arrive outside any fiber: they log through the runtime of the caller.
            const log = (message: string) => Runtime.runSync(runtime, Effect.logWarning(message))
            let client: pg.Client | undefined
            let closed = false
            let failures = 0
            let timer: NodeJS.Timeout | undefined
            const open = () => {
              timer = undefined
              if (closed) return
              const c = new pg.Client(Postgres.clientConfig(url))
              client = c
              const lost = (e?: unknown) => {
                if (client !== c) return
                client = undefined
                c.removeAllListeners("notification")
                c.end().catch(() => undefined)
                if (closed) return
                if (failures === 0) {
                  log(
                    `lost the wake-up connection to the database (${e instanceof Error ? e.message : "closed"}); reconnecting`
                  )
                }
                failures++
                timer = setTimeout(open, Math.min(5000, 250 * 2 ** Math.min(failures, 5)))
              }
              c.on("error", lost)
              c.on("end", () => lost())
              c.on("notification", (msg) => {
                if (msg.channel === "facedet_queued") wake.queued()
                else if (msg.channel === "facedet_ended" && msg.payload) {
                  const [taskId, callback] = msg.payload.split(" ")
                  wake.ended(taskId!, callback === "callback")
                }
              })
              c.connect()
                .then(() => c.query("LISTEN facedet_queued; LISTEN facedet_ended"))
                .then(() => {
                  if (client !== c) return
                  if (failures > 0) log("wake-up connection to the database restored")
                  failures = 0
                  // Whatever was notified while no one listened is found by re-reading.
                  wake.reconnected()
                })
                .catch(lost)
            }
            open()
            return {
              close: () => {
                closed = true
                if (timer !== undefined) clearTimeout(timer)
                const c = client
                client = undefined
                return c === undefined ? Promise.resolve() : c.end().catch(() => undefined)
              }
            }
          }),
          (listener) => Effect.promise(() => listener.close())
        ).pipe(Effect.asVoid)

      return {
        limiter: (options) => Effect.provideService(PgRateLimiter.make(options), SqlClient.SqlClient, sql),
        apiKeys,
        forgetGenerated,
        listen,
        display: url.display
      } satisfies Service
    })
  )
