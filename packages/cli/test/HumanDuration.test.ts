import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import { describe, expect, it } from "vitest"
import * as HumanDuration from "../src/HumanDuration.js"

const ms = (text: string) => Either.map(HumanDuration.parse(text), Duration.toMillis)

describe("HumanDuration.parse", () => {
  it.each([
    ["90", 90_000],
    ["1.5", 1_500],
    ["90s", 90_000],
    ["5m", 300_000],
    ["1.5m", 90_000],
    ["1h30m", 5_400_000],
    ["1h 30m", 5_400_000],
    ["250ms", 250],
    ["2 minutes", 120_000],
    [" 10S ", 10_000],
    ["0", 0]
  ])("%s", (text, expected) => {
    expect(ms(text)).toEqual(Either.right(expected))
  })

  it.each(["", "soon", "5 parsecs", "5m soon", "-5s", "1e3", "m5", "8d"])(
    "refuses %j with what is accepted",
    (text) => {
      const parsed = HumanDuration.parse(text)
      expect(Either.isLeft(parsed)).toBe(true)
      expect(Either.getLeft(parsed)).toEqual(expect.objectContaining({ _tag: "Some" }))
    }
  )

  it("refuses more than a week (a typo, not a deadline)", () => {
    expect(Either.getLeft(HumanDuration.parse("200h"))._tag).toBe("Some")
    expect(Either.isRight(HumanDuration.parse("168h"))).toBe(true)
  })
})

describe("HumanDuration.format", () => {
  it.each([
    [0, "0ms"],
    [850, "850ms"],
    [12_400, "12s"],
    [65_000, "1m 05s"],
    [7_380_000, "2h 03m"]
  ])("%d ms", (input, expected) => {
    expect(HumanDuration.format(input)).toBe(expected)
  })
})
