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
  headLength = 256
): Effect.Effect<Stored, BodyTooLarge | BodyFailed> =>
  Effect.async<Stored, BodyTooLarge | BodyFailed>((resume) => {
    if (declaredTooLarge(req, limit)) return resume(Effect.fail(new BodyTooLarge({ limit })))
    const out = createWriteStream(path, { mode: 0o600, flags: "wx" })
    let size = 0
    const head: Array<Buffer> = []
    let headSize = 0
    let settled = false
    const fail = (error: BodyTooLarge | BodyFailed) => {
      if (settled) return
      settled = true
      req.unpipe(out)
      req.pause()
      out.destroy()
      rmSync(path, { force: true })
      resume(Effect.fail(error))
    }
    req.on("data", (chunk: Buffer) => {
      size += chunk.length
      if (headSize < headLength) {
        head.push(chunk.subarray(0, headLength - headSize))
        headSize += Math.min(chunk.length, headLength - headSize)
      }
      if (size > limit) fail(new BodyTooLarge({ limit }))
    })
    req.once("error", (cause) => fail(new BodyFailed({ cause })))
    req.once("aborted", () => fail(new BodyFailed({ cause: new Error("the client aborted the upload") })))
    out.once("error", (cause) => fail(new BodyFailed({ cause })))
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
