/**
 * `POST /api/v1/client/job/detect-face-image` and `-video`: validates the body and the media URL (or upload), and
 * queues a task; `Idempotency-Key` replays the first task of a retried create, and the first callback of a key
 * creates its signing secret (shown once, in that answer).
 */
import { createHash } from "node:crypto"
import * as DetectTask from "@facedet/core/DetectTask"
import * as Endpoints from "@facedet/core/Endpoints"
import * as FaceDetError from "@facedet/core/FaceDetError"
import * as TaskId from "@facedet/core/TaskId"
import * as Webhook from "@facedet/core/Webhook"
import * as Wire from "@facedet/core/Wire"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type { Deps } from "../../Api.js"
import type { Kind } from "../../JobStore.js"
import type * as MediaFetcher from "../../MediaFetcher.js"
import { accepts } from "../../MediaFetcher.js"
import * as Body from "../body.js"
import type { Request, Response } from "../httpEdge.js"
import * as Json from "../json.js"
import { describeDuration, drainingAnswer, errorResponse, invalid, ok, shown, storeFailure } from "./answers.js"
import { uploadTokenOf } from "./uploadToken.js"

const queueFullRetryAfterSeconds = 5
const idempotencyKeyPattern = /^[\x21-\x7e]{1,255}$/
/** A JSON body must arrive within this long (a create body is a few hundred bytes; slower is a slowloris). */
const jsonBodyDeadlineMs = 30_000
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false })

/** The create route over the server's dependencies. */
export const make = (deps: Deps) => {
  const { config, store, metrics } = deps

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

  return (request: Request, owner: string, kind: Kind, route: string) =>
    Effect.gen(function* () {
      const drainingMessage = "the server is shutting down and takes no new tasks; retry shortly"
      const idempotencyKey = request.headers[Endpoints.headers.idempotencyKey]
      // A retried create (same Idempotency-Key) replays its task even while draining: its body must be read first.
      if ((yield* deps.draining) && idempotencyKey === undefined) return drainingAnswer(route, drainingMessage)
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
              (b) => [b.image_url, b.callback_url, b.embeddings === true] as const
            )
          : Either.map(
              Wire.decodeRequest(DetectTask.CreateVideoBody, body),
              (b) => [b.video_url, b.callback_url, b.embeddings === true] as const
            )
      if (Either.isLeft(decoded)) return errorResponse(decoded.left, route)
      const field = kind === "image" ? "image_url" : "video_url"
      const [url, callbackUrl, embeddings] = decoded.right
      const requestHash =
        idempotencyKey === undefined
          ? undefined
          : createHash("sha256")
              // A body without embeddings has the digest it had before they existed.
              .update(
                `${kind}\n${url}${callbackUrl === undefined ? "" : `\n${callbackUrl}`}${embeddings ? "\nembeddings" : ""}`
              )
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
      if (yield* deps.draining) return drainingAnswer(route, drainingMessage)
      if (callbackUrl !== undefined) {
        // The same address rules as media URLs, judged now so a refused receiver is a 422, not a silent failure.
        const checked = deps.fetcher.checkUrl(callbackUrl)
        if (Either.isLeft(checked)) {
          return errorResponse(invalid(`callback_url: ${checked.left.message}`, "callback_url"), route)
        }
      }
      const token = uploadTokenOf(yield* deps.publicUrl, url)
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
        uploadToken: token,
        embeddings
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
      if (secret?.created) yield* Effect.logInfo(`generated a webhook signing secret for API key ${owner}`)
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
}
