import { it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import { describe, expect } from "vitest"
import { untilEnded } from "../../src/internal/waiting.js"
import * as Output from "../../src/Output.js"

describe("untilEnded", () => {
  it.effect("interrupted once the task exists: says how to resume it", () => {
    const captured = Output.makeTest()
    return Effect.gen(function* () {
      const fiber = yield* Effect.fork(
        untilEnded((hooks) => Effect.zipRight(hooks.onCreated({ detect_task_id: "dit1" }), Effect.never))
      )
      yield* TestClock.adjust("1 second")
      yield* Fiber.interrupt(fiber)
      expect(captured.stderr.at(-1)).toBe(
        "detect task dit1 continues on the server; resume with: facedet result dit1 --wait"
      )
    }).pipe(Effect.provide(captured.layer))
  })

  it.effect("interrupted before the create was answered: no id to give, and says the task may exist", () => {
    const captured = Output.makeTest()
    return Effect.gen(function* () {
      const fiber = yield* Effect.fork(untilEnded(() => Effect.never))
      yield* TestClock.adjust("1 second")
      yield* Fiber.interrupt(fiber)
      expect(captured.stderr.at(-1)).toBe(
        "interrupted before the server answered with a detect task id; if the create reached it, that task still runs"
      )
    }).pipe(Effect.provide(captured.layer))
  })
})
