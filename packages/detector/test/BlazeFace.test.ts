import { describe, expect, it } from "@effect/vitest"
import * as BlazeFace from "../src/BlazeFace.js"

const raw = (set: (scores: Float32Array, boxes: Float32Array) => void): BlazeFace.RawOutput => {
  const scores = new Float32Array(BlazeFace.anchorCount).fill(-10)
  const boxes = new Float32Array(BlazeFace.anchorCount * BlazeFace.valuesPerAnchor)
  set(scores, boxes)
  return { scores, boxes }
}

describe("BlazeFace", () => {
  it("decodes a confident anchor into a box and six keypoints relative to the anchor centre, in input pixels", () => {
    // anchor 514 sits at (16, 16) on the stride-32 map
    const output = raw((scores, boxes) => {
      scores[514] = 3
      boxes.set([4, -2, 40, 44, -8, -6, 8, -6, 0, 4, 0, 12, -18, -2, 18, -2], 514 * 16)
    })
    const found = BlazeFace.decode(output, 0.5)
    expect(found).toHaveLength(1)
    const face = found[0]!
    expect(face.score).toBeCloseTo(1 / (1 + Math.exp(-3)), 6)
    expect(face.box).toEqual([20 - 20, 14 - 22, 40, 44])
    expect(face.keypoints).toEqual([8, 10, 24, 10, 16, 20, 16, 28, -2, 14, 34, 14])
  })

  it("decodes against the anchors of the window size the model ran at", () => {
    // 384x224: the stride-16 map has 24x14 cells; anchor 2 * 25 is the second cell of the second row, at (24, 24)
    const anchors = 24 * 14 * 2 + 12 * 7 * 6
    const scores = new Float32Array(anchors).fill(-10)
    const boxes = new Float32Array(anchors * BlazeFace.valuesPerAnchor)
    scores[50] = 2
    boxes.set([1, 2, 30, 30], 50 * 16)
    const [face] = BlazeFace.decode({ scores, boxes }, 0.5, { width: 384, height: 224 })
    expect(face!.box).toEqual([25 - 15, 26 - 15, 30, 30])
    expect(BlazeFace.anchorsFor(384, 224)).toHaveLength(2 * anchors)
  })

  it("drops anchors below the score threshold and clips extreme logits", () => {
    const output = raw((scores) => {
      scores[0] = BlazeFace.logit(0.69)
      scores[1] = BlazeFace.logit(0.71)
      scores[2] = 1e6
    })
    const found = BlazeFace.decode(output, 0.7)
    expect(found.map((f) => Math.round(f.score * 100))).toEqual([71, 100])
    expect(BlazeFace.sigmoid(-1e6)).toBeGreaterThan(0)
  })

  it("keeps only the anchors above a logit threshold, as the inference worker sends them", () => {
    const output = raw((scores, boxes) => {
      scores[3] = 2
      scores[700] = 0.5
      boxes.set([1, 2, 30, 30], 3 * 16)
    })
    const kept = BlazeFace.sparse(output, BlazeFace.minLogit(0.6))
    expect(Array.from(kept.anchors)).toEqual([3, 700])
    expect(Array.from(kept.values).slice(0, 4)).toEqual([1, 2, 30, 30])
    expect(BlazeFace.decode(kept, 0.8)).toEqual(BlazeFace.decode(output, 0.8))
    expect(BlazeFace.decode(kept, 0.8)).toHaveLength(1)
  })
})
