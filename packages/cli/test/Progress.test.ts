import { it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as TestClock from "effect/TestClock"
import { describe, expect } from "vitest"
import * as Output from "../src/Output.js"
import * as Progress from "../src/Progress.js"

describe("Progress", () => {
  it.scoped("in a pipe: one plain line at creation and one per new status, no timings", () => {
    const captured = Output.makeTest({ interactive: false })
    return Effect.gen(function* () {
      const progress = yield* Progress.make()
      expect(yield* progress.taskId).toBeUndefined()
      yield* progress.created("dit1")
      yield* progress.update("dit1", "starting")
      yield* progress.update("dit1", "processing")
      yield* progress.update("dit1", "processing")
      yield* progress.update("dit1", "succeeded")
      expect(yield* progress.taskId).toBe("dit1")
      expect(captured.stderr).toEqual([
        "detect task dit1 created",
        "detect task dit1: starting",
        "detect task dit1: processing",
        "detect task dit1: succeeded"
      ])
      expect(captured.stdout).toEqual([])
    }).pipe(Effect.provide(captured.layer))
  })
})

describe("Progress on a terminal", () => {
  it.scoped("redraws one live line with the elapsed time and prints no plain lines", () => {
    const writes: Array<string> = []
    const output = Output.make(
      { write: () => undefined },
      { write: (c: string) => writes.push(c), isTTY: true, columns: 120 }
    )
    return Effect.gen(function* () {
      const progress = yield* Progress.make()
      yield* progress.created("dit1")
      yield* progress.update("dit1", "processing")
      yield* TestClock.adjust("3 seconds")
      const lines = writes.filter((w) => w.startsWith("\r\x1b[2K") && w.length > 5).map((w) => w.slice(5))
      expect(lines).toContain("detect task dit1: processing, 0ms")
      expect(lines.at(-1)).toBe("detect task dit1: processing, 3s")
      expect(writes.some((w) => w.endsWith("\n"))).toBe(false)
    }).pipe(Effect.provide(Layer.succeed(Output.Output, output)))
  })
})
