/**
 * Merging overlapping candidates into one face each. Detections of the same face come from neighbouring anchors,
 * overlapping tiles and several scales; MediaPipe's weighted non-maximum suppression blends each cluster into one
 * box (a score-weighted mean of boxes and keypoints) and keeps the cluster's best score.
 */
import type { Candidate } from "./BlazeFace.js"

type Rect = readonly [number, number, number, number]

/**
 * Intersection over union of two `[x, y, w, h]` boxes.
 *
 * @since 0.1.0
 */
export const iou = (a: Rect, b: Rect): number => {
  const x1 = Math.max(a[0], b[0])
  const y1 = Math.max(a[1], b[1])
  const x2 = Math.min(a[0] + a[2], b[0] + b[2])
  const y2 = Math.min(a[1] + a[3], b[1] + b[3])
  const inter = Math.max(0, x2 - x1) * Math.max(0, y2 - y1)
  const union = a[2] * a[3] + b[2] * b[3] - inter
  return union > 0 ? inter / union : 0
}

/**
 * MediaPipe's default suppression threshold.
 *
 * @since 0.1.0
 */
export const defaultIouThreshold = 0.3

/**
 * Weighted NMS: repeatedly takes the best remaining candidate, gathers every remaining candidate that overlaps it by
 * at least `iouThreshold`, and replaces the cluster by its score-weighted mean (other fields come from the best
 * member). Output is sorted by score.
 *
 * @since 0.1.0
 */
export const weighted = <C extends Candidate>(
  candidates: ReadonlyArray<C>,
  iouThreshold = defaultIouThreshold
): Array<C> => {
  const remaining = [...candidates].sort((a, b) => b.score - a.score)
  const merged: Array<C> = []
  while (remaining.length > 0) {
    const top = remaining[0]!
    const cluster: Array<C> = []
    const rest: Array<C> = []
    for (const c of remaining) (iou(top.box, c.box) >= iouThreshold ? cluster : rest).push(c)
    remaining.length = 0
    remaining.push(...rest)
    let total = 0
    const box = [0, 0, 0, 0]
    const keypoints = top.keypoints.map(() => 0)
    for (const c of cluster) {
      total += c.score
      for (let i = 0; i < 4; i++) box[i] = box[i]! + c.box[i]! * c.score
      for (let i = 0; i < keypoints.length; i++) keypoints[i] = keypoints[i]! + c.keypoints[i]! * c.score
    }
    // Other fields (e.g. where the candidate was found) come from the best member.
    merged.push({
      ...top,
      score: top.score,
      box: [box[0]! / total, box[1]! / total, box[2]! / total, box[3]! / total],
      keypoints: keypoints.map((v) => v / total)
    })
  }
  return merged
}
