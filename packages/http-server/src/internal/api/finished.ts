/**
 * Answers of ended tasks, which never change until the record is swept: a client polling a finished task (the
 * common case) costs a map lookup instead of a store read and a serialisation. Bounded by size, not count, so the
 * memory it takes does not depend on how many faces the tasks had; the oldest entries go first.
 */
import type { Response } from "../httpEdge.js"

/** At most this many bytes (about 6,000 seven-face results). */
const maxBytes = 16 * 1024 * 1024

export interface FinishedAnswers {
  /** The answer remembered under `key`, while it is valid at `now` (an expired one is dropped). */
  readonly get: (key: string, now: number) => Response | undefined
  /** Remembers `response` under `key` until `until` (epoch ms). */
  readonly remember: (key: string, response: Response, until: number) => void
}

/** The cache key of a key id's task: key ids never hold a newline, so "" (no single id) finds nothing. */
export const cacheKey = (owner: string, taskId: string): string => `${owner}\n${taskId}`

export const make = (): FinishedAnswers => {
  const entries = new Map<string, { readonly response: Response; readonly until: number; readonly bytes: number }>()
  let bytes = 0
  const forget = (key: string) => {
    const entry = entries.get(key)
    if (entry === undefined) return
    entries.delete(key)
    bytes -= entry.bytes
  }
  return {
    get: (key, now) => {
      const entry = entries.get(key)
      if (entry === undefined) return undefined
      if (entry.until > now) return entry.response
      forget(key)
      return undefined
    },
    remember: (key, response, until) => {
      // Two bytes per character of a JavaScript string, plus the key and the entry itself.
      const body = response.body
      const size =
        (typeof body === "string" ? 2 * body.length : body instanceof Uint8Array ? body.byteLength : 0) +
        2 * key.length +
        200
      forget(key)
      while (entries.size > 0 && bytes + size > maxBytes) forget(entries.keys().next().value!)
      entries.set(key, { response, until, bytes: size })
      bytes += size
    }
  }
}
