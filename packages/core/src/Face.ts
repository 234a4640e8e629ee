/**
 * One detected face on the wire: crun.ai's `{id, link}` plus facedet's optional, additive fields
 * (`box`, `score`, `landmarks`, `embedding` when asked for, and for video `first_seen_ms` / `last_seen_ms` /
 * `appearances`).
 *
 * @since 0.1.0
 */
import { z } from "zod"

/**
 * The six landmark names facedet reports (MediaPipe BlazeFace's keypoints, named from the subject's
 * point of view). Other servers may send other names; the schema accepts any.
 *
 * @since 0.1.0
 * @category Models
 */
export const landmarkNames = ["right_eye", "left_eye", "nose_tip", "mouth_center", "right_ear", "left_ear"] as const

/**
 * @since 0.1.0
 * @category Models
 */
export type LandmarkName = (typeof landmarkNames)[number]

/**
 * `[x, y, width, height]` in source pixels (after EXIF orientation).
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Box = z
  .tuple([z.number(), z.number(), z.number().nonnegative(), z.number().nonnegative()])
  .meta({ id: "Box", description: "[x, y, width, height] in source pixels" })

/**
 * `[x, y]` in source pixels.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Point = z.tuple([z.number(), z.number()]).meta({ id: "Point", description: "[x, y] in source pixels" })

/**
 * Named points, e.g. `{ "right_eye": [120, 88], ... }`.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Landmarks = z.record(z.string(), Point).meta({
  id: "Landmarks",
  description: `Named points in source pixels; facedet sends ${landmarkNames.join(", ")}`
})

/**
 * A face of a detection result.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Face = z
  .looseObject({
    id: z.int().nonnegative().meta({ description: "The id a swap refers to (`face_id`); 0..n-1" }),
    link: z.string().min(1).meta({ description: "A cropped image of this face" }),
    box: Box.optional(),
    score: z.number().min(0).max(1).optional().meta({ description: "Detector confidence, 0..1" }),
    landmarks: Landmarks.optional(),
    first_seen_ms: z.number().nonnegative().optional().meta({ description: "Video: first sampled frame showing it" }),
    last_seen_ms: z.number().nonnegative().optional().meta({ description: "Video: last sampled frame showing it" }),
    appearances: z
      .array(z.tuple([z.number().nonnegative(), z.number().nonnegative()]))
      .optional()
      .meta({
        description:
          "Video: each stretch [start_ms, end_ms] in which this person was seen, in order; a person who comes back " +
          "after a cut or an absence has several, and first_seen_ms / last_seen_ms span them all"
      }),
    embedding: z
      .array(z.number())
      .optional()
      .meta({
        description:
          "Only when asked for: the face's embedding (128 numbers; Euclidean distance under about 0.45 means the " +
          "same person)"
      })
  })
  .meta({ id: "Face" })

/**
 * @since 0.1.0
 * @category Models
 */
export type Face = z.infer<typeof Face>
