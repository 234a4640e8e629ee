import { describe, expect, it } from "@effect/vitest"
import * as SceneCut from "../src/SceneCut.js"

const raster = (width: number, height: number, colour: (x: number, y: number) => [number, number, number]) => {
  const data = new Uint8Array(width * height * 3)
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(colour(x, y), (y * width + x) * 3)
  return { data, width, height }
}

describe("SceneCut", () => {
  const stripes = (offset: number) => raster(64, 48, (x) => ((x + offset) % 16 < 8 ? [200, 150, 120] : [30, 60, 90]))

  it("sees no cut when the same scene moves (a pan keeps the colours)", () => {
    const a = SceneCut.signature(stripes(0))
    const b = SceneCut.signature(stripes(5))
    expect(SceneCut.distance(a, a)).toBe(0)
    expect(SceneCut.isCut(a, b)).toBe(false)
  })

  it("sees a cut when the colours change, and none before the first frame", () => {
    const a = SceneCut.signature(stripes(0))
    const other = SceneCut.signature(raster(64, 48, () => [20, 200, 20]))
    expect(SceneCut.distance(a, other)).toBeCloseTo(1)
    expect(SceneCut.isCut(a, other)).toBe(true)
    expect(SceneCut.isCut(undefined, other)).toBe(false)
  })
})
