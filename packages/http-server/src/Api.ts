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
import { createHash } from "node:crypto"
import { join } from "node:path"
import * as DetectTask from "@facedet/core/DetectTask"
import * as Endpoints from "@facedet/core/Endpoints"
import * as FaceDetError from "@facedet/core/FaceDetError"
import * as OpenApi from "@facedet/core/OpenApi"
import * as PollPolicy from "@facedet/core/PollPolicy"
import * as TaskId from "@facedet/core/TaskId"
import * as Timestamp from "@facedet/core/Timestamp"
import * as Webhook from "@facedet/core/Webhook"
import * as Wire from "@facedet/core/Wire"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type { ApiKeys } from "./ApiKeys.js"
import * as Body from "./internal/body.js"
import type { ConsoleAssets } from "./internal/console.js"
import type { CropWriter } from "./internal/crops.js"
import type { Request, Response } from "./internal/httpEdge.js"
import * as Json from "./internal/json.js"
import type * as Signals from "./internal/signals.js"
import type * as BlobStore from "./BlobStore.js"
import type { Delivery, Kind, Task } from "./JobStore.js"
import { isDiskFull, isEnded, status as wireStatus } from "./JobStore.js"
import type { JobStore } from "./JobStore.js"
import type * as MediaFetcher from "./MediaFetcher.js"
import { accepts, describe, imageFormats, sniff } from "./MediaFetcher.js"
import type { Metrics } from "./Metrics.js"
import * as RateLimiter from "./RateLimiter.js"
import type { ServerConfig } from "./ServerConfig.js"

/**
 * What the routes need.
 *
 * @since 0.1.0
 */
export interface Deps {
  readonly config: ServerConfig
  readonly store: JobStore["Type"]
  readonly fetcher: MediaFetcher.Service
  readonly apiKeys: ApiKeys
  readonly limiter: RateLimiter.RateLimiter
  /** The per-key limit kept in the shared database (several processes); replaces `limiter` when set. */
  readonly sharedLimiter?: RateLimiter.Shared | undefined
  /** Where uploads and face crops are stored. */
  readonly blobs: BlobStore.Service
  readonly metrics: Metrics
  readonly signals: Signals.TaskSignals
  /** Image crops written after their task completes: a link may have to wait for (or make) its crop. */
  readonly crops: CropWriter
  /** The current time in ms, from the server's clock. */
  readonly now: () => number
  /** The origin (and path prefix) of links, without a trailing slash. */
  readonly publicUrl: () => string
  /** A task was queued. */
  readonly wake: () => void
  readonly draining: () => boolean
  /** Told about server-side failures (a store error answered as a bare 500); never given keys. */
  readonly log?: (message: string, cause: unknown) => void
  /** Free bytes on the data directory's disk (undefined: unknown); uploads answer 507 below the configured floor. */
  readonly freeDiskBytes?: () => number | undefined
  /** The web console at `/` and the API reference at `/docs` (undefined: off, `FACEDET_CONSOLE=false`). */
  readonly console?: ConsoleAssets | undefined
}

const jsonHeaders = { "content-type": "application/json; charset=utf-8", [PollPolicy.longPoll.header]: "30" } as const
const maxWaitSeconds = Duration.toSeconds(PollPolicy.longPoll.maxWait)
const drainRetryAfterSeconds = 5
const queueFullRetryAfterSeconds = 5
const idempotencyKeyPattern = /^[\x21-\x7e]{1,255}$/
/** A long-poll re-reads the store at least this often: completions by another process have no in-process signal. */
const longPollRereadMs = 5000
/** A JSON body must arrive within this long (a create body is a few hundred bytes; slower is a slowloris). */
const jsonBodyDeadlineMs = 30_000
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false })
const uploadPath = /^\/uploads\/([A-Za-z0-9]{32})$/
/** A result query with one id and no characters that decoding would change. */
const plainResultQuery = /^detect_task_id=([A-Za-z0-9_.~-]{1,128})$/
const facePath = /^\/faces\/([A-Za-z0-9]{32})\.jpg$/

const json = (status: number, body: unknown, route: string, extra: Record<string, string> = {}): Response => ({
  status,
  headers: { ...jsonHeaders, ...extra },
  body: JSON.stringify(body),
  route
})

const ok = (data: unknown, route: string): Response => json(200, { code: 200, message: "success", data }, route)

const text = (body: string, route: string): Response => ({ status: 200, headers: jsonHeaders, body, route })

/**
 * The remembered answers of ended tasks hold at most this many bytes (about 6,000 seven-face results): bounded by
 * size, not count, so the memory it takes does not depend on how many faces the tasks had.
 */
const finishedCacheBytes = 16 * 1024 * 1024

/** Client addresses whose authenticated keys are remembered. */
const trustedAddresses = 10_000

/** Failed authentications per client address: a burst of 20, then one every 2 s. */
const authFailureLimit = { perSecond: 0.5, burst: 20 } as const

/**
 * The envelope answer for an API error: status = code, `Retry-After` when the error says how long to wait.
 *
 * @since 0.1.0
 */
export const errorResponse = (error: FaceDetError.FaceDetError, route: string, close = false): Response => {
  const envelope = FaceDetError.toEnvelope(error)
  const retryAfterMs = "retryAfterMs" in error ? error.retryAfterMs : undefined
  const extra: Record<string, string> =
    retryAfterMs === undefined
      ? {}
      : { [Endpoints.headers.retryAfter]: String(Math.max(1, Math.ceil(retryAfterMs / 1000))) }
  return { ...json(envelope.code, envelope, route, extra), ...(close ? { close: true } : {}) }
}

/** `wait=<seconds>`: a plain decimal number from 0 to 30, else undefined. */
const parseWait = (text: string): number | undefined => {
  const seconds = /^\d+(\.\d+)?$/.test(text) ? Number(text) : Number.NaN
  return seconds >= 0 && seconds <= maxWaitSeconds ? seconds : undefined
}

const invalid = (message: string, path = "") =>
  new FaceDetError.ValidationError({ message, issues: [{ path, message }] })

/** A duration as words for messages: `1 hour`, `90 minutes`, `45 s`. */
const describeDuration = (ms: number): string => {
  if (ms % 3_600_000 === 0) return ms === 3_600_000 ? "one hour" : `${ms / 3_600_000} hours`
  if (ms % 60_000 === 0) return `${ms / 60_000} minute${ms === 60_000 ? "" : "s"}`
  return `${Math.round(ms / 100) / 10} s`
}

/** A query value for a message: at most 64 characters, control characters shown as `?`. */
const shown = (text: string): string =>
  // biome-ignore lint/suspicious/noControlCharactersInRegex: replacing them is the point
  `${text.slice(0, 64).replace(/[\u0000-\u001f\u007f]/g, "?")}${text.length > 64 ? "..." : ""}`

/**
 * The `data` of a result answer, exactly as crun.ai spells it, plus facedet's optional face fields.
 *
 * @since 0.1.0
 */
export const resultData = (task: Task, publicUrl: string): DetectTask.ResultData => {
  const status = wireStatus(task)
  const result =
    status === "succeeded"
      ? {
          id: task.detectId ?? "",
          status: "succeed",
          type: "face_detect",
          hair_id: null,
          faces: (task.faces ?? []).map((f) => ({
            id: f.id,
            link: `${publicUrl}/faces/${f.token}.jpg`,
            box: [...f.box] as [number, number, number, number],
            score: f.score,
            landmarks: f.landmarks as Record<string, [number, number]>,
            ...(f.firstSeenMs !== undefined ? { first_seen_ms: f.firstSeenMs } : {}),
            ...(f.lastSeenMs !== undefined ? { last_seen_ms: f.lastSeenMs } : {})
          })),
          started_at: task.startedAt === undefined ? null : Timestamp.format(task.startedAt),
          finished_at: task.finishedAt === undefined ? null : Timestamp.format(task.finishedAt),
          error: null
        }
      : null
  return {
    detect_task_id: task.id,
    status,
    result,
    error: status === "failed" ? (task.error ?? { code: "Detect.Internal", message: "failed" }) : null
  }
}

/**
 * The result's `callback` extension: where the task's callback stands (pending until the task ends).
 *
 * @since 0.1.0
 */
export const callbackState = (url: string, delivery: Delivery | undefined): DetectTask.CallbackState => ({
  url,
  state: delivery?.state ?? "pending",
  attempts: delivery?.attempts ?? 0,
  last_status: delivery?.lastStatus ?? null,
  next_attempt_at:
    delivery?.state === "pending" && delivery.nextAttemptAt !== undefined
      ? Timestamp.format(delivery.nextAttemptAt)
      : null
})

/**
 * The body a task's callback POSTs: `data` is the result call's, without the callback's own state.
 *
 * @since 0.1.0
 */
export const webhookPayload = (task: Task, publicUrl: string): string =>
  JSON.stringify({ detect_task_id: task.id, status: wireStatus(task), data: resultData(task, publicUrl) })

/**
 * The request handler of a server.
 *
 * @since 0.1.0
 */
export const make = (deps: Deps): ((request: Request) => Effect.Effect<Response>) => {
  const { config, store, metrics } = deps
  const authFailures = RateLimiter.make(authFailureLimit)
  // The key ids that authenticated from each address: still admitted while their address is throttled. Bounded;
  // the oldest addresses go first. Two lookups and no allocation per request: this runs on every call.
  const trusted = new Map<string, Set<string>>()
  const trust = (address: string, owner: string) => {
    const owners = trusted.get(address)
    if (owners !== undefined) {
      if (!owners.has(owner)) owners.add(owner)
      return
    }
    if (trusted.size >= trustedAddresses) trusted.delete(trusted.keys().next().value!)
    trusted.set(address, new Set([owner]))
  }
  // Probes and scrapers poll these; the counts they show need not be fresher than a second.
  let depthCache:
    | { readonly at: number; readonly depth: { readonly queued: number; readonly running: number } }
    | undefined
  const depth = Effect.suspend(() => {
    const now = deps.now()
    if (depthCache !== undefined && now - depthCache.at < 1000) return Effect.succeed(depthCache.depth)
    return Effect.tap(store.depth, (d) => Effect.sync(() => (depthCache = { at: now, depth: d })))
  })
  let openApiText: string | undefined
  const openApi = () =>
    (openApiText ??= JSON.stringify(
      OpenApi.document({ title: "facedet server (crun.ai-compatible face detection)", servers: [deps.publicUrl()] })
    ))

  /**
   * Answers of ended tasks, which never change until the record is swept: a client polling a finished task (the
   * common case) costs a map lookup instead of a store read and a serialisation. Bounded by size; oldest entries
   * go first.
   */
  const finished = new Map<string, { readonly response: Response; readonly until: number; readonly bytes: number }>()
  let finishedBytes = 0
  const forget = (key: string) => {
    const entry = finished.get(key)
    if (entry === undefined) return
    finished.delete(key)
    finishedBytes -= entry.bytes
  }
  const remember = (key: string, response: Response, until: number) => {
    // Two bytes per character of a JavaScript string, plus the key and the entry itself.
    const body = response.body
    const bytes =
      (typeof body === "string" ? 2 * body.length : body instanceof Uint8Array ? body.byteLength : 0) +
      2 * key.length +
      200
    forget(key)
    while (finished.size > 0 && finishedBytes + bytes > finishedCacheBytes) forget(finished.keys().next().value!)
    finished.set(key, { response, until, bytes })
    finishedBytes += bytes
  }

  // The cause goes to the log, not to the client: a store's messages name files and internals.
  const storeFailure = (route: string) => (e: { readonly message: string; readonly unavailable?: boolean }) =>
    Effect.sync(() => {
      deps.log?.(`${route}: ${e.message}`, e)
      // The shared database out of reach is an outage to wait out, not a bug: 455 (service unavailable) with when
      // to retry.
      return e.unavailable === true
        ? errorResponse(
            new FaceDetError.ServiceUnavailable(
              isDiskFull(e)
                ? { message: "the server's disk is full; retry later", retryAfterMs: 30_000 }
                : { message: "the task database is unreachable; retry shortly", retryAfterMs: 2000 }
            ),
            route
          )
        : errorResponse(
            new FaceDetError.ServerError({ message: "internal error: the task store failed; retry shortly" }),
            route
          )
    })

  const uploadToken = (url: string): string | undefined => uploadTokenOf(deps.publicUrl(), url)

  const readJson = (request: Request, route: string): Effect.Effect<unknown, Response> => {
    const refuse = (message: string, close = false) => Effect.fail(errorResponse(invalid(message), route, close))
    const encoding = request.headers["content-encoding"]?.trim().toLowerCase()
    if (encoding !== undefined && encoding !== "" && encoding !== "identity") {
      return refuse(`compressed request bodies (Content-Encoding: ${shown(encoding)}) are not accepted`, true)
    }
    return Body.read(request.raw, config.maxJsonBytes).pipe(
      Effect.timeoutFail({
        duration: Duration.millis(jsonBodyDeadlineMs),
        onTimeout: () =>
          new Body.BodyFailed({ cause: new Error(`it did not arrive within ${jsonBodyDeadlineMs / 1000} s`) })
      }),
      Effect.catchAll((e) =>
        refuse(
          e._tag === "BodyTooLarge" ? `the JSON body is larger than ${config.maxJsonBytes} bytes` : e.message,
          true
        )
      ),
      Effect.flatMap((buffer) => {
        let text: string
        try {
          // A leading byte-order mark is dropped (some Windows tools send one); other invalid UTF-8 is refused.
          text = utf8.decode(buffer)
        } catch {
          return refuse("the JSON body is not valid UTF-8")
        }
        const parsed = Json.parse(text)
        return parsed.ok ? Effect.succeed(parsed.value) : refuse(parsed.message)
      })
    )
  }

  const drainingAnswer = (route: string, message: string) =>
    errorResponse(
      new FaceDetError.ServiceUnavailable({ message, retryAfterMs: drainRetryAfterSeconds * 1000 }),
      route,
      true
    )

  const create = (request: Request, owner: string, kind: Kind, route: string) =>
    Effect.gen(function* () {
      const drainingMessage = "the server is shutting down and takes no new tasks; retry shortly"
      const idempotencyKey = request.headers[Endpoints.headers.idempotencyKey]
      // A retried create (same Idempotency-Key) replays its task even while draining: its body must be read first.
      if (deps.draining() && idempotencyKey === undefined) return drainingAnswer(route, drainingMessage)
      if (
        idempotencyKey !== undefined &&
        (typeof idempotencyKey !== "string" || !idempotencyKeyPattern.test(idempotencyKey))
      ) {
        return errorResponse(
          invalid("Idempotency-Key must be 1..255 printable ASCII characters", "Idempotency-Key"),
          route,
          true
        )
      }
      const body = yield* readJson(request, route)
      const decoded =
        kind === "image"
          ? Either.map(
              Wire.decodeRequest(DetectTask.CreateImageBody, body),
              (b) => [b.image_url, b.callback_url] as const
            )
          : Either.map(
              Wire.decodeRequest(DetectTask.CreateVideoBody, body),
              (b) => [b.video_url, b.callback_url] as const
            )
      if (Either.isLeft(decoded)) return errorResponse(decoded.left, route)
      const field = kind === "image" ? "image_url" : "video_url"
      const [url, callbackUrl] = decoded.right
      const requestHash =
        idempotencyKey === undefined
          ? undefined
          : createHash("sha256")
              .update(`${kind}\n${url}${callbackUrl === undefined ? "" : `\n${callbackUrl}`}`)
              .digest("hex")
      if (idempotencyKey !== undefined) {
        // The original task is the answer to a retry, whatever happened since (the upload expired, a drain began).
        const previous = yield* store.findIdempotent(owner, idempotencyKey)
        if (Option.isSome(previous)) {
          return previous.value.requestHash === requestHash
            ? ok({ detect_task_id: previous.value.task.id }, route)
            : errorResponse(
                invalid("this Idempotency-Key was already used with a different request body", "Idempotency-Key"),
                route
              )
        }
      }
      // The drain may have begun while the body arrived.
      if (deps.draining()) return drainingAnswer(route, drainingMessage)
      if (callbackUrl !== undefined) {
        // The same address rules as media URLs, judged now so a refused receiver is a 422, not a silent failure.
        const checked = deps.fetcher.checkUrl(callbackUrl)
        if (Either.isLeft(checked)) {
          return errorResponse(invalid(`callback_url: ${checked.left.message}`, "callback_url"), route)
        }
      }
      const token = uploadToken(url)
      if (token !== undefined) {
        const file = yield* store.getMedia(token)
        // Another key's upload is as unknown as a missing one.
        if (Option.isNone(file) || file.value.kind !== "upload" || (file.value.owner ?? owner) !== owner) {
          return errorResponse(
            invalid(
              `${field}: this upload URL is unknown or has expired (uploads last ${describeDuration(config.mediaTtlMs)})`,
              field
            ),
            route
          )
        }
        // The upload's format was sniffed when it arrived: a video sent as an image (or the reverse) is a 422 now.
        const format = file.value.contentType.split("/")[1] as MediaFetcher.MediaFormat
        if (!accepts(kind, format)) {
          const other = kind === "image" ? "detect-face-video as video_url" : "detect-face-image as image_url"
          return errorResponse(
            invalid(
              `${field}: the uploaded file is ${format}, which is not ${kind === "image" ? "an image" : "a video"} format; send it to ${other}`,
              field
            ),
            route
          )
        }
      } else {
        const checked = deps.fetcher.checkUrl(url)
        if (Either.isLeft(checked)) return errorResponse(invalid(`${field}: ${checked.left.message}`, field), route)
      }
      const created = yield* store.create({
        id: TaskId.makeDetectTaskId((n) => crypto.getRandomValues(new Uint8Array(n))),
        kind,
        mediaUrl: url,
        owner,
        idempotencyKey,
        requestHash,
        queueLimit: config.queueSize,
        ownerLimit: config.keyMaxTasks,
        callbackUrl,
        uploadToken: token
      })
      if (created.created) {
        metrics.taskCreated(kind)
        deps.wake()
      }
      // A key's first callback creates its signing secret; this answer is the only place it is ever shown.
      const secret =
        callbackUrl === undefined
          ? undefined
          : yield* store.ensureWebhookSecret(owner, () =>
              Webhook.makeSecret((n) => crypto.getRandomValues(new Uint8Array(n)))
            )
      if (secret?.created) deps.log?.(`generated a webhook signing secret for API key ${owner}`, undefined)
      return ok(
        { detect_task_id: created.task.id, ...(secret?.created ? { webhook_secret: secret.secret } : {}) },
        route
      )
    }).pipe(
      Effect.catchTags({
        QueueFull: (e) =>
          Effect.succeed(
            errorResponse(
              new FaceDetError.RateLimited({ message: e.message, retryAfterMs: queueFullRetryAfterSeconds * 1000 }),
              route
            )
          ),
        OwnerQuotaExceeded: (e) =>
          Effect.succeed(
            errorResponse(
              new FaceDetError.RateLimited({ message: e.message, retryAfterMs: queueFullRetryAfterSeconds * 1000 }),
              route
            )
          ),
        IdempotencyConflict: (e) => Effect.succeed(errorResponse(invalid(e.message, "Idempotency-Key"), route)),
        StoreError: storeFailure(route)
      }),
      Effect.merge
    )

  const result = (request: Request, owner: string, route: string) =>
    Effect.gen(function* () {
      const ids = request.query.getAll("detect_task_id")
      const waits = request.query.getAll("wait")
      for (const [name, values] of [
        ["detect_task_id", ids],
        ["wait", waits]
      ] as const) {
        if (values.length > 1) return errorResponse(invalid(`${name} is given more than once`, name), route)
      }
      const id = ids[0]
      if (id === undefined || id.trim() === "") {
        return errorResponse(invalid("detect_task_id is required", "detect_task_id"), route)
      }
      const waitText = waits[0]
      const waitSeconds = waitText === undefined ? 0 : parseWait(waitText)
      if (waitSeconds === undefined) {
        return errorResponse(invalid(`wait must be a number of seconds from 0 to ${maxWaitSeconds}`, "wait"), route)
      }
      // An ended task's remembered answer was already served (or dropped, when expired) by `api`.
      const found = yield* store.get(id)
      // Another key's task is as unknown as a missing one.
      if (Option.isNone(found) || found.value.owner !== owner) {
        return errorResponse(new FaceDetError.NotFound({ message: `no detection task ${shown(id)}` }), route)
      }
      let task = found.value
      if (waitSeconds > 0 && !isEnded(task) && !deps.draining()) {
        const until = (yield* Clock.currentTimeMillis) + waitSeconds * 1000
        task = yield* Effect.scoped(
          Effect.gen(function* () {
            // Listen first, then read: an end between the read and the wait still wakes this request.
            const listener = yield* deps.signals.listen(id)
            let current = task
            for (;;) {
              const again = yield* store.get(id)
              if (Option.isNone(again)) return current
              current = again.value
              const left = until - (yield* Clock.currentTimeMillis)
              if (isEnded(current) || deps.draining() || left <= 0) return current
              yield* listener.wait(Math.min(left, longPollRereadMs))
            }
          })
        )
      }
      let data: DetectTask.ResultData = resultData(task, deps.publicUrl())
      if (task.callbackUrl !== undefined) {
        const delivery = yield* store.delivery(task.id)
        data = { ...data, callback: callbackState(task.callbackUrl, Option.getOrUndefined(delivery)) }
      }
      const response = text(JSON.stringify({ code: 200, message: "success", data }), route)
      // A callback's state still changes after the task ends: such answers are not remembered.
      if (isEnded(task) && task.finishedAt !== undefined && task.callbackUrl === undefined) {
        remember(`${owner}\n${id}`, response, task.finishedAt + config.taskRetentionMs)
      }
      return response
    }).pipe(Effect.catchTag("StoreError", storeFailure(route)), Effect.merge)

  /** A server-side failure while storing an upload: a generic 500 for the client, the details for the log. */
  const uploadFault = (route: string, cause: unknown) =>
    Effect.sync(() => {
      deps.log?.(`${route}: storing an upload failed`, cause)
      if (isDiskFull(cause)) return insufficientStorage(route)
      return errorResponse(
        new FaceDetError.ServerError({ message: "internal error: the upload could not be stored; retry shortly" }),
        route,
        true
      )
    })

  const insufficientStorage = (route: string): Response =>
    json(
      507,
      {
        code: 507,
        message: "the server is short of disk space and takes no uploads for now; retry later or send a media URL",
        data: null
      },
      route,
      { connection: "close" }
    )

  const upload = (request: Request, owner: string, route: string) =>
    Effect.gen(function* () {
      if (deps.draining()) return drainingAnswer(route, "the server is shutting down; retry shortly")
      const free = deps.freeDiskBytes?.()
      if (free !== undefined && free < config.minFreeDiskBytes) return insufficientStorage(route)
      const used = yield* store.uploadBytes(owner)
      const quotaLeft = config.keyMaxUploadBytes - used
      const declared = Number(request.headers["content-length"])
      if (quotaLeft <= 0 || (Number.isFinite(declared) && declared > quotaLeft)) {
        return errorResponse(
          new FaceDetError.RateLimited({
            message: `this API key's uploads hold ${used} bytes (limit ${config.keyMaxUploadBytes}) until they expire; detect or wait for them first`,
            retryAfterMs: 60_000
          }),
          route,
          true
        )
      }
      const kindLimit = Math.max(config.maxImageBytes, config.maxVideoBytes)
      const token = TaskId.makeToken((n) => crypto.getRandomValues(new Uint8Array(n)))
      const blobPath = join("uploads", token)
      // Written on local disk first (limits and format checks as it arrives), then taken into the file store.
      const path = deps.blobs.staging(blobPath)
      // Once the first bytes say what the file is, its kind's limit applies (an image stops at the image limit, not
      // the video one), and bytes that are no media at all stop at once instead of filling the disk.
      const limitFor = (head: Uint8Array): number | "refuse" => {
        const format = sniff(head)
        if (format === undefined) return "refuse"
        return Math.min(
          quotaLeft,
          imageFormats.has(format) && !accepts("video", format) ? config.maxImageBytes : kindLimit
        )
      }
      const stored = yield* Body.toFile(request.raw, path, Math.min(kindLimit, quotaLeft), { limitFor }).pipe(
        Effect.map((s) => ({ ok: true as const, stored: s })),
        Effect.catchAll((e) => Effect.succeed({ ok: false as const, error: e }))
      )
      if (!stored.ok) {
        const e = stored.error
        if (e._tag === "BodyWriteFailed") return yield* uploadFault(route, e.cause)
        const message =
          e._tag === "BodyTooLarge"
            ? `the upload is larger than ${e.limit} bytes`
            : e._tag === "BodyRefused"
              ? `the upload is not a supported image or video (it looks like ${describe(e.head)})`
              : e.message
        return errorResponse(invalid(message, "body"), route, true)
      }
      const format = sniff(stored.stored.head)
      const refuse = (message: string) =>
        Effect.sync(() => {
          Body.remove(path)
          return errorResponse(invalid(message, "body"), route)
        })
      if (stored.stored.size === 0) return yield* refuse("the upload is empty")
      if (format === undefined) {
        return yield* refuse(
          `the upload is not a supported image or video (it looks like ${describe(stored.stored.head)})`
        )
      }
      const adopted = yield* Effect.either(deps.blobs.adopt(blobPath, path))
      if (adopted._tag === "Left") {
        Body.remove(path)
        return adopted.left.unavailable === true
          ? yield* storeFailure(route)(adopted.left)
          : yield* uploadFault(route, adopted.left)
      }
      const now = yield* Clock.currentTimeMillis
      const expiresAt = now + config.mediaTtlMs
      yield* store
        .putMedia({
          token,
          kind: "upload",
          path: blobPath,
          contentType: imageFormats.has(format) ? `image/${format}` : `video/${format}`,
          size: stored.stored.size,
          expiresAt,
          owner
        })
        .pipe(Effect.tapError(() => Effect.ignore(deps.blobs.remove([blobPath]))))
      return ok(
        {
          url: `${deps.publicUrl()}/uploads/${token}`,
          format,
          size: stored.stored.size,
          expires_at: Timestamp.format(expiresAt)
        },
        route
      )
    }).pipe(Effect.catchTag("StoreError", storeFailure(route)), Effect.merge)

  const faceGone = (route: string) =>
    errorResponse(new FaceDetError.NotFound({ message: "this face link has expired or does not exist" }), route)

  const face = (token: string, route: string) =>
    Effect.gen(function* () {
      const found = yield* store.getMedia(token)
      if (Option.isNone(found) || found.value.kind !== "crop" || found.value.taskId === undefined)
        return faceGone(route)
      const file = found.value
      let body = yield* deps.blobs.body(file.path)
      if (Option.isNone(body)) {
        // An image's crops are written just after its task completes: wait for (or make) this one.
        const task = yield* store.get(file.taskId!)
        const stored = Option.isSome(task) ? task.value.faces?.find((f) => f.token === token) : undefined
        if (stored === undefined) return faceGone(route)
        const written = yield* deps.crops.ensure({ taskId: file.taskId!, box: stored.box, path: file.path })
        if (written) body = yield* deps.blobs.body(file.path)
        if (Option.isNone(body)) return faceGone(route)
      }
      const maxAge = Math.max(0, Math.floor((file.expiresAt - deps.now()) / 1000))
      const response: Response = {
        status: 200,
        headers: {
          "content-type": "image/jpeg",
          // Cached no longer than the link lives.
          "cache-control": `private, max-age=${maxAge}`,
          "x-content-type-options": "nosniff"
        },
        body: body.value,
        route
      }
      return response
    }).pipe(
      Effect.catchTag("BlobError", storeFailure(route)),
      Effect.catchTag("StoreError", storeFailure(route)),
      Effect.merge
    )

  const notFound = (request: Request) =>
    errorResponse(new FaceDetError.NotFound({ message: `no route for ${request.method} ${request.path}` }), "unmatched")

  // Authentication, rate limiting and the answer of an ended task are synchronous: the result call, polled by
  // every client, costs no more than it must.
  const api = (request: Request): Effect.Effect<Response> => {
    const route = routeOf(request)
    const key = request.headers[Endpoints.headers.apiKey]
    // Failed authentications are throttled per client address: past the burst, the address gets 429 whatever key
    // it sends, so guessing costs time. Except for keys that already authenticated from that address before: one
    // client with a stale key behind a NAT or a proxy must not lock out the others there. (Checking the key first
    // costs a SHA-256 of at most 1 KiB.)
    const address = `auth:${request.raw.socket?.remoteAddress ?? "unknown"}`
    const owner = deps.apiKeys.verify(typeof key === "string" ? key : undefined)
    const blockedMs = authFailures.peek(address, deps.now())
    if (blockedMs > 0 && (owner === undefined || trusted.get(address)?.has(owner) !== true)) {
      return Effect.succeed(
        errorResponse(
          new FaceDetError.RateLimited({
            message: "too many requests with a missing or invalid API key from this address; wait and check the key",
            retryAfterMs: blockedMs
          }),
          route,
          true
        )
      )
    }
    if (owner === undefined) {
      authFailures.take(address, deps.now())
      return Effect.succeed(
        errorResponse(
          new FaceDetError.Unauthorized({
            message: key === undefined ? "missing API key: send it in the x-api-key header" : "invalid API key"
          }),
          route,
          true
        )
      )
    }
    trust(address, owner)
    if (deps.sharedLimiter !== undefined) {
      return Effect.flatMap(deps.sharedLimiter.take(owner), (waitMs) =>
        waitMs > 0 ? Effect.succeed(rateLimited(route, waitMs)) : admitted(request, owner, route)
      )
    }
    const waitMs = deps.limiter.take(owner, deps.now())
    if (waitMs > 0) return Effect.succeed(rateLimited(route, waitMs))
    return admitted(request, owner, route)
  }

  const rateLimited = (route: string, waitMs: number) =>
    errorResponse(
      new FaceDetError.RateLimited({ message: "rate limit exceeded for this API key", retryAfterMs: waitMs }),
      route,
      true
    )

  /** An authenticated request within its key's rate limit. */
  const admitted = (request: Request, owner: string, route: string): Effect.Effect<Response> => {
    const now = deps.now()
    if (request.path === Endpoints.paths.result && request.method === "GET") {
      // The shape every poller sends, `detect_task_id=<id>` with nothing to decode, skips the query parser.
      const plain = plainResultQuery.exec(request.search)
      const ids = plain !== null ? [plain[1]!] : request.query.getAll("detect_task_id")
      // Keys always hold a newline, so "" (not exactly one id) finds nothing.
      const cacheKey = ids.length === 1 ? `${owner}\n${ids[0]}` : ""
      const cached = finished.get(cacheKey)
      if (cached !== undefined && cached.until <= now) {
        forget(cacheKey)
      } else if (cached !== undefined) {
        const waits = plain !== null ? [] : request.query.getAll("wait")
        // A bad `wait` goes on to `result`, which answers it with a 422.
        if (waits.length === 0 || (waits.length === 1 && parseWait(waits[0]!) !== undefined)) {
          return Effect.succeed(cached.response)
        }
      }
    }
    return routeApi(request, owner, route)
  }

  const routeApi = (request: Request, owner: string, route: string) =>
    Effect.gen(function* () {
      const { method, path } = request
      const { paths } = Endpoints
      if (path === paths.result && method === "GET") return yield* result(request, owner, route)
      if (path === paths.createImage && method === "POST") return yield* create(request, owner, "image", route)
      if (path === paths.createVideo && method === "POST") return yield* create(request, owner, "video", route)
      if (path === paths.upload && method === "POST") return yield* upload(request, owner, route)
      if ((path === paths.createTask && method === "POST") || (path === paths.taskInfo && method === "GET")) {
        return errorResponse(
          new FaceDetError.FeatureDisabled({
            message: "face swapping (CreateTask, TaskInfo) is not available on this server: it only detects faces"
          }),
          route,
          true
        )
      }
      return notFound(request)
    })

  return (request) => {
    const { method, path } = request
    if (path.startsWith("/api/")) return api(request)
    if (method === "GET") {
      const faceMatch = facePath.exec(path)
      if (faceMatch) return face(faceMatch[1]!, "/faces/:token.jpg")
      switch (path) {
        case "/healthz":
          return Effect.succeed(ok({ status: "ok" }, path))
        case "/readyz":
          return deps.draining()
            ? Effect.succeed(
                errorResponse(
                  new FaceDetError.ServiceUnavailable({
                    message: "draining for shutdown",
                    retryAfterMs: drainRetryAfterSeconds * 1000
                  }),
                  path
                )
              )
            : Effect.map(depth, (d) => ok({ status: "ready", ...d }, path)).pipe(
                Effect.catchTag("StoreError", storeFailure(path))
              )
        case "/metrics":
          return Effect.map(depth, (d) => ({
            status: 200,
            headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
            body: metrics.render(d),
            route: path
          })).pipe(Effect.catchTag("StoreError", storeFailure(path)))
        case "/openapi.json":
          return Effect.succeed({ status: 200, headers: jsonHeaders, body: openApi(), route: path })
      }
      const page = deps.console?.serve(path, request.headers)
      if (page !== undefined) return Effect.succeed(page)
    }
    return Effect.succeed(notFound(request))
  }
}

const knownRoutes: ReadonlySet<string> = new Set(Object.values(Endpoints.paths))

/** The metrics label of an API path: the path itself when it is a known route, else "unmatched". */
const routeOf = (request: Request): string => (knownRoutes.has(request.path) ? request.path : "unmatched")

/**
 * Recognises this server's upload URLs (exact origin and path); the token, or undefined.
 *
 * @since 0.1.0
 */
export const uploadTokenOf = (publicUrl: string, url: string): string | undefined => {
  if (!url.startsWith(`${publicUrl}/uploads/`)) return undefined
  return uploadPath.exec(url.slice(publicUrl.length))?.[1]
}
