/**
 * The client's implementation: validation of what the caller passes, and `make`, which builds every call over the
 * transport (retries, rate limits), the waiter (polling) and the tracker of detections. The public module
 * (`FaceDetClient`) holds the types, the tag and the layers.
 */
import { DetectId, DetectTask, Endpoints, FaceDetError, PollPolicy, SwapTask, TaskStatus, Wire } from "@facedet/core"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { identity } from "effect/Function"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type {
  CreateOptions,
  DetectFacesOptions,
  Media,
  Options,
  Service,
  SwapRequest,
  UploadOptions,
  WaitOptions
} from "../FaceDetClient.js"
import * as Upload from "../Upload.js"
import { Detections, type MediaKind } from "./detections.js"
import { deadline as readDeadline, positiveDuration, resolve } from "./settings.js"
import * as Transport from "./transport.js"
import * as Waiter from "./waiter.js"

// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const badId = /[\u0000-\u001f\u007f]/
const idempotencyKeyPattern = /^[\x21-\x7e]{1,255}$/

const invalid = (path: string, message: string) => new FaceDetError.ValidationError({ issues: [{ path, message }] })

/** A task id as given by the caller: non-empty, at most 256 characters, no control characters. */
const checkId = (path: string, id: unknown): Either.Either<string, FaceDetError.ValidationError> =>
  typeof id !== "string" || id.trim() === ""
    ? Either.left(invalid(path, "is required"))
    : id.length > 256 || badId.test(id)
      ? Either.left(invalid(path, "is not a task id (too long, or contains control characters)"))
      : Either.right(id.trim())

const newIdempotencyKey = (options: CreateOptions | undefined): Effect.Effect<string, FaceDetError.ValidationError> => {
  const given = options?.idempotencyKey
  if (given === undefined) return Effect.sync(() => globalThis.crypto.randomUUID())
  return idempotencyKeyPattern.test(given)
    ? Effect.succeed(given)
    : Effect.fail(invalid("idempotencyKey", "must be 1-255 visible ASCII characters"))
}

const deadlineOf = (
  input: Duration.DurationInput | undefined,
  fallback: Duration.Duration
): Either.Either<Duration.Duration, FaceDetError.ValidationError> => {
  if (input === undefined) return Either.right(fallback)
  const d = readDeadline(input)
  return d === undefined
    ? Either.left(invalid("timeout", "must be a positive duration (or infinity)"))
    : Either.right(d)
}

/** See `FaceDetClient.detectionFailed`. */
export const detectionFailed = (data: DetectTask.ResultData, detectTaskId?: string): FaceDetError.DetectionFailed => {
  const error = data.error ?? data.result?.error
  return new FaceDetError.DetectionFailed({
    detectTaskId: data.detect_task_id || (detectTaskId ?? ""),
    code: error?.code ?? "Unknown",
    taskMessage: error?.message ?? "the task failed without an error message"
  })
}

/** A task id that no server can have (crun.ai's and facedet's ids have no `-`): the probe of {@link Service.serverInfo}. */
const probeTaskId = "facedet-probe"

const isMulti = (
  body: SwapTask.CreateTaskBody
): body is Extract<SwapTask.CreateTaskBody, { readonly model: "image-face-swap-multi" | "video-face-swap-multi" }> =>
  body.model === "image-face-swap-multi" || body.model === "video-face-swap-multi"

/**
 * A span per call, for tracing. Without a captured stack trace: capturing one costs more than the rest of a call.
 */
const span = (name: string) => Effect.withSpan(name, { captureStackTrace: false })

export const make = (options: Options): Effect.Effect<Service, FaceDetError.ValidationError, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const settings = yield* resolve(options)
    const transport = yield* Transport.make(settings)
    const detections = new Detections()

    const create = (kind: MediaKind, mediaUrl: string, options: CreateOptions | undefined) =>
      Effect.gen(function* () {
        // Validated (and trimmed) here, so a bad URL costs no request.
        const callback = options?.callbackUrl === undefined ? {} : { callback_url: options.callbackUrl }
        const [url, checkedCallback] =
          kind === "image"
            ? yield* Effect.map(
                Wire.decodeRequest(DetectTask.CreateImageBody, { image_url: mediaUrl, ...callback }),
                (b) => [b.image_url, b.callback_url] as const
              )
            : yield* Effect.map(
                Wire.decodeRequest(DetectTask.CreateVideoBody, { video_url: mediaUrl, ...callback }),
                (b) => [b.video_url, b.callback_url] as const
              )
        const callbackUrl = checkedCallback === undefined ? {} : { callback_url: checkedCallback }
        // Sent only when asked for: crun.ai's bodies stay exactly as its documentation shows them.
        const extra = { ...callbackUrl, ...(options?.embeddings === true ? { embeddings: true } : {}) }
        const body = kind === "image" ? { image_url: url, ...extra } : { video_url: url, ...extra }
        const key = yield* newIdempotencyKey(options)
        const answer = yield* transport.send({
          kind: "create",
          request: HttpClientRequest.post(
            kind === "image" ? Endpoints.paths.createImage : Endpoints.paths.createVideo
          ).pipe(
            HttpClientRequest.bodyUnsafeJson(body),
            HttpClientRequest.setHeader(Endpoints.headers.idempotencyKey, key)
          ),
          decode: Transport.decodeWith(DetectTask.CreateData)
        })
        yield* Effect.sync(() => detections.created(answer.data.detect_task_id, kind, url, answer.startedAt))
        return answer.data
      }).pipe(span(kind === "image" ? "FaceDetClient.detectImage" : "FaceDetClient.detectVideo"))

    const fetchResult = (detectTaskId: string, waitSeconds: number | undefined) =>
      transport
        .send({
          kind: "read",
          request: HttpClientRequest.get(Endpoints.paths.result).pipe(
            HttpClientRequest.setUrlParam("detect_task_id", detectTaskId),
            waitSeconds === undefined ? (r) => r : HttpClientRequest.setUrlParam("wait", String(waitSeconds))
          ),
          decode: Transport.decodeWith(DetectTask.ResultData),
          ...(waitSeconds === undefined
            ? {}
            : { timeout: Duration.sum(settings.timeout, Duration.seconds(waitSeconds)) })
        })
        .pipe(
          Effect.tap((answer) =>
            Effect.sync(() =>
              detections.observed(
                detectTaskId,
                {
                  status: answer.data.status,
                  detectId: answer.data.result?.id,
                  faceIds: answer.data.result?.faces.map((f) => f.id) ?? []
                },
                answer.startedAt,
                answer.receivedAt
              )
            )
          )
        )

    const getResult = (detectTaskId: string) =>
      Effect.flatMap(checkId("detectTaskId", detectTaskId), (id) => fetchResult(id, undefined)).pipe(
        Effect.map((answer) => answer.data),
        span("FaceDetClient.getResult")
      )

    const awaitResult = (
      detectTaskId: string,
      options: WaitOptions<DetectTask.ResultData> & { readonly pollFirst: boolean }
    ) =>
      Effect.gen(function* () {
        const id = yield* checkId("detectTaskId", detectTaskId)
        const kind = options.kind ?? detections.kindOf(id) ?? "image"
        const deadline = yield* deadlineOf(options.timeout, PollPolicy.deadlineFor(kind))
        return yield* Waiter.run({
          taskId: id,
          detection: true,
          fetch: (waitSeconds) => fetchResult(id, waitSeconds),
          statusOf: (data) => data.status,
          isTerminal: TaskStatus.isTerminal,
          longPollSeconds: transport.longPollSeconds,
          poll: settings.poll,
          deadline,
          pollFirst: options.pollFirst,
          onUpdate: options.onUpdate ?? (() => Effect.void)
        })
      })

    const succeededOrFail = (detectTaskId: string) => (data: DetectTask.ResultData) =>
      DetectTask.isSucceeded(data) ? Effect.succeed(data) : Effect.fail(detectionFailed(data, detectTaskId))

    const waitForResult = (detectTaskId: string, options: WaitOptions<DetectTask.ResultData> = {}) =>
      awaitResult(detectTaskId, { ...options, pollFirst: true }).pipe(
        Effect.flatMap(succeededOrFail(detectTaskId)),
        span("FaceDetClient.waitForResult")
      )

    const detectFaces = (media: Media, options: DetectFacesOptions = {}) =>
      Effect.gen(function* () {
        const hasImage = typeof media?.imageUrl === "string"
        const hasVideo = typeof media?.videoUrl === "string"
        if (hasImage === hasVideo) {
          return yield* Effect.fail(invalid("media", "give exactly one of imageUrl or videoUrl"))
        }
        const kind: MediaKind = hasImage ? "image" : "video"
        const created = yield* create(kind, (hasImage ? media.imageUrl : media.videoUrl) as string, options)
        if (options.onCreated) yield* options.onCreated(created)
        const done = yield* awaitResult(created.detect_task_id, { ...options, kind, pollFirst: false })
        return yield* succeededOrFail(created.detect_task_id)(done)
      }).pipe(span("FaceDetClient.detectFaces"))

    const refuseStaleDetection = (body: SwapTask.CreateTaskBody) =>
      Effect.gen(function* () {
        if (!isMulti(body)) return
        const { detect_id: detectId, faces } = body.input
        const known = detections.get(detectId)
        if (known === undefined) return
        const now = yield* Clock.currentTimeMillis
        if (DetectId.isKnownExpired(known, now)) {
          const seen = new Date(known.observedAt).toISOString()
          return yield* Effect.fail(
            invalid(
              "input.detect_id",
              `detect_id ${detectId} has expired: its detection succeeded before ${seen}, more than an hour ago; detect the media again`
            )
          )
        }
        const [field, mediaUrl] =
          body.model === "image-face-swap-multi"
            ? ["input.image_url", body.input.image_url]
            : ["input.video_url", body.input.video_url]
        if (known.mediaUrl !== undefined && !DetectId.sameMedia(known.mediaUrl, mediaUrl)) {
          return yield* Effect.fail(
            invalid(
              field,
              `must be the media detected for detect_id ${detectId} (${known.mediaUrl}); a multi-face swap cannot use another URL`
            )
          )
        }
        const unknownFaces = faces.map((f) => f.face_id).filter((id) => !known.faceIds.includes(id))
        if (unknownFaces.length > 0) {
          return yield* Effect.fail(
            invalid(
              "input.faces",
              `face_id ${unknownFaces.join(", ")} not found by detection ${detectId} (it found ${
                known.faceIds.length === 0 ? "no face" : `face_id ${known.faceIds.join(", ")}`
              })`
            )
          )
        }
      })

    const createTask = (request: SwapRequest, options?: CreateOptions) =>
      Effect.gen(function* () {
        const body = yield* Wire.decodeRequest(SwapTask.CreateTaskBody, request)
        yield* refuseStaleDetection(body)
        const key = yield* newIdempotencyKey(options)
        const answer = yield* transport.send({
          kind: "create",
          request: HttpClientRequest.post(Endpoints.paths.createTask).pipe(
            HttpClientRequest.bodyUnsafeJson(body),
            HttpClientRequest.setHeader(Endpoints.headers.idempotencyKey, key)
          ),
          decode: Transport.decodeWith(SwapTask.CreateTaskData)
        })
        return answer.data
      }).pipe(span("FaceDetClient.createTask"))

    const fetchTaskInfo = (taskId: string) =>
      transport.send({
        kind: "read",
        request: HttpClientRequest.get(Endpoints.paths.taskInfo).pipe(HttpClientRequest.setUrlParam("task_id", taskId)),
        decode: Transport.decodeWith(SwapTask.TaskInfoData)
      })

    const getTaskInfo = (taskId: string) =>
      Effect.flatMap(checkId("taskId", taskId), fetchTaskInfo).pipe(
        Effect.map((answer) => answer.data),
        span("FaceDetClient.getTaskInfo")
      )

    const waitForTask = (taskId: string, options: Omit<WaitOptions<SwapTask.TaskInfoData>, "kind"> = {}) =>
      Effect.gen(function* () {
        const id = yield* checkId("taskId", taskId)
        // Swaps take longer than detections; the video deadline suits both kinds.
        const deadline = yield* deadlineOf(options.timeout, PollPolicy.deadlineFor("video"))
        return yield* Waiter.run({
          taskId: id,
          detection: false,
          fetch: () => fetchTaskInfo(id),
          statusOf: (data) => data.status,
          isTerminal: SwapTask.isTerminalInfoStatus,
          // The facedet server long-polls only the detection result call.
          longPollSeconds: Effect.succeed(undefined),
          poll: settings.poll,
          deadline,
          pollFirst: true,
          onUpdate: options.onUpdate ?? (() => Effect.void)
        })
      }).pipe(span("FaceDetClient.waitForTask"))

    const uploadMedia = (bytes: Uint8Array, contentType: string, options: UploadOptions = {}) =>
      Effect.gen(function* () {
        // Not `instanceof`: a Uint8Array from another realm (a worker, a vm context) is still bytes.
        if (Object.prototype.toString.call(bytes) !== "[object Uint8Array]" || bytes.byteLength === 0) {
          return yield* Effect.fail(invalid("bytes", "must be a non-empty Uint8Array"))
        }
        if (typeof contentType !== "string" || !Upload.contentTypePattern.test(contentType)) {
          return yield* Effect.fail(invalid("contentType", "must be image/* or video/* (e.g. image/jpeg, video/mp4)"))
        }
        const timeout = options.timeout === undefined ? settings.timeout : positiveDuration(options.timeout)
        if (timeout === undefined) return yield* Effect.fail(invalid("timeout", "must be a positive, finite duration"))
        // Not billed, and a repeat only stores another copy for an hour: retried like a read.
        const answer = yield* transport.send({
          kind: "read",
          request: HttpClientRequest.post(Endpoints.paths.upload).pipe(
            HttpClientRequest.bodyUint8Array(bytes, contentType.toLowerCase())
          ),
          decode: Transport.decodeWith(Upload.UploadData),
          timeout
        })
        return answer.data
      }).pipe(span("FaceDetClient.uploadMedia"))

    const detection = (detectId: string) =>
      Effect.sync(() =>
        Option.map(Option.fromNullable(detections.get(detectId)), (d) => ({ ...d, expiresAt: DetectId.expiresAt(d) }))
      )

    const serverInfo = Effect.gen(function* () {
      const known = yield* transport.server
      if (!known.answered) {
        // Any answer tells (the expected one is a 404); only no answer at all is a failure.
        yield* fetchResult(probeTaskId, undefined).pipe(
          Effect.catchIf(
            (error) => error._tag !== "TransportError",
            () => Effect.void
          )
        )
      }
      const { facedet, longPollSeconds } = yield* transport.server
      return { facedet, longPollSeconds }
    }).pipe(span("FaceDetClient.serverInfo"))

    return identity<Service>({
      baseUrl: settings.baseUrl,
      detectImage: (imageUrl, options) => create("image", imageUrl, options),
      detectVideo: (videoUrl, options) => create("video", videoUrl, options),
      getResult,
      waitForResult,
      watchResult: (detectTaskId, options = {}) =>
        toStream((onUpdate) => awaitResult(detectTaskId, { ...options, onUpdate, pollFirst: true })),
      detectFaces,
      createTask,
      getTaskInfo,
      waitForTask,
      watchTask: (taskId, options = {}) => toStream((onUpdate) => waitForTask(taskId, { ...options, onUpdate })),
      uploadMedia,
      detection,
      serverInfo
    })
  })

/** Turns a wait that reports through `onUpdate` into the stream of what it reports, ending when the wait ends. */
const toStream = <A>(
  wait: (onUpdate: (snapshot: A) => Effect.Effect<void>) => Effect.Effect<unknown, FaceDetError.FaceDetError>
): Stream.Stream<A, FaceDetError.FaceDetError> =>
  Stream.asyncScoped<A, FaceDetError.FaceDetError>((emit) =>
    Effect.forkScoped(
      wait((snapshot) => Effect.promise(() => emit.single(snapshot))).pipe(
        Effect.matchCauseEffect({
          onSuccess: () => Effect.promise(() => emit.end()),
          onFailure: (cause) => Effect.promise(() => emit.halt(cause))
        })
      )
    )
  )
