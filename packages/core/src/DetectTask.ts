/**
 * Wire schemas of the face-detection calls: the create bodies and answers, and the result `data` in every state
 * (`starting`, `processing`, `succeeded`, `failed`).
 *
 * All object schemas are loose: unknown extra fields from a newer server are kept, not rejected. Note the two
 * status vocabularies, copied from crun.ai: `data.status` is `"succeeded"` while `data.result.status` is `"succeed"`.
 *
 * @since 0.1.0
 */
import { z } from "zod"
import { Face } from "./Face.js"
import type { Observed } from "./TaskStatus.js"
import { statuses } from "./TaskStatus.js"

const httpUrl = (what: string) =>
  z
    .string({ error: `${what} is required and must be a string` })
    .trim()
    .min(1, `${what} must not be empty`)
    .max(4096, `${what} is longer than 4096 characters`)
    .pipe(z.url({ protocol: /^https?$/, error: `${what} must be an http(s) URL` }))

/**
 * facedet extension: where the server POSTs a signed `Webhook.Payload` when the task ends (crun.ai takes the same
 * field on its swap calls).
 *
 * @since 0.1.0
 * @category Schemas
 */
export const callbackUrl = httpUrl("callback_url")
  .optional()
  .meta({ description: "facedet extension: POSTed a signed webhook (Standard Webhooks) when the task ends" })

/**
 * `embeddings` (facedet extension): `true` asks for each face's embedding in the result (`Face.embedding`). Off by
 * default: embeddings cost a recognition model's run per face, and crun.ai does not send them.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const embeddings = z
  .boolean({ error: "embeddings must be true or false" })
  .optional()
  .meta({ description: "facedet extension: true adds each face's embedding (128 numbers) to the result" })

/**
 * `POST /api/v1/client/job/detect-face-image` body.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const CreateImageBody = z
  .looseObject({ image_url: httpUrl("image_url"), callback_url: callbackUrl, embeddings })
  .meta({ id: "CreateImageDetection", description: "An image (JPEG, PNG, WebP, GIF, AVIF, TIFF) by http(s) URL" })

/**
 * @since 0.1.0
 * @category Models
 */
export type CreateImageBody = z.infer<typeof CreateImageBody>

/**
 * `POST /api/v1/client/job/detect-face-video` body.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const CreateVideoBody = z
  .looseObject({ video_url: httpUrl("video_url"), callback_url: callbackUrl, embeddings })
  .meta({ id: "CreateVideoDetection", description: "A video (MP4, MOV, WebM) or animated GIF/WebP by http(s) URL" })

/**
 * @since 0.1.0
 * @category Models
 */
export type CreateVideoBody = z.infer<typeof CreateVideoBody>

/**
 * `data` of a create answer.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const CreateData = z
  .looseObject({
    detect_task_id: z.string().min(1),
    webhook_secret: z.string().optional().meta({
      description:
        "facedet: the API key's callback signing secret (whsec_...), answered once, by the key's first create with a callback_url"
    })
  })
  .meta({ id: "CreateDetectionData", description: "The task to poll with detect-face-result" })

/**
 * @since 0.1.0
 * @category Models
 */
export type CreateData = z.infer<typeof CreateData>

/**
 * `data.status`: a known status or, from a newer server, any other string (treated as in flight).
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Status = z.union([z.enum(statuses), z.string()]).meta({
  id: "TaskStatus",
  description: `One of ${statuses.join(", ")}; unknown values mean "in flight"`
}) as unknown as z.ZodType<Observed, string>

/**
 * `error` of a failed task: a machine code and a human message (possibly not in English: keep it verbatim).
 *
 * @since 0.1.0
 * @category Schemas
 */
export const TaskError = z
  .looseObject({
    code: z.string(),
    message: z.string()
  })
  .meta({ id: "TaskError" })

/**
 * @since 0.1.0
 * @category Models
 */
export type TaskError = z.infer<typeof TaskError>

/**
 * `data.result` of a succeeded task. `id` is the `detect_id` a multi-face swap uses, valid one hour.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Result = z
  .looseObject({
    id: z.string().min(1).meta({ description: "The detect_id, valid for one hour" }),
    status: z.string().meta({ description: 'crun.ai sends "succeed" here' }),
    type: z.string().optional().meta({ description: '"face_detect"' }),
    hair_id: z.union([z.string(), z.number(), z.null()]).optional(),
    faces: z.array(Face),
    started_at: z.string().nullable().optional().meta({ description: "YYYY-MM-DD HH:mm:ss, no time zone given" }),
    finished_at: z.string().nullable().optional().meta({ description: "YYYY-MM-DD HH:mm:ss, no time zone given" }),
    error: TaskError.nullable().optional()
  })
  .meta({ id: "DetectionResult" })

/**
 * @since 0.1.0
 * @category Models
 */
export type Result = z.infer<typeof Result>

/**
 * facedet extension: where the callback of a task created with `callback_url` stands. `pending` deliveries are
 * retried until `delivered`, or `failed` (a refusing answer, or 24 hours of retries).
 *
 * @since 0.1.0
 * @category Schemas
 */
export const CallbackState = z
  .looseObject({
    url: z.string(),
    state: z.union([z.enum(["pending", "delivered", "failed"]), z.string()]),
    attempts: z.number().int().nonnegative(),
    last_status: z.number().int().nullable().meta({ description: "HTTP status of the last attempt; null: no answer" }),
    next_attempt_at: z.string().nullable().meta({ description: "YYYY-MM-DD HH:mm:ss (UTC) of the next attempt" })
  })
  .meta({ id: "CallbackState" })

/**
 * @since 0.1.0
 * @category Models
 */
export type CallbackState = z.infer<typeof CallbackState>

/**
 * `data` of `GET /api/v1/client/job/detect-face-result`.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const ResultData = z
  .looseObject({
    detect_task_id: z.string().min(1),
    status: Status,
    result: Result.nullable().optional(),
    error: TaskError.nullable().optional(),
    callback: CallbackState.optional()
  })
  .superRefine((data, ctx) => {
    if (data.status === "succeeded" && (data.result === null || data.result === undefined)) {
      ctx.addIssue({ code: "custom", path: ["result"], message: "a succeeded task must carry its result" })
    }
  })
  .meta({ id: "DetectionResultData" })

/**
 * @since 0.1.0
 * @category Models
 */
export type ResultData = z.infer<typeof ResultData>

/**
 * A result whose task succeeded: `result` is present.
 *
 * @since 0.1.0
 * @category Models
 */
export type Succeeded = ResultData & { readonly status: "succeeded"; readonly result: Result }

/**
 * @since 0.1.0
 * @category Guards
 */
export const isSucceeded = (data: ResultData): data is Succeeded =>
  data.status === "succeeded" && data.result !== null && data.result !== undefined
