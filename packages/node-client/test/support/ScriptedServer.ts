/**
 * A scripted HTTP server on 127.0.0.1 (port 0) for end-to-end tests: records each request and answers from a
 * script (status, headers, a JSON or raw body, a delay, no answer, or a dropped connection).
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"

export interface Seen {
  readonly method: string
  readonly path: string
  readonly query: URLSearchParams
  readonly headers: IncomingHttpHeaders
  readonly body: Buffer
}

export type Answer =
  | {
      readonly status?: number
      readonly headers?: Record<string, string>
      /** An object is sent as JSON; a string as is. */
      readonly body?: unknown
      /** Hold the answer this long (ms). */
      readonly delayMs?: number
    }
  | "hang"
  | "drop"

export type Handler = (request: Seen, index: number) => Answer

export interface ScriptedServer {
  readonly url: string
  readonly requests: ReadonlyArray<Seen>
  /** Resolves when the server has received `count` requests in all. */
  readonly received: (count: number) => Promise<void>
  readonly close: () => Promise<void>
}

export const envelope = (code: number, message: string, data: unknown = null) => ({ code, message, data })

export const startServer = async (handler: Handler): Promise<ScriptedServer> => {
  const requests: Array<Seen> = []
  const waiters: Array<{ readonly count: number; readonly resolve: () => void }> = []
  const pending = new Set<ServerResponse>()
  const server = createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1")
      const seen: Seen = {
        method: req.method ?? "GET",
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks)
      }
      requests.push(seen)
      for (const w of waiters.filter((w) => requests.length >= w.count)) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve()
      }
      const answer = handler(seen, requests.length - 1)
      if (answer === "hang") {
        pending.add(res)
        return
      }
      if (answer === "drop") {
        req.socket.destroy()
        return
      }
      const send = () => {
        pending.delete(res)
        if (res.destroyed) return
        const body =
          answer.body === undefined ? "" : typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body)
        res.writeHead(answer.status ?? 200, {
          "content-type": typeof answer.body === "string" ? "text/html" : "application/json",
          ...answer.headers
        })
        res.end(body)
      }
      if (answer.delayMs) {
        pending.add(res)
        setTimeout(send, answer.delayMs)
      } else send()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    received: (count) =>
      requests.length >= count ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ count, resolve })),
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of pending) res.destroy()
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

/** A port that refuses connections: one a server held and released. */
export const closedPort = async (): Promise<string> => {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return `http://127.0.0.1:${port}`
}
