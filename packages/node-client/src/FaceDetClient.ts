/**
 * The typed client, as an Effect service: one client for crun.ai and for the self-hosted facedet server (same wire
 * format), built on an injected `HttpClient` from `@effect/platform`.
 *
 * Every method returns the wire `data` object (snake_case, unknown fields kept) or fails with an error of core's
 * taxonomy (`FaceDetError`). Retries follow core's `RetryPolicy` (a create, which is billed, is retried only when
 * that cannot bill twice), waits follow core's `PollPolicy` with an overall deadline, and a facedet server's
 * long-poll advertisement (`x-facedet-long-poll`) is used when seen.
 *
 * **Example**
 *
 * ```ts
 * import { Effect } from "effect"
 * import { FaceDetClient } from "@facedet/node-client"
 *
 * const program = Effect.gen(function* () {
 *   const client = yield* FaceDetClient.FaceDetClient
 *   const done = yield* client.detectFaces({ imageUrl: "https://example.com/group.jpg" })
 *   return done.result.faces
 * })
 *
 * Effect.runPromise(program.pipe(Effect.provide(FaceDetClient.layerFetchConfig())))
 * ```
 *
 * @since 0.1.0
 */
import {
  type DetectTask,
  Endpoints,
  type FaceDetError,
  type PollPolicy,
  type RetryPolicy,
  type SwapTask
} from "@facedet/core"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import type * as Stream from "effect/Stream"
import type { z } from "zod"
import type { Detection as TrackedDetection, MediaKind } from "./internal/detections.js"
import * as internal from "./internal/client.js"
import type * as Upload from "./Upload.js"

/**
 * Client options.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Options {
  /** The API key, sent as `x-api-key`. Held as `Redacted` so it never shows in logs. */
  readonly apiKey: Redacted.Redacted<string> | string
  /** Default `https://api.crun.ai`; a facedet server's URL (a path prefix is kept). */
  readonly baseUrl?: string | undefined
  /** Retries after the first attempt of a call. Default 2: a persistent 500 on a read is tried 3 times. */
  readonly maxRetries?: number | undefined
  /** Per-request timeout (each attempt). Default 30 s. */
  readonly timeout?: Duration.DurationInput | undefined
  /**
   * Also retry a create after an ambiguous failure (500/502/504, a timeout or a dropped connection after the
   * request left), when the task may already exist and be billed. Default false. The same `Idempotency-Key` is
   * sent on every attempt, which the facedet server uses to answer the original task; crun.ai documents no such
   * de-duplication.
   */
  readonly retryCreates?: boolean | undefined
  /** Backoff tuning (core's `RetryPolicy` options, except `maxRetries` and `while`). */
  readonly retry?: Omit<RetryPolicy.Options, "maxRetries" | "while"> | undefined
  /** Poll schedule tuning (core's `PollPolicy` options). */
  readonly poll?: PollPolicy.Options | undefined
  /** Replaces `facedet-node-client/<version>`. Never sent from browsers. */
  readonly userAgent?: string | undefined
  /** Headers sent with every request (e.g. a proxy's); they cannot replace `x-api-key`. */
  readonly defaultHeaders?: Readonly<Record<string, string>> | undefined
}

/**
 * Options of a create call.
 *
 * @since 0.1.0
 * @category Models
 */
export interface CreateOptions {
  /**
   * The `Idempotency-Key` to send (1-255 visible ASCII characters). Default: a new UUID per call, kept across its
   * retries. Persist and pass your own to make a create you repeat after a crash return the same task (facedet).
   */
  readonly idempotencyKey?: string | undefined
  /**
   * facedet: an http(s) URL the server POSTs a signed callback to when the task ends (`callback_url`); check it
   * with `verifyWebhook`. The server refuses private addresses unless it allows private URLs.
   */
  readonly callbackUrl?: string | undefined
  /**
   * facedet: `true` asks for each face's embedding in the result (`embedding`: 128 numbers; the same person when
   * closer than about 0.45). crun.ai ignores it. Default: not sent.
   */
  readonly embeddings?: boolean | undefined
}

/**
 * Options of a wait.
 *
 * @since 0.1.0
 * @category Models
 */
export interface WaitOptions<A> {
  /**
   * Overall deadline. Default 5 minutes for an image detection, 15 for a video (core's `PollPolicy.deadlineFor`)
   * and for a swap task; `Duration.infinity` waits as long as it takes. On the deadline the wait fails with
   * `WaitTimeout` carrying the task id; the task goes on server-side.
   */
  readonly timeout?: Duration.DurationInput | undefined
  /** Called with the first snapshot and each one with a new status. */
  readonly onUpdate?: ((snapshot: A) => Effect.Effect<void>) | undefined
  /**
   * The kind of media, for the default deadline of a task this client did not create (it knows its own).
   * Default "image".
   */
  readonly kind?: MediaKind | undefined
}

/**
 * Options of {@link Service.detectFaces}.
 *
 * @since 0.1.0
 * @category Models
 */
export interface DetectFacesOptions extends WaitOptions<DetectTask.ResultData>, CreateOptions {
  /** Called as soon as the task exists, e.g. to persist its id so an interrupted wait can be resumed. */
  readonly onCreated?: ((data: DetectTask.CreateData) => Effect.Effect<void>) | undefined
}

/**
 * The media to detect: an image (JPEG, PNG, WebP, ...) or a video / animated GIF, by http(s) URL.
 *
 * @since 0.1.0
 * @category Models
 */
export type Media =
  | { readonly imageUrl: string; readonly videoUrl?: undefined }
  | { readonly videoUrl: string; readonly imageUrl?: undefined }

/**
 * A `CreateTask` body for one of the four face-swap models, as you write it (validated before sending).
 *
 * @since 0.1.0
 * @category Models
 */
export type SwapRequest = z.input<typeof SwapTask.CreateTaskBody>

/**
 * Options of an upload.
 *
 * @since 0.1.0
 * @category Models
 */
export interface UploadOptions {
  /** Per-request timeout of the upload (large videos may need more than the client's). Default: the client's. */
  readonly timeout?: Duration.DurationInput | undefined
}

/**
 * What the client knows of a detect_id it saw succeed: the media detected, the face ids found, when success was
 * observed (`observedAt`), and the conservative expiry (`expiresAt`, epoch ms; see core's `DetectId`).
 *
 * @since 0.1.0
 * @category Models
 */
export interface Detection extends TrackedDetection {
  readonly expiresAt: number
}

/**
 * What the client knows of the server it talks to (see {@link Service.serverInfo}).
 *
 * @since 0.1.0
 * @category Models
 */
export interface ServerInfo {
  /**
   * A facedet server: its answers carry `x-facedet-long-poll`. Only a facedet server has the upload call
   * ({@link Service.uploadMedia}); crun.ai's answers do not carry the header.
   */
  readonly facedet: boolean
  /** How long (seconds) the server holds a result request that asks it to wait; undefined when it does not. */
  readonly longPollSeconds: number | undefined
}

/**
 * The client's calls.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Service {
  /** The base URL calls go to (no trailing slash). */
  readonly baseUrl: string
  /** Creates an image detection task: `{ detect_task_id }`. Nothing is sent when the URL is not http(s). */
  readonly detectImage: (
    imageUrl: string,
    options?: CreateOptions
  ) => Effect.Effect<DetectTask.CreateData, FaceDetError.FaceDetError>
  /** Creates a video / animated GIF detection task: `{ detect_task_id }`. */
  readonly detectVideo: (
    videoUrl: string,
    options?: CreateOptions
  ) => Effect.Effect<DetectTask.CreateData, FaceDetError.FaceDetError>
  /** The task's current state; a `failed` task is data here, not an error. */
  readonly getResult: (detectTaskId: string) => Effect.Effect<DetectTask.ResultData, FaceDetError.FaceDetError>
  /** Waits until the task ends: its `succeeded` data, or `DetectionFailed` / `WaitTimeout`. Asks at once. */
  readonly waitForResult: (
    detectTaskId: string,
    options?: WaitOptions<DetectTask.ResultData>
  ) => Effect.Effect<DetectTask.Succeeded, FaceDetError.FaceDetError>
  /**
   * The task's status snapshots as a stream: the first one, then each new status; it ends after the terminal one
   * (`failed` included, as data) and fails with `WaitTimeout` at the deadline.
   */
  readonly watchResult: (
    detectTaskId: string,
    options?: Omit<WaitOptions<DetectTask.ResultData>, "onUpdate">
  ) => Stream.Stream<DetectTask.ResultData, FaceDetError.FaceDetError>
  /** Creates a detection and waits for it. */
  readonly detectFaces: (
    media: Media,
    options?: DetectFacesOptions
  ) => Effect.Effect<DetectTask.Succeeded, FaceDetError.FaceDetError>
  /**
   * Creates a face-swap task (`CreateTask`): `{ task_id }`. A multi-face swap is refused locally (typed
   * `ValidationError`, nothing sent) when this client saw its detect_id succeed more than an hour ago, detect other
   * media, or find no face with a given `face_id`.
   */
  readonly createTask: (
    request: SwapRequest,
    options?: CreateOptions
  ) => Effect.Effect<SwapTask.CreateTaskData, FaceDetError.FaceDetError>
  /** Any task's info (`TaskInfo`). */
  readonly getTaskInfo: (taskId: string) => Effect.Effect<SwapTask.TaskInfoData, FaceDetError.FaceDetError>
  /**
   * Waits until `TaskInfo` shows a terminal status (core's `SwapTask.isTerminalInfoStatus`) and returns that data,
   * a failed one included (`SwapTask.isFailedInfoStatus` tells): its error shape is undocumented.
   */
  readonly waitForTask: (
    taskId: string,
    options?: Omit<WaitOptions<SwapTask.TaskInfoData>, "kind">
  ) => Effect.Effect<SwapTask.TaskInfoData, FaceDetError.FaceDetError>
  /** `TaskInfo` snapshots as a stream, like {@link Service.watchResult}. */
  readonly watchTask: (
    taskId: string,
    options?: Omit<WaitOptions<SwapTask.TaskInfoData>, "kind" | "onUpdate">
  ) => Stream.Stream<SwapTask.TaskInfoData, FaceDetError.FaceDetError>
  /**
   * facedet servers only: uploads raw media bytes (`image/*` or `video/*`) and returns `{ url }`, usable as
   * `image_url` / `video_url` for an hour. crun.ai answers with an error.
   */
  readonly uploadMedia: (
    bytes: Uint8Array,
    contentType: string,
    options?: UploadOptions
  ) => Effect.Effect<Upload.UploadData, FaceDetError.FaceDetError>
  /** What this client knows of a detect_id it saw succeed. */
  readonly detection: (detectId: string) => Effect.Effect<Option.Option<Detection>>
  /**
   * Whether the server is a facedet server, and whether it long-polls: read from the answers this client already
   * had, or, before the first, from one result call for a task id that cannot exist (whatever it answers, a 404 or
   * a 401 included, tells). Fails only when no answer comes (`TransportError`, after the read retries).
   */
  readonly serverInfo: Effect.Effect<ServerInfo, FaceDetError.FaceDetError>
}

/**
 * The client service.
 *
 * @since 0.1.0
 * @category Tags
 */
export class FaceDetClient extends Context.Tag("@facedet/node-client/FaceDetClient")<FaceDetClient, Service>() {}

/**
 * The `DetectionFailed` a `failed` result stands for: the task's own error code and message, verbatim (from
 * `data.error`, or `data.result.error` when only that is set), `"Unknown"` when the server gave none.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const detectionFailed: (data: DetectTask.ResultData, detectTaskId?: string) => FaceDetError.DetectionFailed =
  internal.detectionFailed

/**
 * Builds the client on the ambient `HttpClient`. Fails with a `ValidationError` naming any bad option.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make: (options: Options) => Effect.Effect<Service, FaceDetError.ValidationError, HttpClient.HttpClient> =
  internal.make

/**
 * The client as a layer over the ambient `HttpClient`.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer = (
  options: Options
): Layer.Layer<FaceDetClient, FaceDetError.ValidationError, HttpClient.HttpClient> =>
  Layer.effect(FaceDetClient, make(options))

/**
 * Options that `layerConfig` takes from the environment.
 *
 * @since 0.1.0
 * @category Models
 */
export type ConfigOverrides = Omit<Options, "apiKey" | "baseUrl">

/**
 * `FACEDET_API_KEY` (required, held as `Redacted`) and `FACEDET_BASE_URL` (default `https://api.crun.ai`; empty
 * means the default), read through Effect's `Config`.
 *
 * @since 0.1.0
 * @category Config
 */
export const config: Config.Config<{ readonly apiKey: Redacted.Redacted<string>; readonly baseUrl: string }> =
  Config.all({
    apiKey: Config.redacted("FACEDET_API_KEY"),
    baseUrl: Config.string("FACEDET_BASE_URL").pipe(
      Config.map((url) => url.trim()),
      Config.withDefault(""),
      Config.map((url) => url || Endpoints.defaultBaseUrl)
    )
  })

/**
 * The client configured from the environment ({@link config}), over the ambient `HttpClient`.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerConfig = (
  overrides: ConfigOverrides = {}
): Layer.Layer<FaceDetClient, ConfigError.ConfigError | FaceDetError.ValidationError, HttpClient.HttpClient> =>
  Layer.unwrapEffect(Effect.map(config, (env) => layer({ ...overrides, ...env })))

/**
 * The `fetch`-based `HttpClient` (any runtime with `fetch`). A custom `fetch` (a proxy-aware one, a test double)
 * is kept in a variable and called as a plain function, never as a method (Cloudflare Workers reject that).
 *
 * @since 0.1.0
 * @category Layers
 */
export const fetchHttpClient = (fetch?: typeof globalThis.fetch): Layer.Layer<HttpClient.HttpClient> =>
  fetch === undefined
    ? FetchHttpClient.layer
    : FetchHttpClient.layer.pipe(Layer.provide(Layer.succeed(FetchHttpClient.Fetch, fetch)))

/**
 * The client over `fetch`: ready to provide.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerFetch = (
  options: Options,
  fetch?: typeof globalThis.fetch
): Layer.Layer<FaceDetClient, FaceDetError.ValidationError> => Layer.provide(layer(options), fetchHttpClient(fetch))

/**
 * The client over `fetch`, configured from the environment.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerFetchConfig = (
  overrides: ConfigOverrides = {},
  fetch?: typeof globalThis.fetch
): Layer.Layer<FaceDetClient, ConfigError.ConfigError | FaceDetError.ValidationError> =>
  Layer.provide(layerConfig(overrides), fetchHttpClient(fetch))
