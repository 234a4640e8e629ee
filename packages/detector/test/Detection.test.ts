import { describe, expect, it } from "@effect/vitest"
import * as Detection from "../src/Detection.js"

describe("Detection", () => {
  it("numbers faces left to right, ties top to bottom", () => {
    const faces = [
      { id: 9, box: [300, 10, 5, 5] as const },
      { id: 9, box: [10, 50, 5, 5] as const },
      { id: 9, box: [10, 20, 5, 5] as const }
    ]
    expect(Detection.numberLeftToRight(faces).map((f) => [f.id, f.box[0], f.box[1]])).toEqual([
      [0, 10, 20],
      [1, 10, 50],
      [2, 300, 10]
    ])
  })

  it("rounds coordinates to one decimal and names the six MediaPipe keypoints in model order", () => {
    expect(Detection.round1(12.345)).toBe(12.3)
    expect(Detection.landmarkNames).toEqual([
      "right_eye",
      "left_eye",
      "nose_tip",
      "mouth_center",
      "right_ear",
      "left_ear"
    ])
  })
})
