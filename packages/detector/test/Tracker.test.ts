import { describe, expect, it } from "@effect/vitest"
import type { Box } from "../src/Detection.js"
import * as Tracker from "../src/Tracker.js"

const run = (
  frames: ReadonlyArray<{ readonly boxes: ReadonlyArray<Box>; readonly cut?: boolean }>,
  scores?: number
) => {
  let state = Tracker.empty<string>()
  frames.forEach((f, index) => {
    state = Tracker.step(
      state,
      { index, timeMs: index * 333, cut: f.cut ?? false },
      f.boxes.map((box, k) => ({ box, score: scores ?? 0.9, data: `${index}:${k}` }))
    )
  })
  return Tracker.finish(state)
}

describe("Tracker", () => {
  it("follows two people across a pan as two tracks, not one per frame", () => {
    const frames = Array.from({ length: 8 }, (_, i) => ({
      boxes: [[100 - i * 30, 200, 120, 120] as Box, [500 - i * 30, 180, 110, 110] as Box]
    }))
    const people = run(frames)
    expect(people).toHaveLength(2)
    expect(people.map((p) => [p.hits, p.firstSeenMs, p.lastSeenMs])).toEqual([
      [8, 0, 7 * 333],
      [8, 0, 7 * 333]
    ])
  })

  it("follows a fast zoom as one track: the prediction carries the change of scale, not only the motion", () => {
    // A zoom that speeds up (1.3x, then 1.7x per sample) on a face off the zoom's centre (640, 360), which the
    // zoom pushes outwards: one sample to the next, the size changes more than a size-blind link allows (1.6x).
    const scales = [1, 1.3, 1.3 * 1.7, 1.3 * 1.7 ** 2, 1.3 * 1.7 ** 3]
    const frames = scales.map((k) => {
      const w = 40 * k
      const cx = 640 + 60 * k
      return { boxes: [[cx - w / 2, 360 - w / 2, w, w] as Box] }
    })
    const people = run(frames)
    expect(people.map((p) => p.hits)).toEqual([5])
    expect(people[0]!.frames).toEqual([0, 1, 2, 3, 4])
    // The size is predicted at the last rate of change.
    const grown = Tracker.predict(
      {
        previous: { frame: 0, timeMs: 0, box: [0, 0, 100, 100], score: 1, data: "" },
        last: { frame: 1, timeMs: 333, box: [0, 0, 120, 120], score: 1, data: "" }
      },
      666
    )
    expect(grown[2]).toBeCloseTo(144, 6)
  })

  it("links fast motion by predicted position and keeps a track through a missed frame", () => {
    const frames = [
      { boxes: [[0, 0, 50, 50] as Box] },
      { boxes: [[25, 0, 50, 50] as Box] },
      { boxes: [[50, 0, 50, 50] as Box] },
      { boxes: [] },
      { boxes: [[100, 0, 50, 50] as Box] } // no overlap with the last box seen, but where the motion leads
    ]
    const people = run(frames)
    expect(people).toHaveLength(1)
    expect(people[0]!.hits).toBe(4)
  })

  it("ends every track at a scene cut", () => {
    const frames = [
      { boxes: [[100, 100, 80, 80] as Box] },
      { boxes: [[100, 100, 80, 80] as Box] },
      { boxes: [[100, 100, 80, 80] as Box], cut: true },
      { boxes: [[100, 100, 80, 80] as Box] }
    ]
    expect(run(frames)).toHaveLength(2)
  })

  it("ends a track after a long absence, and drops single-frame noise in longer clips", () => {
    const frames = [
      { boxes: [[100, 100, 80, 80] as Box, [400, 100, 30, 30] as Box] },
      { boxes: [[100, 100, 80, 80] as Box] },
      ...Array.from({ length: 8 }, () => ({ boxes: [] as Array<Box> })),
      { boxes: [[100, 100, 80, 80] as Box] },
      { boxes: [[100, 100, 80, 80] as Box] }
    ]
    const people = run(frames)
    expect(people.map((p) => p.hits)).toEqual([2, 2])
  })

  it("keeps single sightings when the clip has only one or two frames", () => {
    expect(run([{ boxes: [[0, 0, 40, 40] as Box] }])).toHaveLength(1)
  })

  it("represents a person by the observation with the best score x size", () => {
    let state = Tracker.empty<string>()
    const seen = [
      { box: [100, 100, 60, 60] as Box, score: 0.95 },
      { box: [105, 100, 90, 90] as Box, score: 0.9 },
      { box: [110, 100, 92, 92] as Box, score: 0.5 }
    ]
    seen.forEach((s, index) => {
      state = Tracker.step(state, { index, timeMs: index * 500, cut: false }, [{ ...s, data: `frame ${index}` }])
    })
    const [person] = Tracker.finish(state)
    expect(person!.best.data).toBe("frame 1")
  })
})
