/**
 * The HTTP edge: a thin adapter from `node:http` to the API's handlers, which are Effects from a request to a
 * response.
 *
 * Why not `@effect/platform`'s `HttpServer`: on this project's 2-core machine it answered the result call at about a
 * quarter of the throughput of a bare `node:http` server returning the same JSON (its per-request request wrapper,
 * middleware and response conversion dominate a handler that itself takes microseconds), and the issue asks for at
 * least half. Here each request costs one fiber: the listener parses the URL, forks the handler on the server's
 * runtime, and writes what it returns. Interrupting the fiber when the client goes away ends long-polls early.
 */
import { createReadStream } from "node:fs"
import type { IncomingHttpHeaders, IncomingMessage, Server as NodeServer, ServerResponse } from "node:http"
import { createServer, STATUS_CODES } from "node:http"
import type { AddressInfo, Socket } from "node:net"
import { pipeline, Readable } from "node:stream"
import * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"
import type * as PlatformEdge from "./platformEdge.js"

/** A request as handlers see it. */
export interface Request {
  /** The method; `HEAD` arrives as `GET` (the edge then sends the headers without the body). */
  readonly method: string
  readonly path: string
  /** The query string after `?`, undecoded (`""` when there is none). */
  readonly search: string
  /** The decoded query (parsed on first use: the result call's common shape is read from `search` directly). */
  readonly query: URLSearchParams
  readonly headers: IncomingHttpHeaders
  readonly raw: IncomingMessage
}

/**
 * The edge's `Request`, with the query parsed only when a handler asks for it. A class with the getter on its
 * prototype, not an object literal with a getter: built per request, such a literal promoted about 3 MB to the old
 * generation per scavenge under load and cost more CPU than the rest of the request.
 */
class EdgeRequest implements Request {
  #query: URLSearchParams | undefined
  readonly headers: IncomingHttpHeaders
  constructor(
    readonly method: string,
    readonly path: string,
    readonly search: string,
    readonly raw: IncomingMessage
  ) {
    this.headers = raw.headers
  }
  get query(): URLSearchParams {
    this.#query ??= new URLSearchParams(this.search)
    return this.#query
  }
}

/** One access-log entry: the route template, never the path itself (face and upload paths carry tokens). */
export interface AccessEntry {
  readonly requestId: string
  readonly method: string
  readonly route: string
  readonly status: number
  readonly ms: number
  readonly remote: string | undefined
}

/** A client's `x-request-id` is kept when it is a short token; otherwise the server makes one. */
const requestIdPattern = /^[A-Za-z0-9._:-]{1,128}$/
const idPrefix = `${Math.floor(Math.random() * 0xffffffff)
  .toString(16)
  .padStart(8, "0")}-`
let idSequence = 0
/**
 * The request's id: the client's, else (when an access log will record it) a new one, else none. Generating and
 * sending one on every answer cost a tenth of the result call's throughput on the bench machine, so a request
 * nobody logs and nobody named carries none.
 */
const requestIdOf = (req: IncomingMessage, generate: boolean): string | undefined => {
  const given = req.headers["x-request-id"]
  if (typeof given === "string" && requestIdPattern.test(given)) return given
  return generate ? `${idPrefix}${(++idSequence).toString(36)}` : undefined
}

/** A response body: text, bytes, a file streamed from disk, or chunks streamed from elsewhere (a database). */
export type Body =
  | string
  | Uint8Array
  | { readonly file: string; readonly size: number }
  | { readonly chunks: () => AsyncIterable<Uint8Array>; readonly size: number }

/** A response, and the route template it is counted under in the metrics. */
export interface Response {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: Body
  readonly route: string
  /** Close the connection after answering (the request body was not read). */
  readonly close?: boolean
}

/** The port could not be bound. */
export class ListenFailed extends Data.TaggedError("ListenFailed")<{
  readonly host: string
  readonly port: number
  readonly cause: unknown
}> {
  override get message(): string {
    const code = typeof this.cause === "object" && this.cause !== null && "code" in this.cause ? this.cause.code : ""
    const why =
      code === "EADDRINUSE"
        ? "the port is already in use"
        : code === "EACCES"
          ? "permission denied"
          : code === "EADDRNOTAVAIL"
            ? "the address is not on this machine"
            : this.cause instanceof Error
              ? this.cause.message
              : String(this.cause)
    return `cannot listen on ${this.host}:${this.port}: ${why}`
  }
}

/** A listening server. */
export interface Listening {
  readonly server: NodeServer
  readonly port: number
  /** Stops accepting connections and closes idle ones; open requests may finish. */
  readonly stopAccepting: () => void
}

/** Reason phrases Node does not know (crun.ai's own codes). */
const reasons: Readonly<Record<number, string>> = { 455: "Service Unavailable", 505: "Feature Disabled" }

/** The headers of an answer on `res`: the handler's, the request id, `nosniff`, the length, and when to close. */
const headersFor = (
  res: ServerResponse,
  response: Response,
  requestId: string | undefined
): Record<string, string | number> => {
  const headers: Record<string, string | number> =
    requestId === undefined ? { ...response.headers } : { ...response.headers, "x-request-id": requestId }
  // A body the handler did not read (an open route, a refusal) would keep the connection busy for as long as the
  // client cares to drip it: answer, then close.
  if (response.close || (!res.req.complete && hasBody(res.req))) {
    headers.connection = "close"
    res.once("finish", () => res.req.socket?.destroySoon?.())
  }
  // JSON and text are never to be sniffed into something else.
  headers["x-content-type-options"] ??= "nosniff"
  const body = response.body
  headers["content-length"] =
    typeof body === "string" ? Buffer.byteLength(body) : body instanceof Uint8Array ? body.byteLength : body.size
  return headers
}

const write = (res: ServerResponse, response: Response, head: boolean, requestId: string | undefined): void => {
  const headers = headersFor(res, response, requestId)
  const reason = reasons[response.status] ?? STATUS_CODES[response.status] ?? "Unknown"
  const body = response.body
  if (typeof body === "string" || body instanceof Uint8Array) {
    res.writeHead(response.status, reason, headers)
    res.end(head ? undefined : body)
    return
  }
  if (head) {
    res.writeHead(response.status, reason, headers)
    res.end()
    return
  }
  if ("chunks" in body) {
    res.writeHead(response.status, reason, headers)
    // A source that fails midway can only end the connection: the length promised more bytes.
    pipeline(Readable.from(body.chunks(), { objectMode: false }), res, (e) => e && res.destroy())
    return
  }
  const stream = createReadStream(body.file)
  stream.once("open", () => {
    res.writeHead(response.status, reason, headers)
    // pipeline, not pipe: a client that goes away mid-file also closes the file.
    pipeline(stream, res, () => {})
  })
  // The file vanished between stat and open (swept): nothing was sent yet, so the connection is all we can end.
  stream.once("error", () => res.destroy())
}

/** Whether a request announces a body (a length above zero, or chunks). */
const hasBody = (req: IncomingMessage): boolean => {
  const length = req.headers["content-length"]
  return (length !== undefined && length !== "0") || req.headers["transfer-encoding"] !== undefined
}

const internalError: Response = {
  status: 500,
  headers: { "content-type": "application/json; charset=utf-8" },
  body: JSON.stringify({ code: 500, message: "internal server error", data: null }),
  route: "error"
}

/** Largest request head (request line and headers) Node's parser accepts; past it, a 422 envelope. */
export const maxHeaderBytes = 16 * 1024

/**
 * A socket with no traffic either way for this long is closed: longer than the longest long-poll (30 s), so only a
 * client that stopped sending or reading (slowloris, a stalled upload) is cut off.
 */
export const idleTimeoutMs = 65_000

/**
 * What a request Node's parser refused gets: an envelope (422) for an oversized head or malformed HTTP, so every
 * answer a client can read is one. A request timeout keeps a bare 408 (no envelope), which clients treat as
 * retryable.
 */
const clientErrorAnswer = (error: NodeJS.ErrnoException): string => {
  if (error.code === "ERR_HTTP_REQUEST_TIMEOUT") return "HTTP/1.1 408 Request Timeout\r\nconnection: close\r\n\r\n"
  const message =
    error.code === "HPE_HEADER_OVERFLOW"
      ? `the request line and headers are larger than ${maxHeaderBytes / 1024} KiB`
      : "malformed HTTP request"
  const body = JSON.stringify({ code: 422, message, data: null })
  return (
    "HTTP/1.1 422 Unprocessable Entity\r\ncontent-type: application/json; charset=utf-8\r\n" +
    `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`
  )
}

/**
 * Serves `handle` on `host:port` until the scope closes. `observe` is told every answered request (route, status,
 * seconds) for the metrics. A handler's defect is answered as a bare 500 without details and logged (through the
 * caller's logger) with its cause.
 */
export const listen = (options: {
  readonly host: string
  readonly port: number
  readonly handle: (request: Request) => Effect.Effect<Response>
  readonly observe: (route: string, status: number, seconds: number) => void
  /** Told about every answered request, for the access log: never the query, headers or path (tokens). */
  readonly access?: ((entry: AccessEntry) => void) | undefined
  /** Open connections past this are closed at once. Default 1024. */
  readonly maxConnections?: number
  /** A request's headers must arrive within this. Default 10 s. */
  readonly headersTimeoutMs?: number
  /** Idle keep-alive connections close after this. Default 5 s. */
  readonly keepAliveTimeoutMs?: number
  /**
   * Who answers requests that need work: this module (`node`, the default), or `@effect/platform`'s Node handler
   * (`platform`, experimental: see `internal/platformEdge`). Answers known at once take the fast path either way.
   */
  readonly edge?: "node" | "platform"
}): Effect.Effect<Listening, ListenFailed, Scope.Scope> =>
  Effect.gen(function* () {
    const runtime = yield* Effect.runtime<never>()
    const runFork = Runtime.runFork(runtime)
    const runSync = Runtime.runSync(runtime)
    const pending = new WeakMap<IncomingMessage, PlatformEdge.Pending>()
    // Loaded only when asked for: @effect/platform-node's modules cost memory a default server does not spend.
    const platform =
      options.edge === "platform"
        ? yield* Effect.flatMap(
            Effect.promise(() => import("./platformEdge.js")),
            (edge) => edge.make(pending, internalError)
          )
        : undefined

    // Metrics and the access log of an answered request (a function, not a closure per request: the result call's
    // throughput counts every allocation).
    const answered = (response: Response, req: IncomingMessage, requestId: string | undefined, started: number) => {
      const seconds = (performance.now() - started) / 1000
      options.observe(response.route, response.status, seconds)
      if (options.access !== undefined) {
        options.access({
          requestId: requestId ?? "",
          method: req.method ?? "GET",
          route: response.route,
          status: response.status,
          ms: Math.round(seconds * 10_000) / 10,
          remote: req.socket.remoteAddress
        })
      }
    }

    const listener = (req: IncomingMessage, res: ServerResponse) => {
      const started = performance.now()
      const url = req.url ?? "/"
      const q = url.indexOf("?")
      const head = req.method === "HEAD"
      const request = new EdgeRequest(
        head ? "GET" : (req.method ?? "GET"),
        q === -1 ? url : url.slice(0, q),
        q === -1 ? "" : url.slice(q + 1),
        req
      )
      const requestId = requestIdOf(req, options.access !== undefined)
      const effect = options.handle(request)
      // An answer known without running anything (`Effect.succeed`, which is an Exit) is written at once: no fiber.
      if (Exit.isExit(effect) && Exit.isSuccess(effect)) {
        const response = (effect as Exit.Success<Response, never>).value
        write(res, response, head, requestId)
        answered(response, req, requestId, started)
        return
      }
      if (platform !== undefined) {
        pending.set(req, {
          effect,
          headersOf: (response) => headersFor(res, response, requestId),
          answered: (response) => answered(response, req, requestId, started)
        })
        return platform(req, res)
      }
      const fiber = runFork(effect)
      let done = false
      const onClose = () => {
        if (!done) fiber.unsafeInterruptAsFork(fiber.id())
      }
      res.once("close", onClose)
      fiber.addObserver((exit) => {
        done = true
        res.off("close", onClose)
        if (res.destroyed || res.headersSent) return
        let response = internalError
        if (Exit.isSuccess(exit)) response = exit.value
        else if (!Exit.isInterrupted(exit)) runSync(Effect.logError(`request failed: ${Cause.pretty(exit.cause)}`))
        else return
        write(res, response, head, requestId)
        answered(response, req, requestId, started)
      })
    }

    const headersTimeout = options.headersTimeoutMs ?? 10_000
    const server = createServer(
      {
        keepAliveTimeout: options.keepAliveTimeoutMs ?? 5_000,
        // Whole requests: uploads of large videos need minutes; every other route reads its body under its own,
        // shorter deadline, and an idle socket is closed after `idleTimeoutMs` without a byte.
        requestTimeout: 600_000,
        headersTimeout,
        // Node checks both deadlines on this interval (30 s by default, which would let a slow client keep a
        // socket three times longer than the headers timeout says).
        connectionsCheckingInterval: Math.min(1_000, headersTimeout),
        maxHeaderSize: maxHeaderBytes
      },
      listener
    )
    server.timeout = idleTimeoutMs
    // Each connection holds a file descriptor: past the cap they are refused, so keyless clients cannot starve the
    // process of descriptors (its store, uploads and crops need them).
    server.maxConnections = options.maxConnections ?? 1024
    server.on("clientError", (error: NodeJS.ErrnoException, socket: Socket) => {
      // Mid-answer on this connection (a pipelined request): raw bytes would corrupt the answer being written.
      const answering = (socket as { _httpMessage?: ServerResponse })._httpMessage?.headersSent === true
      if (socket.writable && !answering) socket.end(clientErrorAnswer(error))
      else socket.destroy()
    })
    const port = yield* Effect.async<number, ListenFailed>((resume) => {
      const onError = (cause: unknown) =>
        resume(Effect.fail(new ListenFailed({ host: options.host, port: options.port, cause })))
      server.once("error", onError)
      server.listen(options.port, options.host, () => {
        server.off("error", onError)
        resume(Effect.succeed((server.address() as AddressInfo).port))
      })
    })
    yield* Effect.addFinalizer(() =>
      Effect.async<void>((resume) => {
        server.close(() => resume(Effect.void))
        server.closeAllConnections()
      })
    )
    return {
      server,
      port,
      stopAccepting: () => {
        server.close()
        server.closeIdleConnections()
      }
    }
  })
