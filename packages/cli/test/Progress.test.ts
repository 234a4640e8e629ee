import { it } from "@effect/vitest"
import * as Effect from "effect/Effect"
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
