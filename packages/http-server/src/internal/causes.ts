/**
 * Walking a failure's `cause` chain (a `StoreError` wraps an `SqlError`, which wraps the driver's error...), for the
 * checks that classify a failure by what it wraps.
 */

/** The failure and the causes it wraps, outermost first, at most `depth` of them. */
export const chain = (cause: unknown, depth = 4): ReadonlyArray<unknown> => {
  const links: Array<unknown> = []
  let c = cause
  while (links.length < depth && c !== undefined) {
    links.push(c)
    c = typeof c === "object" && c !== null && "cause" in c ? c.cause : undefined
  }
  return links
}

/** A link's `code` (`"ECONNRESET"`, `"SQLITE_FULL"`, a PostgreSQL SQLSTATE...), or `""`. */
export const codeOf = (c: unknown): string => (typeof c === "object" && c !== null && "code" in c ? String(c.code) : "")
