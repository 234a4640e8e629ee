/**
 * A TCP relay in front of PostgreSQL that counts the round trips the facedet processes make: every simple query
 * (`Q`) and every `Sync` (`S`, which ends an extended-protocol exchange: parse/bind/execute) is one request the
 * client waits for. It can also cut every connection and refuse new ones (`cut`/`restore`), a network partition
 * between the processes and their database.
 */
import { createConnection, createServer, type Socket } from "node:net"
import type { AddressInfo } from "node:net"

export interface WireRelay {
  readonly port: number
  /** Round trips since the start (or the last `reset`). */
  readonly roundTrips: () => number
  readonly reset: () => void
  readonly cut: () => void
  readonly restore: () => void
  readonly close: () => Promise<void>
}

export const start = async (target: { readonly host: string; readonly port: number }): Promise<WireRelay> => {
  let trips = 0
  let down = false
  const open = new Set<Socket>()
  const server = createServer((client) => {
    if (down) return client.resetAndDestroy()
    const upstream = createConnection(target)
    open.add(client).add(upstream)
    // Frontend messages: the startup packet has no type byte; every later one is type + int32 length.
    let started = false
    let pending: Buffer = Buffer.alloc(0)
    client.on("data", (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
      for (;;) {
        if (!started) {
          if (pending.length < 8) break
          const length = pending.readInt32BE(0)
          if (pending.length < length) break
          // An SSLRequest (80877103) is answered and followed by the real startup packet.
          if (pending.readInt32BE(4) !== 80877103) started = true
          pending = pending.subarray(length)
          continue
        }
        if (pending.length < 5) break
        const length = pending.readInt32BE(1)
        if (pending.length < 1 + length) break
        const type = pending[0]
        if (type === 0x51 || type === 0x53) trips++
        pending = pending.subarray(1 + length)
      }
      upstream.write(chunk)
    })
    const end = () => {
      open.delete(client)
      open.delete(upstream)
      client.destroy()
      upstream.destroy()
    }
    client.on("error", end).on("close", end)
    upstream.on("error", end).on("close", end)
    upstream.pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return {
    port: (server.address() as AddressInfo).port,
    roundTrips: () => trips,
    reset: () => {
      trips = 0
    },
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
