import { randomBytes } from "node:crypto"
import { describe, expect, it } from "@effect/vitest"
import { TaskId } from "../src/index.js"

describe("TaskId", () => {
  it("mints ids in crun.ai's shapes", () => {
    for (let i = 0; i < 200; i++) {
      expect(TaskId.makeDetectTaskId(randomBytes)).toMatch(TaskId.detectTaskIdPattern)
      expect(TaskId.makeDetectId(randomBytes)).toMatch(TaskId.detectIdPattern)
    }
    expect(TaskId.makeToken(randomBytes)).toMatch(/^[A-Za-z0-9]{32}$/)
  })

  it("matches the documented example ids", () => {
    expect("dit60yt8reqplt1c16").toMatch(TaskId.detectTaskIdPattern)
    expect("m1oZzqYp9dN").toMatch(TaskId.detectIdPattern)
  })

  it("skips bytes that would bias the draw", () => {
    // 36 symbols: bytes >= 252 are skipped; 255 then 1 gives alphabet[1].
    let calls = 0
    const source = (n: number) =>
      calls++ === 0 ? Uint8Array.from({ length: n }, (_, i) => (i === 0 ? 255 : 1)) : new Uint8Array(n)
    expect(TaskId.fromRandomBytes(source, "abcdefghijklmnopqrstuvwxyz0123456789", 3)).toBe("bbb")
  })

  it("is uniform enough over many draws", () => {
    const counts = new Map<string, number>()
    for (let i = 0; i < 2000; i++)
      for (const c of TaskId.makeDetectTaskId(randomBytes)) counts.set(c, (counts.get(c) ?? 0) + 1)
    expect(counts.size).toBe(36)
    const expected = (2000 * 18) / 36
    for (const n of counts.values()) expect(Math.abs(n - expected) / expected).toBeLessThan(0.2)
  })
})
