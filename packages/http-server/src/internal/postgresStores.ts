/**
 * The stores of a server on PostgreSQL (`Server.postgres`), in a module of their own that the server loads only when
 * `FACEDET_DATABASE_URL` is set.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import type { BlobStore } from "../BlobStore.js"
import * as Cluster from "../Cluster.js"
import type { JobStore } from "../JobStore.js"
import * as PgBlobStore from "../PgBlobStore.js"
import * as PgJobStore from "../PgJobStore.js"
import * as PgSchema from "../PgSchema.js"
import * as Postgres from "../Postgres.js"
import type { ServerConfig } from "../ServerConfig.js"
import * as DataDir from "./dataDir.js"

/** The pool, the schema migrated at start, and the job store, file store and shared state over it. */
export const layer = (
  config: ServerConfig
): Layer.Layer<JobStore | BlobStore | Cluster.Cluster, Postgres.DatabaseUnreachable | PgSchema.MigrateError> => {
  const url = Either.getOrThrow(Postgres.parseUrl(config.databaseUrl!))
  const client = Layer.tap(Postgres.layer(url, { maxConnections: config.databasePoolSize }), (context) =>
    Effect.provide(PgSchema.migrate(), context)
  )
  return Layer.mergeAll(
    PgJobStore.layer({ maxAttempts: config.maxAttempts }),
    PgBlobStore.layer(DataDir.layout(config.dataDir).tmp),
    Cluster.layerPostgres(url)
  ).pipe(Layer.provide(client))
}
