import { describe, expect, it } from "@effect/vitest"
import * as Identity from "../src/Identity.js"

/** An embedding at `x` on the first axis (distances are then differences of x). */
const at = (x: number) => Float32Array.from({ length: 128 }, (_, i) => (i === 0 ? x : 0))

describe("Identity", () => {
  it("joins tracks closer than the threshold and keeps far ones apart", () => {
    const groups = Identity.group(
      [
        { frames: [0, 1, 2], embedding: at(0) },
        { frames: [5, 6], embedding: at(0.9) },
        { frames: [10, 11], embedding: at(0.2) },
        { frames: [12], embedding: at(1.0) }
      ],
      0.45
    )
    expect(groups).toEqual([
      [0, 2],
      [1, 3]
    ])
  })

  it("never joins tracks seen in the same frame, however alike (two people who look alike)", () => {
    const twins = [
      { frames: [0, 1, 2], embedding: at(0) },
      { frames: [2, 3], embedding: at(0.01) }
    ]
    expect(Identity.group(twins, 0.45)).toEqual([[0], [1]])
    // A third track may join one of them, not both: the pair stays apart.
    const groups = Identity.group([...twins, { frames: [8], embedding: at(0.02) }], 0.45)
    expect(groups).toHaveLength(2)
    expect(groups.flat().sort()).toEqual([0, 1, 2])
  })

  it("links by average distance: a chain of small steps does not join its two ends", () => {
    const chain = [0, 0.3, 0.6, 0.9].map((x, i) => ({ frames: [i * 10], embedding: at(x) }))
    const groups = Identity.group(chain, 0.45)
    expect(groups.length).toBeGreaterThan(1)
    for (const g of groups) {
      const xs = g.map((i) => chain[i]!.embedding[0]!)
      expect(Math.max(...xs) - Math.min(...xs)).toBeLessThan(0.9)
    }
  })

  it("leaves a track without an embedding on its own, and says which tracks need one", () => {
    expect(
      Identity.group([
        { frames: [0], embedding: undefined },
        { frames: [5], embedding: at(0) }
      ])
    ).toEqual([[0], [1]])
    // Everyone seen together all along: nobody can join anybody, so no embedding is needed.
    expect(Identity.joinable([[0, 1, 2], [0, 1, 2], [1]])).toEqual([false, false, false])
    expect(Identity.joinable([[0, 1], [1, 2], [5]])).toEqual([true, true, true])
  })

  it("merges appearance spans into ordered, disjoint segments", () => {
    expect(
      Identity.segments([
        [4000, 5000],
        [0, 1000],
        [900, 2000],
        [5000, 6000]
      ])
    ).toEqual([
      [0, 2000],
      [4000, 6000]
    ])
  })
})
