/**
 * Durations as people type them on a command line (`--timeout 90s`, `5m`, `1h30m`, `1.5m`, `250ms`, `2 minutes`)
 * and as the command prints them (`1m 05s`).
 *
 * A bare number is seconds, as in `sleep` and `timeout(1)`. `0` means "no deadline".
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"

const unitMs: Record<string, number> = {
  ms: 1,
  millisecond: 1,
  milliseconds: 1,
  s: 1000,
  sec: 1000,
  secs: 1000,
  second: 1000,
  seconds: 1000,
  m: 60_000,
  min: 60_000,
  mins: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hr: 3_600_000,
  hrs: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000
}

const part = /(\d+(?:\.\d+)?|\.\d+)\s*([a-z]+)/gy

/** A week: longer deadlines are almost certainly a typo. */
const maxMs = 7 * 24 * 3_600_000

/**
 * Parses a duration; `Left` carries a message saying what is accepted.
 *
 * @since 0.1.0
 * @category Parsing
 */
export const parse = (input: string): Either.Either<Duration.Duration, string> => {
  const text = input.trim().toLowerCase()
  const invalid = Either.left(
    `"${input}" is not a duration: use a number of seconds or units like 90s, 5m, 1h30m, 1.5m, 500ms`
  )
  if (text === "") return invalid
  if (/^\d+(?:\.\d+)?$/.test(text)) return bounded(Number(text) * 1000, input)
  let total = 0
  let consumed = 0
  part.lastIndex = 0
  for (let m = part.exec(text); m !== null; m = part.exec(text)) {
    const unit = unitMs[m[2]!]
    if (unit === undefined) return invalid
    total += Number(m[1]) * unit
    // Allow "1h 30m" as well as "1h30m".
    while (text[part.lastIndex] === " ") part.lastIndex++
    consumed = part.lastIndex
  }
  if (consumed !== text.length) return invalid
  return bounded(total, input)
}

const bounded = (ms: number, input: string): Either.Either<Duration.Duration, string> =>
  Number.isFinite(ms) && ms <= maxMs
    ? Either.right(Duration.millis(Math.round(ms)))
    : Either.left(`"${input}" is longer than a week; use 0 for no deadline`)

/**
 * A short rendering for status lines and messages: `850ms`, `12s`, `1m 05s`, `2h 03m`.
 *
 * @since 0.1.0
 * @category Formatting
 */
export const format = (duration: Duration.DurationInput): string => {
  const ms = Math.max(0, Math.round(Duration.toMillis(Duration.decode(duration))))
  if (ms < 1000) return `${ms}ms`
  const s = Math.floor(ms / 1000)
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, "0")}s`
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, "0")}m`
}
