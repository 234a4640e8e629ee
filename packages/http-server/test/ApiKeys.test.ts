/**
 * API keys and rate limits: a generated key is shown once and only its digest stored (mode 0600); keys verify to a
 * stable id; the token bucket refuses past its burst with the wait until the next token.
 */
import { readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as ApiKeys from "../src/ApiKeys.js"
import * as RateLimiter from "../src/RateLimiter.js"
import { tempDir } from "./support.js"

describe("ApiKeys", () => {
  it.effect("generates a key once, stores only its SHA-256 (0600), and accepts it on the next start", () =>
    Effect.gen(function* () {
      const dataDir = tempDir()
      const first = yield* ApiKeys.load({ keys: [], dataDir })
      expect(first.source).toBe("generated")
      const key = first.generated!
      const file = join(dataDir, "api-keys.json")
      expect(readFileSync(file, "utf8")).not.toContain(key)
      expect(statSync(file).mode & 0o777).toBe(0o600)
      const second = yield* ApiKeys.load({ keys: [], dataDir })
      expect(second).toMatchObject({ source: "stored", generated: undefined })
      expect(second.verify(key)).toBe(first.verify(key))
      expect(second.verify(`${key}x`)).toBeUndefined()
      expect(second.verify(undefined)).toBeUndefined()
    })
  )

  it.effect("configured keys replace the stored one", () =>
    Effect.gen(function* () {
      const keys = yield* ApiKeys.load({ keys: ["alpha-key-0123456789", "beta-key-0123456789"], dataDir: tempDir() })
      expect(keys.source).toBe("env")
      expect(keys.verify("alpha-key-0123456789")).toMatch(/^[0-9a-f]{32}$/)
      expect(keys.verify("beta-key-0123456789")).not.toBe(keys.verify("alpha-key-0123456789"))
      expect(keys.verify("gamma-key-0123456789")).toBeUndefined()
    })
  )
})

describe("RateLimiter", () => {
  it("allows a burst, then refuses with the wait until the next token, per key", () => {
    const limiter = RateLimiter.make({ perSecond: 2, burst: 3 })
    expect([0, 0, 0].map(() => limiter.take("a", 1000))).toEqual([0, 0, 0])
    expect(limiter.take("a", 1000)).toBe(500)
    expect(limiter.take("b", 1000)).toBe(0)
    expect(limiter.take("a", 1500)).toBe(0)
    expect(limiter.take("a", 1500)).toBe(500)
  })

  it("is off at 0 per second", () => {
    const limiter = RateLimiter.make({ perSecond: 0, burst: 1 })
    expect(Array.from({ length: 100 }, () => limiter.take("a", 0)).every((w) => w === 0)).toBe(true)
  })
})
