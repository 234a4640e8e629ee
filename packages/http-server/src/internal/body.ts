/**
 * Reading request bodies under a byte limit: whole (JSON) or streamed to a file (uploads). A declared
 * `Content-Length` over the limit is refused before a byte is read; a body that grows past it while streaming is
 * cut off and its partial file removed.
 */
import { createWriteStream, rmSync } from "node:fs"
import type { IncomingMessage } from "node:http"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"

/** The body is larger than allowed. */
export class BodyTooLarge extends Data.TaggedError("BodyTooLarge")<{ readonly limit: number }> {
  override get message(): string {
    return `the request body is larger than ${this.limit} bytes`
  }
}

/** The client went away or the body could not be stored. */
/** The first bytes are no supported media: the upload stops there. */
export class BodyRefused extends Data.TaggedError("BodyRefused")<{ readonly head: Uint8Array }> {
  override get message(): string {
    return "the upload is not a supported image or video"
  }
}

/** Writing the body to disk failed (disk full, too many open files...): the server's fault. */
export class BodyWriteFailed extends Data.TaggedError("BodyWriteFailed")<{ readonly cause: unknown }> {
  override get message(): string {
    return `the upload could not be written: ${this.cause instanceof Error ? this.cause.message : String(this.cause)}`
  }
}

export class BodyFailed extends Data.TaggedError("BodyFailed")<{ readonly cause: unknown }> {
  override get message(): string {
    return `the request body could not be read: ${this.cause instanceof Error ? this.cause.message : String(this.cause)}`
  }
}

const declaredTooLarge = (req: IncomingMessage, limit: number): boolean => {
  const declared = Number(req.headers["content-length"])
  return Number.isFinite(declared) && declared > limit
}

/** The whole body, at most `limit` bytes. */
export const read = (req: IncomingMessage, limit: number): Effect.Effect<Buffer, BodyTooLarge | BodyFailed> =>
  Effect.async<Buffer, BodyTooLarge | BodyFailed>((resume) => {
    if (declaredTooLarge(req, limit)) return resume(Effect.fail(new BodyTooLarge({ limit })))
    const chunks: Array<Buffer> = []
    let size = 0
    const cleanup = () => {
      req.off("data", onData)
      req.off("end", onEnd)
      req.off("error", onError)
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        cleanup()
        req.pause()
        resume(Effect.fail(new BodyTooLarge({ limit })))
      } else chunks.push(chunk)
    }
    const onEnd = () => {
      cleanup()
      resume(Effect.succeed(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)))
    }
    const onError = (cause: unknown) => {
      cleanup()
      resume(Effect.fail(new BodyFailed({ cause })))
    }
    req.on("data", onData)
    req.once("end", onEnd)
    req.once("error", onError)
    return Effect.sync(cleanup)
  })

/** What an upload stored: its size and first bytes (for sniffing). */
export interface Stored {
  readonly size: number
  readonly head: Uint8Array
}

/** Streams the body into `path` (created with mode 0600), at most `limit` bytes; removes the file on failure. */
export const toFile = (
  req: IncomingMessage,
  path: string,
  limit: number,
  options: {
    readonly headLength?: number
    /** Called once the first `headLength` bytes are in: a tighter limit for what they show, or "refuse". */
    readonly limitFor?: (head: Uint8Array) => number | "refuse"
  } = {}
): Effect.Effect<Stored, BodyTooLarge | BodyRefused | BodyFailed | BodyWriteFailed> =>
  Effect.async<Stored, BodyTooLarge | BodyRefused | BodyFailed | BodyWriteFailed>((resume) => {
    if (declaredTooLarge(req, limit)) return resume(Effect.fail(new BodyTooLarge({ limit })))
    const headLength = options.headLength ?? 256
    const out = createWriteStream(path, { mode: 0o600, flags: "wx" })
    let size = 0
    let current = limit
    const head: Array<Buffer> = []
    let headSize = 0
    let judged = options.limitFor === undefined
    let settled = false
    const fail = (error: BodyTooLarge | BodyRefused | BodyFailed | BodyWriteFailed) => {
      if (settled) return
      settled = true
      req.unpipe(out)
      req.pause()
      // The stream opens the file asynchronously, so it may appear after a remove made now: answer only once the
      // stream is closed and the file gone, so a refused upload leaves nothing behind when the client hears of it.
      const done = () => {
        rmSync(path, { force: true })
        resume(Effect.fail(error))
      }
      if (out.closed) return done()
      out.once("close", done)
      out.destroy()
    }
    const judge = () => {
      judged = true
      const verdict = options.limitFor!(Buffer.concat(head))
      if (verdict === "refuse") return fail(new BodyRefused({ head: Buffer.concat(head) }))
      current = Math.min(current, verdict)
      if (declaredTooLarge(req, current)) fail(new BodyTooLarge({ limit: current }))
    }
    req.on("data", (chunk: Buffer) => {
      size += chunk.length
      if (headSize < headLength) {
        head.push(chunk.subarray(0, headLength - headSize))
        headSize += Math.min(chunk.length, headLength - headSize)
      }
      if (!judged && headSize >= headLength) judge()
      if (size > current) fail(new BodyTooLarge({ limit: current }))
    })
    req.once("end", () => {
      if (!judged && !settled) judge()
    })
    req.once("error", (cause) => fail(new BodyFailed({ cause })))
    req.once("aborted", () => fail(new BodyFailed({ cause: new Error("the client aborted the upload") })))
    // The disk's failure (full, EMFILE...), not the client's: the caller answers 500 and logs the cause.
    out.once("error", (cause) => fail(new BodyWriteFailed({ cause })))
    out.once("finish", () => {
      if (settled) return
      settled = true
      resume(Effect.succeed({ size, head: Buffer.concat(head) }))
    })
    req.pipe(out)
    return Effect.sync(() => fail(new BodyFailed({ cause: new Error("interrupted") })))
  })

/** Removes a stored upload (best effort). */
export const remove = (path: string): void => rmSync(path, { force: true })
