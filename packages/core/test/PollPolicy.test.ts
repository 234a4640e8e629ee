import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Ref from "effect/Ref"
import * as TestClock from "effect/TestClock"
import { PollPolicy } from "../src/index.js"

describe("PollPolicy", () => {
  it("starts at 500 ms and grows by 1.5x to a 5 s cap", () => {
    expect(Array.from({ length: 8 }, (_, n) => Duration.toMillis(PollPolicy.delay(n)))).toEqual([
      500, 750, 1125, 1688, 2531, 3797, 5000, 5000
    ])
  })

  it.effect("polls at those times under the TestClock, and stops when a deadline fires", () =>
    Effect.gen(function* () {
      const times = yield* Ref.make<ReadonlyArray<number>>([])
      const poll = Effect.flatMap(TestClock.currentTimeMillis, (now) => Ref.update(times, (t) => [...t, now]))
      // First poll after the initial delay, as a client does right after creating a task.
      const waiting = Effect.sleep(PollPolicy.delay(0)).pipe(
        Effect.zipRight(Effect.repeat(poll, PollPolicy.make({ initialDelay: "750 millis" }))),
        Effect.timeout("12 seconds"),
        Effect.either
      )
      const fiber = yield* Effect.fork(waiting)
      for (let i = 0; i < 300; i++) yield* TestClock.adjust(Duration.millis(50))
      const result = yield* Fiber.join(fiber)
      expect(result._tag).toBe("Left")
      // 500, then +750, +1125, +1688, +2531, +3797 (cap not reached before the 12 s deadline)
      expect(yield* Ref.get(times)).toEqual([500, 1250, 2375, 4063, 6594, 10391])
    })
  )

  it("has longer default deadlines for video", () => {
    expect(Duration.toMillis(PollPolicy.deadlineFor("image"))).toBe(300_000)
    expect(Duration.toMillis(PollPolicy.deadlineFor("video"))).toBeGreaterThan(300_000)
    expect(Duration.toSeconds(PollPolicy.longPoll.maxWait)).toBe(30)
  })
})
