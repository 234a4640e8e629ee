/**
 * How long a `detect_id` (a succeeded detection's `result.id`) can be used for a multi-face swap, and whether a
 * swap's media URL is the one that was detected.
 *
 * crun.ai gives a detect_id one hour. Its `started_at`/`finished_at` carry no time zone, so they cannot date it;
 * we date it from our own clock instead:
 *
 * - `notBefore`: the start of the last request that still saw the task in flight (or of the create call). Success
 *   came after it, so `notBefore + 1 h` is the earliest the detect_id can expire: the conservative expiry.
 * - `observedAt`: when the answer showing success arrived. Success came before it, so after `observedAt + 1 h` the
 *   detect_id has certainly expired.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"

/**
 * @since 0.1.0
 * @category Constants
 */
export const validity: Duration.Duration = Duration.hours(1)

/**
 * What a client knows about a detect_id.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Observation {
  readonly detectId: string
  /** The media URL that was detected (a multi-face swap must use the same one). */
  readonly mediaUrl?: string | undefined
  /** Epoch ms when the answer showing success arrived. */
  readonly observedAt: number
  /** Epoch ms of the start of the last request that saw the task not yet succeeded, when known. */
  readonly notBefore?: number | undefined
}

/**
 * The conservative expiry (epoch ms): the earliest instant the detect_id may stop working. Without `notBefore`
 * (the result was fetched without watching the task run) it is `observedAt + 1 h`, the best estimate there is.
 *
 * @since 0.1.0
 * @category Combinators
 */
export const expiresAt = (o: Observation): number => (o.notBefore ?? o.observedAt) + Duration.toMillis(validity)

/**
 * Whether the detect_id is still safe to use at `nowMs`, with a margin for the swap request itself (default 30 s).
 *
 * @since 0.1.0
 * @category Guards
 */
export const isUsable = (o: Observation, nowMs: number, marginMs = 30_000): boolean => nowMs + marginMs < expiresAt(o)

/**
 * Whether the detect_id has certainly expired at `nowMs` (more than an hour after success was observed). A client
 * refuses a swap locally only then: otherwise the server decides.
 *
 * @since 0.1.0
 * @category Guards
 */
export const isKnownExpired = (o: Observation, nowMs: number): boolean =>
  nowMs >= o.observedAt + Duration.toMillis(validity)

/**
 * Whether two media URLs name the same resource: compared after WHATWG normalisation (scheme and host case,
 * default ports, percent-encoding of the path), otherwise exactly; query and fragment included.
 *
 * @since 0.1.0
 * @category Guards
 */
export const sameMedia = (detected: string, swap: string): boolean => {
  const a = normalize(detected)
  const b = normalize(swap)
  return a !== undefined && a === b
}

const normalize = (url: string): string | undefined => {
  try {
    return new URL(url.trim()).href
  } catch {
    return undefined
  }
}
