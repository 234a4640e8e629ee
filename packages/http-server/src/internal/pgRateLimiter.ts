/**
 * The per-key token bucket of `RateLimiter`, kept in the shared database so that every process draws from the same
 * bucket. One statement per request: an upsert that refills the bucket by the time since its last use (the
 * database's clock), takes a token when there is one, and says whether it did.
 *
 * While the database is out of reach the limiter lets requests through: the routes behind it need the database
 * anyway and answer 503 on their own, and a limiter must not turn an outage into 429s.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import type { Options, Shared } from "../RateLimiter.js"

export const make = (options: Options): Effect.Effect<Shared, never, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    if (options.perSecond <= 0) return { take: () => Effect.succeed(0) }
    const perMs = options.perSecond / 1000
    const burst = Math.max(1, options.burst)
    return {
      take: (key) =>
        sql<{ tokens: number; granted: boolean }>`INSERT INTO rate_buckets AS b (key, tokens, at, granted)
            VALUES (${key}, ${burst - 1}::float8, facedet_now_ms(), true)
          ON CONFLICT (key) DO UPDATE SET
            granted = least(${burst}::float8, b.tokens + (EXCLUDED.at - b.at) * ${perMs}::float8) >= 1,
            tokens = least(${burst}::float8, b.tokens + (EXCLUDED.at - b.at) * ${perMs}::float8)
              - CASE WHEN least(${burst}::float8, b.tokens + (EXCLUDED.at - b.at) * ${perMs}::float8) >= 1 THEN 1 ELSE 0 END,
            at = EXCLUDED.at
          RETURNING tokens, granted`.pipe(
          Effect.map(([row]) =>
            row === undefined || row.granted ? 0 : Math.max(1, Math.ceil((1 - row.tokens) / perMs))
          ),
          Effect.orElseSucceed(() => 0)
        )
    }
  })
