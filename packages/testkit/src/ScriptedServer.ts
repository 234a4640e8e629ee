/**
 * A scripted HTTP server on 127.0.0.1 (port 0) standing in for crun.ai, a facedet server or a media origin: each
 * test says what every request gets (status, headers, a JSON or raw body, a delay, no answer at all, or a dropped
 * connection) and reads back what was asked.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"

export interface Request {
  readonly method: string
  readonly path: string
  readonly query: URLSearchParams
  readonly headers: IncomingHttpHeaders
  readonly body: Buffer
}

export type Reply =
  | {
      readonly status?: number
      readonly headers?: Record<string, string>
      /** An object is sent as JSON (default: the success envelope); a string (as text/html) or Buffer as is. */
      readonly body?: unknown
      /** Hold the answer this long (ms). */
      readonly delayMs?: number
    }
  /** Never answer (until the server closes). */
  | "hang"
  /** Close the connection without an answer. */
  | "drop"

/** What a request gets; `index` counts requests from 0. */
export type Handler = (request: Request, server: Scripted, index: number) => Reply | Promise<Reply>

export interface Scripted {
  readonly url: string
  readonly requests: ReadonlyArray<Request>
  /** Replaceable mid-test. */
  handler: Handler
  /** Resolves once the server has received `count` requests in all. */
  readonly received: (count: number) => Promise<void>
  readonly close: () => Promise<void>
}

/** crun.ai's envelope. */
export const envelope = (code: number, message: string, data: unknown = null) => ({ code, message, data })

const isRaw = (body: unknown): body is string | Buffer => typeof body === "string" || Buffer.isBuffer(body)

export const start = async (handler: Handler): Promise<Scripted> => {
  const requests: Array<Request> = []
  const waiters: Array<{ readonly count: number; readonly resolve: () => void }> = []
  const pending = new Set<ServerResponse>()
  const server = createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", async () => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1")
      const request: Request = {
        method: req.method ?? "GET",
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks)
      }
      requests.push(request)
      for (const w of waiters.filter((w) => requests.length >= w.count)) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve()
      }
      let reply: Reply
      try {
        reply = await scripted.handler(request, scripted, requests.length - 1)
      } catch (error) {
        // A script that throws is a broken test: answer with a status no server uses, so it shows.
        res.writeHead(599)
        res.end(String(error))
        return
      }
      if (reply === "hang") {
        pending.add(res)
        return
      }
      if (reply === "drop") {
        req.socket.destroy()
        return
      }
      const send = () => {
        pending.delete(res)
        if (res.destroyed) return
        const raw = isRaw(reply.body)
        // A string is an error page (a proxy's, say); bytes say nothing about themselves.
        const type = raw ? (typeof reply.body === "string" ? "text/html" : undefined) : "application/json"
        res.writeHead(reply.status ?? 200, { ...(type ? { "content-type": type } : {}), ...reply.headers })
        res.end(raw ? reply.body : JSON.stringify(reply.body ?? envelope(200, "success")))
      }
      if (reply.delayMs) {
        pending.add(res)
        setTimeout(send, reply.delayMs)
      } else send()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  const scripted: Scripted = {
    url: `http://127.0.0.1:${port}`,
    requests,
    handler,
    received: (count) =>
      requests.length >= count ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ count, resolve })),
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of pending) res.destroy()
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
  return scripted
}

/** A URL whose port refuses connections: one a server held and released (unlike a port `fetch` blocks, such as 9). */
export const closedPort = async (): Promise<string> => {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return `http://127.0.0.1:${port}`
}
