/**
 * The server's log: Effect's `Logger`, replaced by one that writes what operators read. Text lines
 * (`facedet: <message>`) on stderr, or with `FACEDET_LOG_FORMAT=json` one JSON object per event (`time`, `level`,
 * `msg`, plus the access log's fields) on stdout; a sink replaces either stream (tests, the CLI's output). Every
 * part of the server logs with `Effect.log*`, so the format is decided here once. Lines never hold keys or
 * secrets: callers log key ids, never keys.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"
import * as FiberRef from "effect/FiberRef"
import * as FiberRefs from "effect/FiberRefs"
import * as HashMap from "effect/HashMap"
import * as HashSet from "effect/HashSet"
import * as Layer from "effect/Layer"
import * as List from "effect/List"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import type { AccessEntry } from "./httpEdge.js"

/** Where finished lines go. */
export type Sink = (line: string) => void

export type Format = "text" | "json"

const stderr: Sink = (line) => process.stderr.write(`${line}\n`)
const stdout: Sink = (line) => process.stdout.write(`${line}\n`)

/** The sink of a format when none is given: JSON to stdout (for collectors), text to stderr. */
export const defaultSink = (format: Format): Sink => (format === "json" ? stdout : stderr)

/** A failure's cause in one line: an Error's message, a tagged error's message, else its text. */
export const describe = (cause: unknown): string => {
  if (Cause.isCause(cause)) {
    const failure = Cause.failureOption(cause)
    if (Option.isSome(failure)) return describe(failure.value)
    const defect = Cause.dieOption(cause)
    return Option.isSome(defect) ? describe(defect.value) : Cause.pretty(cause)
  }
  return cause instanceof Error
    ? cause.message
    : typeof cause === "object" && cause !== null && "message" in cause
      ? String(cause.message)
      : String(cause)
}

const levelName = (level: LogLevel.LogLevel): string =>
  level._tag === "Warning" ? "warn" : level._tag === "Fatal" ? "error" : level.label.toLowerCase()

const text = (message: unknown): string =>
  Array.isArray(message) ? message.map((m) => (typeof m === "string" ? m : describe(m))).join(" ") : String(message)

/** The logger of a format over a sink. Annotations become JSON fields (the access log's `request_id`, ...). */
export const make = (format: Format, sink: Sink = defaultSink(format)): Logger.Logger<unknown, void> =>
  Logger.make(({ annotations, cause, date, logLevel, message }) => {
    const failure = Cause.isEmpty(cause) ? "" : `: ${describe(cause)}`
    const msg = `${text(message)}${failure}`
    if (format === "text") {
      sink(`facedet: ${msg}`)
      return
    }
    const fields: Record<string, unknown> = { time: date.toISOString(), level: levelName(logLevel), msg }
    for (const [key, value] of HashMap.toEntries(annotations)) fields[key] = value
    sink(JSON.stringify(fields))
  })

const serverLoggers = new WeakSet<Logger.Logger<unknown, void>>()

/**
 * Makes `logger` the one that writes: it replaces Effect's default logger and any server logger set further out, so
 * nesting (`run` around `serve` around `make`) never writes a line twice.
 */
export const install = (logger: Logger.Logger<unknown, void>): Layer.Layer<never> => {
  serverLoggers.add(logger)
  return Layer.fiberRefLocallyScopedWith(FiberRef.currentLoggers, (loggers) =>
    HashSet.add(
      HashSet.filter(
        loggers,
        (l) => l !== Logger.defaultLogger && !serverLoggers.has(l as Logger.Logger<unknown, void>)
      ),
      logger
    )
  )
}

/** The server's logger of a format over a sink, installed (see `install`). */
export const layer = (format: Format, sink?: Sink): Layer.Layer<never> => install(make(format, sink))

/** Logs a server-side failure with its cause (never shown to clients). */
export const failure = (message: string, cause: unknown): Effect.Effect<void> =>
  Effect.logError(`${message}: ${describe(cause)}`)

/**
 * The access log's writer: one entry per answered request, through the same logger, called synchronously by the
 * HTTP edge after it answers (a fiber per log line would cost the result call more than its answer).
 */
export const access =
  (logger: Logger.Logger<unknown, void>, format: Format) =>
  (e: AccessEntry): void =>
    logger.log({
      fiberId: FiberId.none,
      logLevel: LogLevel.Info,
      message: format === "json" ? "request" : `${e.method} ${e.route} ${e.status} ${e.ms} ms id=${e.requestId}`,
      cause: Cause.empty,
      context: noFiberRefs,
      spans: List.empty(),
      annotations:
        format === "json"
          ? HashMap.make(
              ["request_id", e.requestId],
              ["method", e.method],
              ["route", e.route],
              ["status", e.status],
              ["ms", e.ms],
              ["remote", e.remote]
            )
          : HashMap.empty(),
      date: new Date()
    })

const noFiberRefs = FiberRefs.unsafeMake(new Map())
