import { describe, expect, it } from "@effect/vitest"
import * as Tiling from "../src/Tiling.js"

/** Every point of every level lies in exactly one tile core, and that tile contains it. */
const coversOnce = (plan: Tiling.Plan) => {
  for (const level of plan.levels) {
    for (let y = 0.5; y < level.height; y += 13) {
      for (let x = 0.5; x < level.width; x += 13) {
        const owners = level.tiles.filter((t) => x >= t.core[0] && x < t.core[2] && y >= t.core[1] && y < t.core[3])
        expect(owners).toHaveLength(1)
        const [t] = owners
        expect(x >= t!.x && x < t!.x + 256 && y >= t!.y && y < t!.y + 256).toBe(true)
      }
    }
  }
}

describe("Tiling", () => {
  it("spreads overlapping tiles evenly over an axis", () => {
    expect(Tiling.positions(200, 256, 64)).toEqual([0])
    expect(Tiling.positions(256, 256, 64)).toEqual([0])
    const xs = Tiling.positions(1200, 256, 64)
    expect(xs[0]).toBe(0)
    expect(xs[xs.length - 1]).toBe(1200 - 256)
    for (let i = 1; i < xs.length; i++) expect(xs[i - 1]! + 256 - xs[i]!).toBeGreaterThanOrEqual(64)
  })

  it("looks at a small photo in one or two tiles, at a scale that keeps its faces large enough", () => {
    const plan = Tiling.plan(500, 375)
    expect(plan.levels).toHaveLength(1)
    expect(plan.tileCount).toBeLessThanOrEqual(2)
    // a 36-pixel face becomes 24 model pixels
    expect(36 * plan.levels[0]!.scale).toBeCloseTo(24, 0)
    expect(plan.levels[0]!.maxFace).toBe(Number.POSITIVE_INFINITY)
    coversOnce(plan)
  })

  it("cuts a 3000x2000 group photo into a fine tiled level for small faces and a coarse one for large faces", () => {
    const plan = Tiling.plan(3000, 2000)
    expect(plan.levels.length).toBeGreaterThanOrEqual(2)
    expect(plan.tileCount).toBeLessThanOrEqual(Tiling.defaults.maxTiles)
    const [fine, ...coarser] = plan.levels
    // a 60-pixel face is at least 24 model pixels at the finest level
    expect(60 * fine!.scale).toBeGreaterThanOrEqual(23.9)
    // the last level is coarse, its tiles overlap by more than the largest face the model sees, and it keeps any
    // large face
    const last = coarser[coarser.length - 1]!
    expect(Math.max(last.width, last.height)).toBeLessThanOrEqual(400)
    expect(last.maxFace).toBe(Number.POSITIVE_INFINITY)
    const xs = last.tiles.map((t) => t.x)
    for (let i = 1; i < xs.length; i++)
      expect(xs[i - 1]! + 256 - xs[i]!).toBeGreaterThanOrEqual(Tiling.defaults.modelMaxFace / 1.1)
    // size bands hand over with overlap, so no face size falls between levels
    for (let i = 1; i < plan.levels.length; i++) {
      const prev = plan.levels[i - 1]!
      const here = plan.levels[i]!
      expect(here.minFace / here.scale).toBeLessThan(prev.maxFace / prev.scale)
    }
    coversOnce(plan)
  })

  it("keeps within the tile budget by lowering the finest scale", () => {
    const plan = Tiling.plan(1280, 720, { minFaceSize: 40, maxTiles: 3 })
    expect(plan.tileCount).toBeLessThanOrEqual(3)
    expect(Tiling.plan(8000, 5000).tileCount).toBeLessThanOrEqual(32)
  })

  it("keeps a candidate only in the tile whose core holds its centre, and only in its level's size band", () => {
    const plan = Tiling.plan(3000, 2000)
    const fine = plan.levels[0]!
    const [a, b] = fine.tiles
    const box = [a!.core[2] - 10, 100, 30, 30] as const // centre just right of a's core
    expect(Tiling.keeps(fine, a!, box)).toBe(false)
    expect(Tiling.keeps(fine, b!, box)).toBe(true)
    expect(Tiling.keeps(fine, b!, [box[0], box[1], 200, 200])).toBe(false)
  })
})
