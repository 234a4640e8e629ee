/**
 * The client for plain Promise code: the Effect service run over `fetch`, with `AbortSignal`s instead of fiber
 * interruption. Every rejection is a `FaceDetError` (core's taxonomy); an abort rejects at once with
 * `TransportError` `reason: "Aborted"` (during a request, a backoff or a poll sleep alike).
 *
 * **Example**
 *
 * ```ts
 * import { createFaceDetClient } from "@facedet/node-client"
 *
 * const client = createFaceDetClient({ apiKey: process.env.FACEDET_API_KEY! })
 * const done = await client.detectFaces({ imageUrl: "https://example.com/group.jpg" })
 * console.log(done.result.id, done.result.faces)
 * ```
 *
 * @since 0.1.0
 */
import {
  FaceDetError as Core,
  type DetectTask,
  type MediaFormat,
  type PollPolicy,
  type RetryPolicy,
  type SwapTask
} from "@facedet/core"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import * as FaceDetClient from "./FaceDetClient.js"
import { checkHeaders } from "./internal/settings.js"
import { type CallOverrides, currentCallOverrides, currentDispatch } from "./internal/transport.js"
import type { UploadData } from "./Upload.js"

/**
 * Options of {@link createFaceDetClient}.
 *
 * @since 0.1.0
 * @category Models
 */
export interface ClientOptions {
  /** The API key, sent as `x-api-key` (never logged). Default: `FACEDET_API_KEY` where the runtime has an environment. */
  readonly apiKey?: string | undefined
  /** Default `FACEDET_BASE_URL`, else `https://api.crun.ai`; a facedet server's URL otherwise. */
  readonly baseUrl?: string | undefined
  /** Retries after the first attempt of a call. Default 2 (a persistent 500 on a read is tried 3 times). */
  readonly maxRetries?: number | undefined
  /** Per-request timeout in ms (each attempt). Default 30 000. */
  readonly timeoutMs?: number | undefined
  /** Also retry creates after ambiguous failures (500, timeouts, dropped connections). Default false. */
  readonly retryCreates?: boolean | undefined
  /** A `fetch` to use instead of the global one (a proxy-aware fetch, a test double). Called as a plain function. */
  readonly fetch?: typeof globalThis.fetch | undefined
  /** Backoff tuning (durations in ms). */
  readonly retry?: Omit<RetryPolicy.Options, "maxRetries" | "while"> | undefined
  /** Poll schedule tuning (durations in ms). */
  readonly poll?: PollPolicy.Options | undefined
  /** Replaces `facedet-node-client/<version>`. */
  readonly userAgent?: string | undefined
  /** Headers sent with every request; a call's `headers` win over them, and neither can replace `x-api-key`. */
  readonly defaultHeaders?: Readonly<Record<string, string>> | undefined
}

/**
 * @since 0.1.0
 * @category Models
 */
export interface CallOptions {
  /** Aborting rejects the call at once with `TransportError` `reason: "Aborted"`. */
  readonly signal?: AbortSignal | undefined
  /** This call's retries after its first attempt, instead of the client's `maxRetries`. */
  readonly maxRetries?: number | undefined
  /** Extra headers for this call's requests (they cannot replace `x-api-key`). */
  readonly headers?: Readonly<Record<string, string>> | undefined
}

/**
 * A single request's call: `timeoutMs` bounds each attempt, instead of the client's.
 *
 * @since 0.1.0
 * @category Models
 */
export interface RequestCallOptions extends CallOptions {
  /** Per-attempt timeout of this call in ms. */
  readonly timeoutMs?: number | undefined
}

/**
 * @since 0.1.0
 * @category Models
 */
export interface CreateCallOptions extends RequestCallOptions, FaceDetClient.CreateOptions {}

/**
 * @since 0.1.0
 * @category Models
 */
export interface WaitCallOptions<A> extends CallOptions {
  /** Overall deadline in ms. Default 5 min (image), 15 min (video, swap tasks); `Infinity` waits as long as it takes. */
  readonly timeoutMs?: number | undefined
  /** Sees the first snapshot and each new status. An exception it throws rejects the call as is. */
  readonly onUpdate?: ((snapshot: A) => void) | undefined
  /** The kind of media, for the default deadline of a task this client did not create. */
  readonly kind?: MediaFormat.MediaKind | undefined
}

/**
 * @since 0.1.0
 * @category Models
 */
export interface DetectFacesCallOptions extends WaitCallOptions<DetectTask.ResultData>, CreateCallOptions {
  /** Called as soon as the task exists (persist `detect_task_id` to resume an interrupted wait). */
  readonly onCreated?: ((data: DetectTask.CreateData) => void) | undefined
}

/**
 * @since 0.1.0
 * @category Models
 */
export interface UploadCallOptions extends CallOptions {
  /** Per-request timeout of the upload in ms. Default: the client's. */
  readonly timeoutMs?: number | undefined
}

/**
 * The Promise client.
 *
 * @since 0.1.0
 * @category Models
 */
export interface PromiseClient {
  /** The base URL calls go to. */
  readonly baseUrl: string
  /** The same client as an Effect service (shares this client's memory of detections and server features). */
  readonly service: FaceDetClient.Service
  /** Creates an image detection: `{ detect_task_id }`. */
  detectImage(imageUrl: string, options?: CreateCallOptions): Promise<DetectTask.CreateData>
  /** Creates a video / animated GIF detection: `{ detect_task_id }`. */
  detectVideo(videoUrl: string, options?: CreateCallOptions): Promise<DetectTask.CreateData>
  /** The task's current `data`, as on the wire; a `failed` task resolves (it is data here). */
  getResult(detectTaskId: string, options?: RequestCallOptions): Promise<DetectTask.ResultData>
  /** Waits for the task: its `succeeded` data; rejects with `DetectionFailed`, `WaitTimeout`, ... */
  waitForResult(detectTaskId: string, options?: WaitCallOptions<DetectTask.ResultData>): Promise<DetectTask.Succeeded>
  /** Creates a detection and waits for it. */
  detectFaces(media: FaceDetClient.Media, options?: DetectFacesCallOptions): Promise<DetectTask.Succeeded>
  /** Creates a face-swap task: `{ task_id }` (multi-face swaps are checked against what this client detected). */
  createTask(request: FaceDetClient.SwapRequest, options?: CreateCallOptions): Promise<SwapTask.CreateTaskData>
  /** Any task's info. */
  getTaskInfo(taskId: string, options?: RequestCallOptions): Promise<SwapTask.TaskInfoData>
  /** Waits until `TaskInfo` shows a terminal status; resolves with that data, a failed one included. */
  waitForTask(
    taskId: string,
    options?: Omit<WaitCallOptions<SwapTask.TaskInfoData>, "kind">
  ): Promise<SwapTask.TaskInfoData>
  /** facedet servers: uploads media bytes, resolves `{ url }` usable as image_url / video_url for an hour. */
  uploadMedia(bytes: Uint8Array, contentType: string, options?: UploadCallOptions): Promise<UploadData>
  /** What this client knows of a detect_id it saw succeed (media, face ids, `expiresAt`). */
  detection(detectId: string): FaceDetClient.Detection | undefined
  /**
   * Whether the server is a facedet server (it has the upload call) and whether it long-polls: from the answers
   * this client already had, or one small request before the first. Rejects only when no answer comes.
   */
  serverInfo(options?: RequestCallOptions): Promise<FaceDetClient.ServerInfo>
}

/**
 * Options are checked by the Effect service, which calls the per-request and wait deadlines `timeout`; here they
 * are `timeoutMs`, and a `ValidationError` should name what the caller wrote.
 */
const promiseNames = <E>(error: E): E => {
  if (!Core.is("ValidationError")(error) || !error.issues.some((i) => i.path === "timeout")) return error
  const issues = error.issues.map((i) => (i.path === "timeout" ? { ...i, path: "timeoutMs" } : i))
  return new Core.ValidationError({ issues }) as E
}

const aborted = (requestSent: boolean, cause: unknown) =>
  new Core.TransportError({
    message: requestSent ? "aborted by the caller (a request had already been sent)" : "aborted by the caller",
    requestSent,
    reason: "Aborted",
    ...(cause === undefined ? {} : { cause })
  })

/**
 * Runs one call: resolves with its value, rejects with its `FaceDetError`, or, when `signal` aborts, rejects at
 * once with an `Aborted` `TransportError` while the call is interrupted (its sleeps and requests stop).
 */
const run = <A>(
  effect: Effect.Effect<A, Core.FaceDetError>,
  options: CallOptions,
  attemptTimeoutMs?: number | undefined
): Promise<A> =>
  new Promise<A>((resolve, reject) => {
    const signal = options.signal
    const issues: Array<{ path: string; message: string }> = []
    const { maxRetries, headers } = options
    if (maxRetries !== undefined && (!Number.isInteger(maxRetries) || maxRetries < 0 || maxRetries > 100)) {
      issues.push({ path: "maxRetries", message: "must be an integer from 0 to 100" })
    }
    if (attemptTimeoutMs !== undefined && !(Number.isFinite(attemptTimeoutMs) && attemptTimeoutMs > 0)) {
      issues.push({ path: "timeoutMs", message: "must be a positive, finite number of milliseconds" })
    }
    checkHeaders(issues, "headers", headers)
    if (issues.length > 0) {
      reject(new Core.ValidationError({ issues }))
      return
    }
    const overrides: CallOverrides | undefined =
      maxRetries === undefined && headers === undefined && attemptTimeoutMs === undefined
        ? undefined
        : {
            maxRetries,
            headers,
            ...(attemptTimeoutMs === undefined ? {} : { timeout: Duration.millis(attemptTimeoutMs) })
          }
    if (overrides !== undefined) effect = Effect.locally(effect, currentCallOverrides, overrides)
    if (signal?.aborted) {
      reject(aborted(false, signal.reason))
      return
    }
    const dispatch = { sent: false }
    const fiber = Effect.runFork(Effect.locally(effect, currentDispatch, dispatch))
    const onAbort = () => {
      reject(aborted(dispatch.sent, signal?.reason))
      fiber.unsafeInterruptAsFork(FiberId.none)
    }
    signal?.addEventListener("abort", onAbort, { once: true })
    fiber.addObserver((exit) => {
      signal?.removeEventListener("abort", onAbort)
      if (Exit.isSuccess(exit)) return resolve(exit.value)
      const failure = Cause.failureOption(exit.cause)
      // originalError: Effect wraps errors that cross a span in a proxy; hand the caller the error itself.
      if (Option.isSome(failure)) return reject(promiseNames(Cause.originalError(failure.value)))
      if (Cause.isInterruptedOnly(exit.cause)) return reject(aborted(dispatch.sent, undefined))
      // A defect: an exception thrown by the caller's own callback (onUpdate, onCreated, fetch).
      reject(Cause.originalError(Cause.squash(exit.cause)))
    })
  })

const sync =
  <A>(f: ((a: A) => void) | undefined) =>
  (a: A): Effect.Effect<void> =>
    f === undefined ? Effect.void : Effect.sync(() => f(a))

const waitOptions = <A>(options: WaitCallOptions<A>) => ({
  timeout: options.timeoutMs,
  onUpdate: sync(options.onUpdate),
  kind: options.kind
})

/** The runtime's environment variables where it has them (Node, Bun, Deno's Node compatibility); none in browsers. */
const environment = (): Readonly<Record<string, string | undefined>> => {
  try {
    const env = (globalThis as { readonly process?: { readonly env?: Record<string, string | undefined> } }).process
      ?.env
    return env ?? {}
  } catch {
    // Deno without --allow-env throws on access.
    return {}
  }
}

/**
 * Creates a client over `fetch` (the global one, or `options.fetch`). Throws a `ValidationError` (a
 * `FaceDetError`) naming a bad option, e.g. a missing API key.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const createFaceDetClient = (options: ClientOptions = {}): PromiseClient => {
  const { fetch, timeoutMs, apiKey, baseUrl, ...rest } = options ?? ({} as ClientOptions)
  const env = environment()
  const key = apiKey ?? env.FACEDET_API_KEY
  const base = baseUrl ?? env.FACEDET_BASE_URL
  const built = Effect.runSync(
    Effect.either(
      FaceDetClient.make({
        ...rest,
        apiKey: key as string,
        ...(base === undefined || base === "" ? {} : { baseUrl: base }),
        timeout: timeoutMs
      }).pipe(Effect.provide(FaceDetClient.fetchHttpClient(fetch)))
    )
  )
  if (Either.isLeft(built)) throw promiseNames(built.left)
  const service = built.right
  return {
    baseUrl: service.baseUrl,
    service,
    detectImage: (imageUrl, o = {}) => run(service.detectImage(imageUrl, o), o, o.timeoutMs),
    detectVideo: (videoUrl, o = {}) => run(service.detectVideo(videoUrl, o), o, o.timeoutMs),
    getResult: (detectTaskId, o = {}) => run(service.getResult(detectTaskId), o, o.timeoutMs),
    waitForResult: (detectTaskId, o = {}) => run(service.waitForResult(detectTaskId, waitOptions(o)), o),
    detectFaces: (media, o = {}) =>
      run(
        service.detectFaces(media, {
          ...waitOptions(o),
          idempotencyKey: o.idempotencyKey,
          callbackUrl: o.callbackUrl,
          embeddings: o.embeddings,
          onCreated: sync(o.onCreated)
        }),
        o
      ),
    createTask: (request, o = {}) => run(service.createTask(request, o), o, o.timeoutMs),
    getTaskInfo: (taskId, o = {}) => run(service.getTaskInfo(taskId), o, o.timeoutMs),
    waitForTask: (taskId, o = {}) =>
      run(service.waitForTask(taskId, { timeout: o.timeoutMs, onUpdate: sync(o.onUpdate) }), o),
    uploadMedia: (bytes, contentType, o = {}) =>
      run(service.uploadMedia(bytes, contentType, { timeout: o.timeoutMs }), o),
    detection: (detectId) => Option.getOrUndefined(Effect.runSync(service.detection(detectId))),
    serverInfo: (o = {}) => run(service.serverInfo, o, o.timeoutMs)
  }
}
