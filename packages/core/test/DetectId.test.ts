import { describe, expect, it } from "@effect/vitest"
import { DetectId } from "../src/index.js"

const hour = 3_600_000

describe("DetectId", () => {
  const observedAt = Date.UTC(2026, 4, 27, 12, 14, 5)

  it("expires an hour after the last moment the task was seen in flight (conservative)", () => {
    const o = { detectId: "m1oZzqYp9dN", observedAt, notBefore: observedAt - 2000 }
    expect(DetectId.expiresAt(o)).toBe(observedAt - 2000 + hour)
    expect(DetectId.isUsable(o, observedAt + hour - 60_000)).toBe(true)
    expect(DetectId.isUsable(o, observedAt + hour - 20_000)).toBe(false) // inside the 30 s margin
  })

  it("falls back to the observation time when the task was not watched", () => {
    expect(DetectId.expiresAt({ detectId: "d", observedAt })).toBe(observedAt + hour)
  })

  it("knows a detect_id has expired only an hour after success was observed", () => {
    const o = { detectId: "d", observedAt, notBefore: observedAt - 10 * 60_000 }
    expect(DetectId.isKnownExpired(o, observedAt + hour - 1)).toBe(false)
    expect(DetectId.isKnownExpired(o, observedAt + hour)).toBe(true)
    expect(DetectId.isUsable(o, observedAt + hour - 1)).toBe(false)
  })

  it("compares media URLs after normalisation", () => {
    expect(DetectId.sameMedia("https://Example.com:443/a.png", "https://example.com/a.png")).toBe(true)
    expect(DetectId.sameMedia("https://example.com/a b.png", "https://example.com/a%20b.png")).toBe(true)
    expect(DetectId.sameMedia("https://example.com/a.png", "https://example.com/a.png?v=2")).toBe(false)
    expect(DetectId.sameMedia("https://example.com/a.png", "http://example.com/a.png")).toBe(false)
    expect(DetectId.sameMedia("not a url", "not a url")).toBe(false)
  })
})
