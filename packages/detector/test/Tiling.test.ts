import { describe, expect, it } from "@effect/vitest"
import * as Tiling from "../src/Tiling.js"

/** Every point of every level lies in exactly one window core, and that window contains it. */
const coversOnce = (plan: Tiling.Plan, step = 13) => {
  for (const level of plan.levels) {
    for (let y = 0.5; y < level.height; y += step) {
      for (let x = 0.5; x < level.width; x += step) {
        const owners = level.tiles.filter((t) => x >= t.core[0] && x < t.core[2] && y >= t.core[1] && y < t.core[3])
        expect(owners).toHaveLength(1)
        const [t] = owners
        expect(x >= t!.x && x < t!.x + t!.width && y >= t!.y && y < t!.y + t!.height).toBe(true)
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

  it("looks at a small photo in one window, at a scale that keeps its faces large enough", () => {
    const plan = Tiling.plan(500, 375)
    expect(plan.levels).toHaveLength(1)
    // 333x250 in one 352x256 run rather than two 256x256 tiles
    expect(plan.levels[0]!.tiles).toEqual([expect.objectContaining({ x: 0, y: 0, width: 352, height: 256 })])
    expect(plan.cost).toBeCloseTo((352 * 256) / (256 * 256), 6)
    // a 36-pixel face becomes 24 model pixels
    expect(36 * plan.levels[0]!.scale).toBeCloseTo(24, 0)
    expect(plan.levels[0]!.maxFace).toBe(Number.POSITIVE_INFINITY)
    coversOnce(plan)
  })

  it("sizes windows in multiples of 32 within the area limit, overlapping by at least the minimum", () => {
    for (const [w, h] of [
      [3000, 2000],
      [1920, 1350],
      [8000, 5000],
      [1350, 1920],
      [4000, 600]
    ] as const) {
      const plan = Tiling.plan(w, h)
      for (const level of plan.levels) {
        for (const t of level.tiles) {
          expect([t.width % 32, t.height % 32]).toEqual([0, 0])
          expect(t.width * t.height).toBeLessThanOrEqual(Tiling.defaults.maxWindowArea)
        }
        const xs = [...new Set(level.tiles.map((t) => t.x))].sort((a, b) => a - b)
        const ys = [...new Set(level.tiles.map((t) => t.y))].sort((a, b) => a - b)
        const [first] = level.tiles
        for (let i = 1; i < xs.length; i++) expect(xs[i - 1]! + first!.width - xs[i]!).toBeGreaterThanOrEqual(64)
        for (let i = 1; i < ys.length; i++) expect(ys[i - 1]! + first!.height - ys[i]!).toBeGreaterThanOrEqual(64)
        // the windows reach the far edges
        expect(xs[xs.length - 1]! + first!.width).toBeGreaterThanOrEqual(level.width)
        expect(ys[ys.length - 1]! + first!.height).toBeGreaterThanOrEqual(level.height)
      }
      coversOnce(plan, 31)
    }
  })

  it("cuts a 3000x2000 group photo into a fine tiled level for small faces and a coarse one for large faces", () => {
    const plan = Tiling.plan(3000, 2000)
    expect(plan.levels.length).toBeGreaterThanOrEqual(2)
    expect(plan.tileCount).toBeLessThanOrEqual(Tiling.defaults.maxTiles)
    // larger windows cover the same levels with less model input than the 26 reference tiles
    expect(plan.cost).toBeLessThan(24)
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
      expect(xs[i - 1]! + last.tiles[0]!.width - xs[i]!).toBeGreaterThanOrEqual(Tiling.defaults.modelMaxFace / 1.1)
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
