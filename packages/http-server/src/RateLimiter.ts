/**
 * Per-API-key token buckets: each key may make `burst` requests at once and `perSecond` on average. A request that
 * finds the bucket empty is refused with the time until a token is back (the 429's `Retry-After`).
 *
 * Buckets live in memory: a restart forgets them, which at worst lets one extra burst through. Buckets of keys idle
 * long enough to be full again are dropped, so memory stays bounded by the keys active in the last minute. With
 * several processes on PostgreSQL, the per-key limit uses a `Shared` limiter instead (the same bucket, kept in the
 * database: a key limited to N gets N in total, not N per process).
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"

/**
 * The limiter.
 *
 * @since 0.1.0
 */
export interface RateLimiter {
  /** Takes a token for `key` at `now` (ms): 0 when allowed, else how many ms until one is available. */
  readonly take: (key: string, now: number) => number
  /** Like `take`, without taking: 0 when a token is available, else how many ms until one is. */
  readonly peek: (key: string, now: number) => number
}

/**
 * A limiter whose buckets live elsewhere (the shared database): `take` answers as `RateLimiter.take` does.
 *
 * @since 0.1.0
 */
export interface Shared {
  readonly take: (key: string) => Effect.Effect<number>
}

/**
 * Options; `perSecond <= 0` turns limiting off.
 *
 * @since 0.1.0
 */
export interface Options {
  readonly perSecond: number
  readonly burst: number
}

interface Bucket {
  tokens: number
  at: number
}

/**
 * A token-bucket limiter.
 *
 * @since 0.1.0
 */
export const make = (options: Options): RateLimiter => {
  if (options.perSecond <= 0) return { take: () => 0, peek: () => 0 }
  const perMs = options.perSecond / 1000
  const burst = Math.max(1, options.burst)
  const buckets = new Map<string, Bucket>()
  const fullAfterMs = burst / perMs
  let lastPrune = 0
  return {
    peek: (key, now) => {
      const bucket = buckets.get(key)
      if (!bucket) return 0
      const tokens = Math.min(burst, bucket.tokens + (now - bucket.at) * perMs)
      return tokens >= 1 ? 0 : Math.ceil((1 - tokens) / perMs)
    },
    take: (key, now) => {
      if (now - lastPrune > 60_000 && buckets.size > 1000) {
        lastPrune = now
        for (const [k, b] of buckets) if (now - b.at > fullAfterMs) buckets.delete(k)
      }
      let bucket = buckets.get(key)
      if (!bucket) {
        bucket = { tokens: burst, at: now }
        buckets.set(key, bucket)
      }
      bucket.tokens = Math.min(burst, bucket.tokens + (now - bucket.at) * perMs)
      bucket.at = now
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1
        return 0
      }
      return Math.ceil((1 - bucket.tokens) / perMs)
    }
  }
}
