/**
 * In-process wake-ups: a long-poll that listens before it reads the store cannot miss an end that happens between
 * its read and its wait, and a listener that leaves takes nothing with it.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Signals from "../src/internal/signals.js"

// Waits long enough that a test relying on the timeout instead of the signal fails by the test's own timeout.
const forever = 3_600_000

describe("task signals", () => {
  it.scoped("keeps a signal that arrives before the wait (an end between the read and the wait)", () =>
    Effect.gen(function* () {
      const signals = Signals.taskSignals()
      const listener = yield* signals.listen("t1")
      signals.notify("t1")
      yield* listener.wait(forever)
      // Consumed: the next wait needs a new signal.
      const next = yield* Effect.fork(listener.wait(forever))
      yield* Effect.yieldNow()
      expect(next.unsafePoll()).toBeNull()
      signals.notify("t2")
      yield* Effect.yieldNow()
      expect(next.unsafePoll()).toBeNull()
      signals.notify("t1")
      yield* Fiber.join(next)
    })
  )

  it.scoped("wakes every listener of a task, and all of them on shutdown", () =>
    Effect.gen(function* () {
      const signals = Signals.taskSignals()
      const a = yield* signals.listen("t1")
      const b = yield* signals.listen("t1")
      const c = yield* signals.listen("t2")
      const waits = yield* Effect.fork(Effect.all([a.wait(forever), b.wait(forever)], { concurrency: 2 }))
      yield* Effect.yieldNow()
      signals.notify("t1")
      yield* Fiber.join(waits)
      const other = yield* Effect.fork(c.wait(forever))
      yield* Effect.yieldNow()
      signals.notifyAll()
      yield* Fiber.join(other)
    })
  )

  it.effect("a listener that left is not signalled", () =>
    Effect.gen(function* () {
      const signals = Signals.taskSignals()
      const listener = yield* Effect.scoped(signals.listen("t1"))
      signals.notify("t1")
      const wait = yield* Effect.fork(listener.wait(forever))
      yield* Effect.yieldNow()
      expect(wait.unsafePoll()).toBeNull()
      yield* Fiber.interrupt(wait)
    })
  )
})
