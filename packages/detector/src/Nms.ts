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
  // Indices and a taken flag instead of arrays rebuilt per cluster: a large photo has thousands of candidates, and
  // copying the remaining ones for every cluster was the largest single source of a detection's short-lived garbage.
  const sorted = [...candidates].sort((a, b) => b.score - a.score)
  const taken = new Uint8Array(sorted.length)
  const merged: Array<C> = []
  for (let t = 0; t < sorted.length; t++) {
    if (taken[t]) continue
    const top = sorted[t]!
    let total = 0
    let x = 0
    let y = 0
    let w = 0
    let h = 0
    const keypoints: Array<number> = new Array(top.keypoints.length).fill(0)
    // The best one belongs to its own cluster even when its box is empty (its IoU with itself is then 0).
    for (let j = t; j < sorted.length; j++) {
      if (taken[j]) continue
      const c = sorted[j]!
      if (j !== t && !(iou(top.box, c.box) >= iouThreshold)) continue
      taken[j] = 1
      const score = c.score
      total += score
      x += c.box[0] * score
      y += c.box[1] * score
      w += c.box[2] * score
      h += c.box[3] * score
      for (let i = 0; i < keypoints.length; i++) keypoints[i] = keypoints[i]! + c.keypoints[i]! * score
    }
    // Other fields (e.g. where the candidate was found) come from the best member.
    merged.push({
      ...top,
      score: top.score,
      box: [x / total, y / total, w / total, h / total],
      keypoints: keypoints.map((v) => v / total)
    })
  }
  return merged
}
