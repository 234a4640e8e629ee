/**
 * The wire's timestamp format, `YYYY-MM-DD HH:mm:ss` (crun.ai gives no time zone; facedet always writes UTC).
 *
 * @since 0.1.0
 */

const pattern = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/

/**
 * Formats epoch milliseconds as `YYYY-MM-DD HH:mm:ss` in UTC.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const format = (epochMs: number): string => new Date(epochMs).toISOString().slice(0, 19).replace("T", " ")

/**
 * Reads a wire timestamp as UTC (facedet's convention); `undefined` when it is not in the wire format or not a
 * real date.
 *
 * @since 0.1.0
 * @category Combinators
 */
export const parseUtc = (text: string): number | undefined => {
  const m = pattern.exec(text)
  if (!m) return undefined
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number]
  const ms = Date.UTC(y, mo - 1, d, h, mi, s)
  return format(ms) === text ? ms : undefined
}
