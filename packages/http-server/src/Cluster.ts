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
import type * as SqlClient from "@effect/sql/SqlClient"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type * as ApiKeys from "./ApiKeys.js"
import type { DatabaseUrl } from "./internal/databaseUrl.js"
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

/**
 * The shared state in the database of `url`, over its `SqlClient`. Its code (and pg's) is loaded when the layer is
 * built: a server on SQLite never loads them.
 *
 * @since 0.1.0
 */
export const layerPostgres = (url: DatabaseUrl): Layer.Layer<Cluster, never, SqlClient.SqlClient> =>
  Layer.unwrapEffect(
    Effect.map(
      Effect.promise(() => import("./internal/pgCluster.js")),
      (m) => m.layer(url)
    )
  )
