import { describe, expect, it } from "@effect/vitest"
import * as Anchors from "../src/Anchors.js"

describe("Anchors", () => {
  it("lays out BlazeFace full-range's 896 anchors: 16x16 cells x 2 at stride 16, then 8x8 cells x 6 at stride 32", () => {
    const a = Anchors.generate(Anchors.blazeFaceBack)
    expect(a.length / 2).toBe(896)
    expect(Anchors.count(Anchors.blazeFaceBack)).toBe(896)
    // first cell of the stride-16 map, twice
    expect([a[0], a[1], a[2], a[3]]).toEqual([8, 8, 8, 8])
    // second cell moves right by one stride
    expect([a[4], a[5]]).toEqual([24, 8])
    // last stride-16 anchor: bottom-right cell
    expect([a[2 * 511], a[2 * 511 + 1]]).toEqual([248, 248])
    // stride-32 map starts at anchor 512 with six anchors per cell
    for (let k = 512; k < 518; k++) expect([a[2 * k], a[2 * k + 1]]).toEqual([16, 16])
    expect([a[2 * 518], a[2 * 518 + 1]]).toEqual([48, 16])
    expect([a[2 * 895], a[2 * 895 + 1]]).toEqual([240, 240])
  })

  it("lays out a rectangular input row by row: 352x256 has 22x16 cells at stride 16 and 11x8 at stride 32", () => {
    const spec = Anchors.resized(Anchors.blazeFaceBack, 352, 256)
    const a = Anchors.generate(spec)
    expect(a.length / 2).toBe(22 * 16 * 2 + 11 * 8 * 6)
    // the second row of the stride-16 map starts after 22 cells of two anchors
    expect([a[2 * 44], a[2 * 44 + 1]]).toEqual([8, 24])
    expect([a[2 * 703], a[2 * 703 + 1]]).toEqual([344, 248])
    expect([a[2 * 704], a[2 * 704 + 1]]).toEqual([16, 16])
    expect([a[2 * 1231], a[2 * 1231 + 1]]).toEqual([336, 240])
  })
})
