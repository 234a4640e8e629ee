/**
 * A scripted HTTP server on 127.0.0.1 (port 0) standing in for crun.ai or a facedet server: each test says what
 * every request gets, and reads back what was asked.
 */
import { createServer, type IncomingMessage } from "node:http"
import type { AddressInfo } from "node:net"

export interface Request {
  readonly method: string
  readonly path: string
  readonly query: URLSearchParams
  readonly headers: IncomingMessage["headers"]
  readonly body: Buffer
}

export interface Reply {
  readonly status?: number
  readonly headers?: Record<string, string>
  /** An object is sent as JSON; a string or Buffer as is. */
  readonly body?: unknown
}

export type Handler = (request: Request, server: Scripted) => Reply | Promise<Reply>

export interface Scripted {
  readonly url: string
  readonly requests: Array<Request>
  handler: Handler
  readonly close: () => Promise<void>
}

export const envelope = (code: number, message: string, data: unknown = null) => ({ code, message, data })

export const start = async (handler: Handler): Promise<Scripted> => {
  const requests: Array<Request> = []
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
      try {
        const reply = await scripted.handler(request, scripted)
        const body =
          typeof reply.body === "string" || Buffer.isBuffer(reply.body)
            ? reply.body
            : JSON.stringify(reply.body ?? envelope(200, "success"))
        const isJson = !(typeof reply.body === "string" || Buffer.isBuffer(reply.body))
        res.writeHead(reply.status ?? 200, {
          ...(isJson ? { "content-type": "application/json" } : {}),
          ...reply.headers
        })
        res.end(body)
      } catch (error) {
        res.writeHead(599)
        res.end(String(error))
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  const scripted: Scripted = {
    url: `http://127.0.0.1:${port}`,
    requests,
    handler,
    close: () =>
      new Promise((resolve) => {
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
