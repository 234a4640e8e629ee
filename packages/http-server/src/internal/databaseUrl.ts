/**
 * Checking a PostgreSQL URL without loading the driver (the configuration checks it at every start, SQLite or not).
 */
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"

/** A PostgreSQL URL that was checked, kept redacted. */
export interface DatabaseUrl {
  readonly url: Redacted.Redacted<string>
  /** The URL with its password replaced by `***`, for messages and logs. */
  readonly display: string
}

/** Replaces the password of a URL (or anything that looks like one) by `***`. */
export const redact = (raw: string): string => {
  try {
    const u = new URL(raw)
    if (u.password !== "") u.password = "***"
    return u.toString()
  } catch {
    return raw.replace(/\/\/([^:/@]*):[^@]*@/, "//$1:***@")
  }
}

/** Checks a database URL; the message never contains the password. */
export const parseUrl = (raw: string): Either.Either<DatabaseUrl, string> => {
  const display = redact(raw)
  let u: URL
  try {
    u = new URL(raw)
  } catch {
    return Either.left(`not a URL: ${display} (expected postgres://user:password@host:5432/database)`)
  }
  if (u.protocol !== "postgres:" && u.protocol !== "postgresql:") {
    return Either.left(`expected a postgres:// or postgresql:// URL, got ${u.protocol}// in ${display}`)
  }
  if (u.hostname === "" && !u.searchParams.has("host")) return Either.left(`no host in ${display}`)
  if (u.pathname === "" || u.pathname === "/") return Either.left(`no database name in ${display} (add /database)`)
  if (u.port !== "" && !(Number(u.port) > 0 && Number(u.port) < 65536)) {
    return Either.left(`bad port in ${display}`)
  }
  return Either.right({ url: Redacted.make(raw), display })
}
