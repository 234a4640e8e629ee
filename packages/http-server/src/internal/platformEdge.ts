/**
 * The experimental `FACEDET_HTTP_EDGE=platform` edge: answers known without running anything (the remembered
 * answer of an ended task, refusals decided before any work) stay on the plain `node:http` fast path; every other
 * request is handed to `@effect/platform`'s `NodeHttpServer.makeHandler` (tracing disabled), which runs the handler's
 * effect, interrupts it when the client goes away, and writes the answer. `pnpm bench -- server` measures it
 * against the default edge; see the http-server README for the figures and why the default stays.
 */
import { createReadStream } from "node:fs"
import type { IncomingMessage, ServerResponse } from "node:http"
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { Response } from "./httpEdge.js"

/** One request on its way through the platform handler. */
export interface Pending {
  readonly effect: Effect.Effect<Response>
  /** The answer as the default edge would write it (headers, `connection: close`), for the platform to send. */
  readonly headersOf: (response: Response) => Record<string, string | number>
  /** Metrics and the access log, once answered. */
  readonly answered: (response: Response) => void
}

const bodyOf = (response: Response): HttpServerResponse.HttpServerResponse => {
  const body = response.body
  const type = response.headers["content-type"]
  const options = { status: response.status, ...(type !== undefined ? { contentType: type } : {}) }
  if (typeof body === "string") return HttpServerResponse.text(body, options)
  if (body instanceof Uint8Array) return HttpServerResponse.uint8Array(body, options)
  const source: AsyncIterable<Uint8Array> = "chunks" in body ? body.chunks() : createReadStream(body.file)
  return HttpServerResponse.stream(
    Stream.fromAsyncIterable(source, (e) => e),
    options
  )
}

/**
 * A handler for `(req, res)` that answers `pending.get(req)` through `@effect/platform`; a defect gets
 * `internalError` (the default edge's bare 500), its cause only the log.
 */
export const make = (
  pending: WeakMap<IncomingMessage, Pending>,
  internalError: Response
): Effect.Effect<(req: IncomingMessage, res: ServerResponse) => void> => {
  const app = Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
    const incoming = NodeHttpServerRequest.toIncomingMessage(request)
    const p = pending.get(incoming)!
    pending.delete(incoming)
    return p.effect.pipe(
      Effect.catchAllCause((cause) =>
        Cause.isInterruptedOnly(cause)
          ? Effect.failCause(cause)
          : Effect.as(Effect.logError(`request failed: ${Cause.pretty(cause)}`), internalError)
      ),
      Effect.map((response) => {
        p.answered(response)
        // The default edge's headers (content type, length, request id, nosniff, connection) replace the
        // platform's own, so both edges answer byte for byte the same.
        return HttpServerResponse.setHeaders(
          bodyOf(response),
          Object.fromEntries(Object.entries(p.headersOf(response)).map(([k, v]) => [k, String(v)]))
        )
      })
    )
  })
  return HttpMiddleware.withTracerDisabledWhenEffect(NodeHttpServer.makeHandler(app), () => true)
}
