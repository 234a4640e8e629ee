/**
 * The HTTP API: crun.ai's face-detection calls, facedet's compatible extensions (long-poll, idempotency keys,
 * uploads), the crop links and the operational endpoints. Each route is an Effect from a request to a response;
 * every answer is the envelope `{code, message, data}` with the HTTP status equal to `code`, and no error ever
 * carries a stack trace.
 *
 * Routing rules: paths are matched exactly (no trailing-slash or case folding, like crun.ai); an unknown path, or a
 * known path with the wrong method, is a 404 envelope. Everything under `/api/` needs an API key and counts against
 * the key's rate limit. `/healthz`, `/readyz`, `/metrics` and `/openapi.json` are open because probes and scrapers
 * carry no keys and they expose no user data; crop links are open because crun.ai's links are plain URLs that a
 * swap (or a browser) fetches without a key, and they are protected instead by 190-bit random tokens and a one-hour
 * life.
 *
 * @since 0.1.0
 */
import * as Endpoints from "@facedet/core/Endpoints"
import * as FaceDetError from "@facedet/core/FaceDetError"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as ApiKeys from "./ApiKeys.js"
import * as BlobStore from "./BlobStore.js"
import * as Cluster from "./Cluster.js"
import * as Answers from "./internal/api/answers.js"
import * as Auth from "./internal/api/auth.js"
import * as Create from "./internal/api/create.js"
import * as Face from "./internal/api/face.js"
import * as Finished from "./internal/api/finished.js"
import * as Probes from "./internal/api/probes.js"
import * as Result from "./internal/api/result.js"
import * as Upload from "./internal/api/upload.js"
import * as Console from "./internal/console.js"
import type { ConsoleAssets } from "./internal/console.js"
import * as Crops from "./internal/crops.js"
import type { CropWriter } from "./internal/crops.js"
import type { Request, Response } from "./internal/httpEdge.js"
import * as Lifecycle from "./internal/lifecycle.js"
import * as Signals from "./internal/signals.js"
import { JobStore } from "./JobStore.js"
import * as MediaFetcher from "./MediaFetcher.js"
import * as Metrics from "./Metrics.js"
import type { Metrics as MetricsService } from "./Metrics.js"
import * as RateLimiter from "./RateLimiter.js"
import * as ServerConfig from "./ServerConfig.js"
import type { ServerConfig as Config } from "./ServerConfig.js"

export { errorResponse } from "./internal/api/answers.js"
export { callbackState, resultData, webhookPayload } from "./internal/api/resultData.js"
export { uploadTokenOf } from "./internal/api/uploadToken.js"

/**
 * What the routes need, read from the server's services by `make`.
 *
 * @since 0.1.0
 */
export interface Deps {
  readonly config: Config
  readonly store: JobStore["Type"]
  readonly fetcher: MediaFetcher.Service
  readonly apiKeys: ApiKeys.ApiKeys
  readonly limiter: RateLimiter.RateLimiter
  /** The per-key limit kept in the shared database (several processes); replaces `limiter` when set. */
  readonly sharedLimiter?: RateLimiter.Shared | undefined
  /** Where uploads and face crops are stored. */
  readonly blobs: BlobStore.Service
  readonly metrics: MetricsService
  readonly signals: Signals.TaskSignals
  /** Image crops written after their task completes: a link may have to wait for (or make) its crop. */
  readonly crops: CropWriter
  /** The current time in ms, from the server's clock. */
  readonly now: () => number
  /** The origin (and path prefix) of links, without a trailing slash (known once the listener has its port). */
  readonly publicUrl: Effect.Effect<string>
  /** A task was queued. */
  readonly wake: () => void
  readonly draining: Effect.Effect<boolean>
  /** The web console at `/` and the API reference at `/docs` (undefined: off, `FACEDET_CONSOLE=false`). */
  readonly console?: ConsoleAssets | undefined
}

/** A result query with one id and no characters that decoding would change. */
const plainResultQuery = /^detect_task_id=([A-Za-z0-9_.~-]{1,128})$/
const facePath = /^\/faces\/([A-Za-z0-9]{32})\.jpg$/

const knownRoutes: ReadonlySet<string> = new Set(Object.values(Endpoints.paths))

/** The metrics label of an API path: the path itself when it is a known route, else "unmatched". */
const routeOf = (request: Request): string => (knownRoutes.has(request.path) ? request.path : "unmatched")

const swapDisabled = (route: string) =>
  Answers.errorResponse(
    new FaceDetError.FeatureDisabled({
      message: "face swapping (CreateTask, TaskInfo) is not available on this server: it only detects faces"
    }),
    route,
    true
  )

/**
 * The request handler of a server: the routes (one module each, under `internal/api/`) behind the API-key gate.
 *
 * @since 0.1.0
 */
export const make: Effect.Effect<
  (request: Request) => Effect.Effect<Response>,
  never,
  | ServerConfig.Settings
  | JobStore
  | MediaFetcher.MediaFetcher
  | ApiKeys.KeyRing
  | BlobStore.BlobStore
  | Metrics.Registry
  | Signals.Ended
  | Signals.Queued
  | Crops.Crops
  | Lifecycle.Lifecycle
> = Effect.gen(function* () {
  const config = yield* ServerConfig.Settings
  const lifecycle = yield* Lifecycle.Lifecycle
  const clock = yield* Effect.clock
  const limits = { perSecond: config.rateLimitPerSecond, burst: config.rateLimitBurst }
  // Several processes on PostgreSQL share the per-key buckets.
  const cluster = yield* Effect.serviceOption(Cluster.Cluster)
  const consoleAssets = config.console ? Console.load() : undefined
  if (config.console && consoleAssets === undefined) {
    yield* Effect.logWarning("the web console's files are missing (build @facedet/console); GET / answers 404")
  }
  const deps: Deps = {
    config,
    store: yield* JobStore,
    fetcher: yield* MediaFetcher.MediaFetcher,
    apiKeys: yield* ApiKeys.KeyRing,
    limiter: RateLimiter.make(limits),
    sharedLimiter: Option.isSome(cluster) ? yield* cluster.value.limiter(limits) : undefined,
    blobs: yield* BlobStore.BlobStore,
    metrics: yield* Metrics.Registry,
    signals: yield* Signals.Ended,
    crops: yield* Crops.Crops,
    now: clock.unsafeCurrentTimeMillis.bind(clock),
    publicUrl: lifecycle.publicUrl,
    wake: (yield* Signals.Queued).wake,
    draining: lifecycle.draining,
    console: consoleAssets
  }
  return handler(deps)
})

/** The request handler over the routes' dependencies. */
const handler = (deps: Deps): ((request: Request) => Effect.Effect<Response>) => {
  const finished = Finished.make()
  const gate = Auth.make(deps)
  const create = Create.make(deps)
  const result = Result.make(deps, finished)
  const upload = Upload.make(deps)
  const face = Face.make(deps)
  const probe = Probes.make(deps)
  const { paths } = Endpoints

  /** An authenticated request within its key's rate limit. */
  const admitted = (request: Request, owner: string, route: string): Effect.Effect<Response> => {
    const { method, path } = request
    if (path === paths.result && method === "GET") {
      // The shape every poller sends, `detect_task_id=<id>` with nothing to decode, skips the query parser; an
      // ended task's remembered answer skips the store.
      const plain = plainResultQuery.exec(request.search)
      const ids = plain !== null ? [plain[1]!] : request.query.getAll("detect_task_id")
      const cached = ids.length === 1 ? finished.get(Finished.cacheKey(owner, ids[0]!), deps.now()) : undefined
      if (cached !== undefined) {
        const waits = plain !== null ? [] : request.query.getAll("wait")
        // A bad `wait` goes on to `result`, which answers it with a 422.
        if (waits.length === 0 || (waits.length === 1 && Answers.parseWait(waits[0]!) !== undefined)) {
          return Effect.succeed(cached)
        }
      }
      return result(request, owner, route)
    }
    if (path === paths.createImage && method === "POST") return create(request, owner, "image", route)
    if (path === paths.createVideo && method === "POST") return create(request, owner, "video", route)
    if (path === paths.upload && method === "POST") return upload(request, owner, route)
    if ((path === paths.createTask && method === "POST") || (path === paths.taskInfo && method === "GET")) {
      return Effect.succeed(swapDisabled(route))
    }
    return Effect.succeed(Answers.notFound(request))
  }

  return (request) => {
    const { method, path } = request
    if (path.startsWith("/api/")) {
      const route = routeOf(request)
      return gate(request, route, admitted)
    }
    if (method === "GET") {
      const faceMatch = facePath.exec(path)
      if (faceMatch) return face(faceMatch[1]!, "/faces/:token.jpg")
      const answer = probe(path)
      if (answer !== undefined) return answer
      const page = deps.console?.serve(path, request.headers)
      if (page !== undefined) return Effect.succeed(page)
    }
    return Effect.succeed(Answers.notFound(request))
  }
}
