/**
 * What the detector returns: faces with their box, score, MediaPipe's six landmarks and a JPEG crop, for an image
 * or for a video (where each face is one person tracked across the sampled frames).
 */
import type * as Face from "@facedet/core/Face"
import type { ImageFormat, VideoFormat } from "@facedet/core/MediaFormat"

/**
 * A point `[x, y]` in source pixels.
 *
 * @since 0.1.0
 */
export type Point = readonly [x: number, y: number]

/**
 * A box `[x, y, width, height]` in source pixels (after EXIF orientation), rounded to one decimal.
 *
 * @since 0.1.0
 */
export type Box = readonly [x: number, y: number, width: number, height: number]

/**
 * MediaPipe BlazeFace's six keypoints in source pixels, in the model's order, named from the subject's point of
 * view (the subject's right eye is usually on the left of the picture). These names go on the wire as they are.
 *
 * @since 0.1.0
 */
export interface Landmarks {
  readonly right_eye: Point
  readonly left_eye: Point
  readonly nose_tip: Point
  readonly mouth_center: Point
  readonly right_ear: Point
  readonly left_ear: Point
}

/**
 * The landmark names in the model's keypoint order.
 *
 * @since 0.1.0
 */
export const landmarkNames = ["right_eye", "left_eye", "nose_tip", "mouth_center", "right_ear", "left_ear"] as const

/**
 * One detected face (for a video: one person, with the observation chosen as its representative).
 *
 * @since 0.1.0
 */
export interface DetectedFace {
  /** 0..n-1: images number faces left to right (ties top to bottom); videos by first appearance, then left to right. */
  readonly id: number
  readonly box: Box
  /** Model confidence, 0..1. */
  readonly score: number
  readonly landmarks: Landmarks
  /** A square JPEG around the face (about 1.5x the box), present unless crops were turned off. */
  readonly crop?: Uint8Array
  /** Video only: when the person was first and last seen, in ms from the start. */
  readonly firstSeenMs?: number
  readonly lastSeenMs?: number
  /** Video only: every stretch `[startMs, endMs]` in which the person was followed (across cuts), in order. */
  readonly appearances?: ReadonlyArray<readonly [startMs: number, endMs: number]>
  /** The face's embedding (128 numbers; for a video person, the mean over their appearances), when asked for. */
  readonly embedding?: ReadonlyArray<number>
}

/**
 * The formats the detector reads, as core names them.
 *
 * @since 0.1.0
 */
export type { ImageFormat, VideoFormat } from "@facedet/core/MediaFormat"

/**
 * Faces found in one still image (the first frame of an animated one).
 *
 * @since 0.1.0
 */
export interface ImageDetection {
  readonly kind: "image"
  /** Size after EXIF orientation. */
  readonly width: number
  readonly height: number
  readonly format: ImageFormat
  readonly faces: ReadonlyArray<DetectedFace>
}

/**
 * Distinct people found in a video or an animated image.
 *
 * @since 0.1.0
 */
export interface VideoDetection {
  readonly kind: "video"
  /** Frame size after rotation metadata is applied. */
  readonly width: number
  readonly height: number
  readonly format: VideoFormat
  readonly durationMs: number
  readonly framesSampled: number
  readonly faces: ReadonlyArray<DetectedFace>
}

/**
 * Rounds a coordinate to one decimal, the precision results carry.
 *
 * @since 0.1.0
 */
export const round1 = (n: number): number => Math.round(n * 10) / 10

/**
 * Left to right, ties top to bottom: the order of faces in an image.
 *
 * @since 0.1.0
 */
export const compareLeftToRight = (a: { readonly box: Box }, b: { readonly box: Box }): number =>
  a.box[0] - b.box[0] || a.box[1] - b.box[1]

/**
 * Sorts faces left to right (ties top to bottom) and numbers them 0..n-1.
 *
 * @since 0.1.0
 */
export const numberLeftToRight = <F extends { readonly box: Box; readonly id: number }>(
  faces: ReadonlyArray<F>
): Array<F> => [...faces].sort(compareLeftToRight).map((face, id) => ({ ...face, id }))

/**
 * The fields of a face the wire shows: a detected face, or one a server stored (its landmarks read back as a
 * record).
 *
 * @since 0.1.0
 */
export interface FaceFields {
  readonly id: number
  readonly box: Box
  readonly score: number
  readonly landmarks: Landmarks | Readonly<Record<string, Point>>
  readonly firstSeenMs?: number | undefined
  readonly lastSeenMs?: number | undefined
  readonly appearances?: ReadonlyArray<readonly [number, number]> | undefined
  readonly embedding?: ReadonlyArray<number> | undefined
}

/**
 * A face as crun.ai's result spells it (`@facedet/core`'s `Face`), with its crop at `link` and facedet's optional
 * `first_seen_ms` / `last_seen_ms` / `appearances` and `embedding`: the one mapping the HTTP server's answers and the CLI's local results share.
 *
 * @since 0.1.0
 */
export const toWireFace = (face: FaceFields, link: string): Face.Face => ({
  id: face.id,
  link,
  box: [face.box[0], face.box[1], face.box[2], face.box[3]],
  // Detected scores already have four decimals; one stored elsewhere gets them here.
  score: Math.round(face.score * 10_000) / 10_000,
  landmarks: Object.fromEntries(Object.entries(face.landmarks).map(([name, [x, y]]) => [name, [x, y]])),
  ...(face.firstSeenMs === undefined ? {} : { first_seen_ms: face.firstSeenMs }),
  ...(face.lastSeenMs === undefined ? {} : { last_seen_ms: face.lastSeenMs }),
  ...(face.appearances === undefined ? {} : { appearances: face.appearances.map(([a, b]) => [a, b]) }),
  ...(face.embedding === undefined ? {} : { embedding: [...face.embedding] })
})
