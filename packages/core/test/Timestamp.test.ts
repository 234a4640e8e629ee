import { describe, expect, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import { Timestamp } from "../src/index.js"

// Seeded, so a failure replays: FACEDET_PROPERTY_SEED=<seed>.
FastCheck.configureGlobal({ seed: Number(process.env.FACEDET_PROPERTY_SEED ?? 20261204) })

describe("Timestamp", () => {
  it("formats in UTC in the wire format", () => {
    expect(Timestamp.format(Date.UTC(2026, 4, 27, 12, 14, 3, 999))).toBe("2026-05-27 12:14:03")
  })

  it("reads the documented example as UTC and rejects other shapes and impossible dates", () => {
    expect(Timestamp.parseUtc("2026-05-27 12:14:03")).toBe(Date.UTC(2026, 4, 27, 12, 14, 3))
    expect(Timestamp.parseUtc("2026-05-27T12:14:03Z")).toBeUndefined()
    expect(Timestamp.parseUtc("2026-02-30 00:00:00")).toBeUndefined()
    expect(Timestamp.parseUtc("")).toBeUndefined()
  })

  it.prop("round-trips any second", [FastCheck.integer({ min: 0, max: 4102444800 })], ([seconds]) => {
    expect(Timestamp.parseUtc(Timestamp.format(seconds * 1000))).toBe(seconds * 1000)
  })
})
