/**
 * `Cluster` on PostgreSQL: the generated key's row, the shared rate-limit buckets and the LISTEN connection. Loaded
 * only by a server with a database (`Cluster.layerPostgres`), so that one on SQLite never loads pg.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Runtime from "effect/Runtime"
import pg from "pg"
import * as ApiKeys from "../ApiKeys.js"
import { Cluster, type Service, type Wakeups } from "../Cluster.js"
import * as Postgres from "../Postgres.js"
import type { DatabaseUrl } from "./databaseUrl.js"
import * as PgRateLimiter from "./pgRateLimiter.js"

const keyRow = "generated"

/** The shared state in the database of `url`, over its `SqlClient`. */
export const layer = (url: DatabaseUrl): Layer.Layer<Cluster, never, SqlClient.SqlClient> =>
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
