import { describe, expect, it } from "@effect/vitest"
import type { Candidate } from "../src/BlazeFace.js"
import * as Nms from "../src/Nms.js"

const face = (score: number, box: readonly [number, number, number, number]): Candidate => ({
  score,
  box,
  keypoints: [box[0], box[1], box[0] + box[2], box[1], 0, 0, 0, 0, 0, 0, 0, 0]
})

describe("Nms", () => {
  it("computes intersection over union", () => {
    expect(Nms.iou([0, 0, 10, 10], [0, 0, 10, 10])).toBe(1)
    expect(Nms.iou([0, 0, 10, 10], [5, 0, 10, 10])).toBeCloseTo(50 / 150)
    expect(Nms.iou([0, 0, 10, 10], [20, 20, 5, 5])).toBe(0)
  })

  it("blends overlapping detections of one face into their score-weighted mean and keeps the best score", () => {
    const merged = Nms.weighted([
      face(0.6, [10, 10, 20, 20]),
      face(0.9, [12, 10, 20, 20]),
      face(0.3, [100, 100, 20, 20])
    ])
    expect(merged).toHaveLength(2)
    expect(merged[0]!.score).toBe(0.9)
    expect(merged[0]!.box[0]).toBeCloseTo((10 * 0.6 + 12 * 0.9) / 1.5)
    expect(merged[0]!.keypoints[0]).toBeCloseTo((10 * 0.6 + 12 * 0.9) / 1.5)
    expect(merged[1]!.box).toEqual([100, 100, 20, 20])
  })

  it("keeps side-by-side faces apart and carries extra fields of the best member", () => {
    const merged = Nms.weighted([
      { ...face(0.8, [0, 0, 20, 20]), level: 1 },
      { ...face(0.7, [21, 0, 20, 20]), level: 2 }
    ])
    expect(merged.map((m) => m.level)).toEqual([1, 2])
  })

  it("keeps a candidate whose box is empty as it is, instead of looping on it", () => {
    const merged = Nms.weighted([face(0.9, [5, 5, 0, 0]), face(0.8, [5, 5, 10, 10]), face(0.7, [6, 5, 10, 10])])
    expect(merged.map((m) => [m.score, m.box[2]])).toEqual([
      [0.9, 0],
      [0.8, 10]
    ])
  })
})
