/**
 * Wire schemas of the swap calls that detection exists for (`CreateTask` with the four face-swap models) and of
 * `TaskInfo`, which follows any task. crun.ai documents `TaskInfo`'s `"running"` status but not its full list, so
 * {@link isTerminalInfoStatus} recognises the usual terminal words and treats anything else as in flight.
 *
 * @since 0.1.0
 */
import { z } from "zod"

const url = (what: string) =>
  z
    .string()
    .trim()
    .pipe(z.url({ protocol: /^https?$/, error: `${what} must be an http(s) URL` }))

/**
 * One face to replace in a multi-face swap: a detected `face_id` and the image to put there (its own detected
 * link leaves it unchanged).
 *
 * @since 0.1.0
 * @category Schemas
 */
export const FaceTarget = z
  .looseObject({ face_id: z.int().nonnegative(), target: url("target") })
  .meta({ id: "FaceTarget" })

/**
 * @since 0.1.0
 * @category Models
 */
export type FaceTarget = z.infer<typeof FaceTarget>

const common = {
  callback_url: url("callback_url").optional()
}

const safety = { disable_safety_checker: z.boolean().optional() }

/**
 * `image-face-swap`: replace the main face; no detection needed.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const ImageFaceSwap = z.looseObject({
  model: z.literal("image-face-swap"),
  ...common,
  input: z.looseObject({ image_url: url("input.image_url"), new_face: url("input.new_face"), ...safety })
})

/**
 * `video-face-swap`: replace the main face of a video.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const VideoFaceSwap = z.looseObject({
  model: z.literal("video-face-swap"),
  ...common,
  input: z.looseObject({ video_url: url("input.video_url"), new_face: url("input.new_face"), ...safety })
})

const faces = z.array(FaceTarget).min(1, "faces must name at least one face")

/**
 * `image-face-swap-multi`: replace detected faces of the image that was detected (same URL, detect_id under an hour).
 *
 * @since 0.1.0
 * @category Schemas
 */
export const ImageFaceSwapMulti = z.looseObject({
  model: z.literal("image-face-swap-multi"),
  ...common,
  input: z.looseObject({ detect_id: z.string().min(1), image_url: url("input.image_url"), faces, ...safety })
})

/**
 * `video-face-swap-multi`: the video counterpart.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const VideoFaceSwapMulti = z.looseObject({
  model: z.literal("video-face-swap-multi"),
  ...common,
  input: z.looseObject({ detect_id: z.string().min(1), video_url: url("input.video_url"), faces, ...safety })
})

/**
 * `POST /api/v1/client/job/CreateTask` body for the face-swap models.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const CreateTaskBody = z
  .discriminatedUnion("model", [ImageFaceSwap, ImageFaceSwapMulti, VideoFaceSwap, VideoFaceSwapMulti])
  .meta({ id: "CreateSwapTask" })

/**
 * @since 0.1.0
 * @category Models
 */
export type CreateTaskBody = z.infer<typeof CreateTaskBody>

/**
 * @since 0.1.0
 * @category Models
 */
export type SwapModel = CreateTaskBody["model"]

/**
 * A multi-face swap body (the kind that depends on a detection).
 *
 * @since 0.1.0
 * @category Models
 */
export type MultiSwapBody = z.infer<typeof ImageFaceSwapMulti> | z.infer<typeof VideoFaceSwapMulti>

/**
 * `data` of a `CreateTask` answer.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const CreateTaskData = z.looseObject({ task_id: z.string().min(1) }).meta({ id: "CreateTaskData" })

/**
 * @since 0.1.0
 * @category Models
 */
export type CreateTaskData = z.infer<typeof CreateTaskData>

/**
 * `data` of `GET /api/v1/client/job/TaskInfo?task_id=`.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const TaskInfoData = z
  .looseObject({
    task_id: z.string().min(1),
    status: z.string(),
    provider: z.string().nullable().optional(),
    model_version: z.string().nullable().optional(),
    param: z.unknown().optional(),
    result: z.unknown().optional(),
    create_at: z.number().nullable().optional().meta({ description: "Unix seconds" }),
    complete_at: z.number().nullable().optional().meta({ description: "Unix seconds" }),
    duration_s: z.number().nullable().optional(),
    source: z.string().nullable().optional()
  })
  .meta({ id: "TaskInfoData" })

/**
 * @since 0.1.0
 * @category Models
 */
export type TaskInfoData = z.infer<typeof TaskInfoData>

const succeededWords = new Set(["succeeded", "succeed", "success", "successful", "completed", "complete", "done"])
const failedWords = new Set(["failed", "fail", "failure", "error", "canceled", "cancelled", "timeout", "expired"])

/**
 * Whether a `TaskInfo` status means the task has ended (its full list is undocumented; unknown words mean
 * "in flight").
 *
 * @since 0.1.0
 * @category Guards
 */
export const isTerminalInfoStatus = (status: string): boolean =>
  succeededWords.has(status.toLowerCase()) || failedWords.has(status.toLowerCase())

/**
 * Whether a terminal `TaskInfo` status is a failure.
 *
 * @since 0.1.0
 * @category Guards
 */
export const isFailedInfoStatus = (status: string): boolean => failedWords.has(status.toLowerCase())
