/**
 * @facedet/http-server: a self-hosted face-detection service that answers exactly like crun.ai's API and runs the
 * detection itself with @facedet/detector.
 *
 * @since 0.1.0
 */

/** The server's settings, their environment variables and their validation. */
export * as ServerConfig from "./ServerConfig.js"
/** The whole service as a layer, `run` with signal handling and drain, and the command line's `main`. */
export * as Server from "./Server.js"
/** The HTTP API's routes and wire mapping. */
export * as Api from "./Api.js"
/** The durable task queue and record (interface shared by the SQLite and future PostgreSQL adapters). */
export * as JobStore from "./JobStore.js"
/** The embedded SQLite `JobStore`. */
export * as SqliteJobStore from "./SqliteJobStore.js"
/** The workers: claims with leases, detection, crops, fenced results, drain. */
export * as Worker from "./Worker.js"
/** API keys: configured or generated, hashed, compared in constant time. */
export * as ApiKeys from "./ApiKeys.js"
/** Per-key token-bucket rate limiting. */
export * as RateLimiter from "./RateLimiter.js"
/** Prometheus metrics. */
export * as Metrics from "./Metrics.js"
/** SSRF-safe media downloads. */
export * as MediaFetcher from "./MediaFetcher.js"
