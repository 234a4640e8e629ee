/**
 * A TCP relay on 127.0.0.1:0 in front of a real server (PostgreSQL in the tests and the scale bench), to cut the
 * network between facedet processes and their database without stopping the database others use: `cut` resets
 * every open connection and refuses new ones until `restore`. `observe` sees what each client sends (the scale
 * bench counts PostgreSQL round trips with it).
 */
import { createConnection, createServer, type Server, type Socket } from "node:net"
import type { AddressInfo } from "node:net"

export interface Relay {
  readonly port: number
  readonly cut: () => void
  readonly restore: () => void
  readonly close: () => Promise<void>
}

/** Called once per client connection; the function it returns sees each chunk that client sends, in order. */
export type Observe = () => (chunk: Buffer) => void

export const start = async (
  target: { readonly host: string; readonly port: number },
  observe?: Observe
): Promise<Relay> => {
  const open = new Set<Socket>()
  let down = false
  const server: Server = createServer((client) => {
    if (down) {
      client.resetAndDestroy()
      return
    }
    const upstream = createConnection(target)
    open.add(client)
    open.add(upstream)
    const end = () => {
      open.delete(client)
      open.delete(upstream)
      client.destroy()
      upstream.destroy()
    }
    client.on("error", end).on("close", end)
    upstream.on("error", end).on("close", end)
    const seen = observe?.()
    if (seen === undefined) client.pipe(upstream)
    else
      client.on("data", (chunk: Buffer) => {
        seen(chunk)
        upstream.write(chunk)
      })
    upstream.pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return {
    port: (server.address() as AddressInfo).port,
    cut: () => {
      down = true
      for (const s of open) s.resetAndDestroy()
      open.clear()
    },
    restore: () => {
      down = false
    },
    close: () =>
      new Promise((resolve) => {
        for (const s of open) s.destroy()
        server.close(() => resolve())
      })
  }
}
