/**
 * @facedet/http-server: a self-hosted face-detection service that answers exactly like crun.ai's API and runs the
 * detection itself with @facedet/detector.
 *
 * The HTTP routes (`Api`) and the workers (`Worker`) are wiring inside `Server`, not API: they are not exported.
 *
 * @since 0.1.0
 */

/** The server's settings, their environment variables and their validation. */
export * as ServerConfig from "./ServerConfig.js"

/** The whole service as a layer, `run` with signal handling and drain, and the command line's `main`. */
export * as Server from "./Server.js"

/** The durable task queue and record (interface shared by the SQLite and PostgreSQL adapters). */
export * as JobStore from "./JobStore.js"

/** The embedded SQLite `JobStore`. */
export * as SqliteJobStore from "./SqliteJobStore.js"

/** The shared PostgreSQL `JobStore`, for several processes on one database. */
export * as PgJobStore from "./PgJobStore.js"

/** Where uploads and face crops live: the data directory, or PostgreSQL (`PgBlobStore`). */
export * as BlobStore from "./BlobStore.js"

/** The file store in PostgreSQL. */
export * as PgBlobStore from "./PgBlobStore.js"

/** The PostgreSQL schema's migrations, applied under an advisory lock (`facedet db migrate`). */
export * as PgSchema from "./PgSchema.js"

/** The PostgreSQL connection: URL checks (password never shown), the pool, outage detection. */
export * as Postgres from "./Postgres.js"

/** What processes on one database share: rate-limit buckets, the generated key, wake-ups (LISTEN/NOTIFY). */
export * as Cluster from "./Cluster.js"

/** API keys: configured or generated, hashed, compared in constant time. */
export * as ApiKeys from "./ApiKeys.js"

/** Per-key token-bucket rate limiting. */
export * as RateLimiter from "./RateLimiter.js"

/** Prometheus metrics. */
export * as Metrics from "./Metrics.js"

/** SSRF-safe media downloads. */
export * as MediaFetcher from "./MediaFetcher.js"
