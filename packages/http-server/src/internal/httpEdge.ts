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
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"

/** A request as handlers see it. */
export interface Request {
  readonly method: string
  readonly path: string
  readonly query: URLSearchParams
  readonly headers: IncomingHttpHeaders
  readonly raw: IncomingMessage
}

/** A response body: text, bytes, or a file streamed from disk. */
export type Body = string | Uint8Array | { readonly file: string; readonly size: number }

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

const write = (res: ServerResponse, response: Response): void => {
  const headers: Record<string, string | number> = { ...response.headers }
  if (response.close) headers.connection = "close"
  const body = response.body
  if (typeof body === "string") {
    headers["content-length"] = Buffer.byteLength(body)
    res.writeHead(response.status, headers)
    res.end(body)
  } else if (body instanceof Uint8Array) {
    headers["content-length"] = body.byteLength
    res.writeHead(response.status, headers)
    res.end(body)
  } else {
    headers["content-length"] = body.size
    const stream = createReadStream(body.file)
    stream.once("error", () => res.destroy())
    stream.once("open", () => {
      res.writeHead(response.status, headers)
      stream.pipe(res)
    })
  }
}

const internalError: Response = {
  status: 500,
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ code: 500, message: "internal server error", data: null }),
  route: "error"
}

/**
 * Serves `handle` on `host:port` until the scope closes. `observe` is told every answered request (route, status,
 * seconds) for the metrics; `onDefect` hears about handler defects (answered as a bare 500 without details).
 */
export const listen = (options: {
  readonly host: string
  readonly port: number
  readonly handle: (request: Request) => Effect.Effect<Response>
  readonly observe: (route: string, status: number, seconds: number) => void
  readonly onDefect: (cause: unknown) => void
}): Effect.Effect<Listening, ListenFailed, Scope.Scope> =>
  Effect.gen(function* () {
    const runtime = yield* Effect.runtime<never>()
    const runFork = Runtime.runFork(runtime)

    const listener = (req: IncomingMessage, res: ServerResponse) => {
      const started = performance.now()
      const url = req.url ?? "/"
      const q = url.indexOf("?")
      const request: Request = {
        method: req.method ?? "GET",
        path: q === -1 ? url : url.slice(0, q),
        query: new URLSearchParams(q === -1 ? "" : url.slice(q + 1)),
        headers: req.headers,
        raw: req
      }
      const effect = options.handle(request)
      // An answer known without running anything (`Effect.succeed`, which is an Exit) is written at once: no fiber.
      if (Exit.isExit(effect) && Exit.isSuccess(effect)) {
        const response = (effect as Exit.Success<Response, never>).value
        write(res, response)
        options.observe(response.route, response.status, (performance.now() - started) / 1000)
        return
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
        else if (!Exit.isInterrupted(exit)) options.onDefect(exit.cause)
        else return
        write(res, response)
        options.observe(response.route, response.status, (performance.now() - started) / 1000)
      })
    }

    const server = createServer({ keepAliveTimeout: 5_000, requestTimeout: 600_000, headersTimeout: 30_000 }, listener)
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
