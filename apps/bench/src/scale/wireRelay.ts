/**
 * A TCP relay in front of PostgreSQL (the testkit's) that counts the round trips the facedet processes make: every
 * simple query (`Q`) and every `Sync` (`S`, which ends an extended-protocol exchange: parse/bind/execute) is one
 * request the client waits for. It can also cut every connection and refuse new ones (`cut`/`restore`), a network
 * partition between the processes and their database.
 */
import * as TcpRelay from "@facedet/testkit/TcpRelay"

export interface WireRelay extends TcpRelay.Relay {
  /** Round trips since the start (or the last `reset`). */
  readonly roundTrips: () => number
  readonly reset: () => void
}

export const start = async (target: { readonly host: string; readonly port: number }): Promise<WireRelay> => {
  let trips = 0
  const relay = await TcpRelay.start(target, () => {
    // Frontend messages: the startup packet has no type byte; every later one is type + int32 length.
    let started = false
    let pending: Buffer = Buffer.alloc(0)
    return (chunk) => {
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
    }
  })
  return {
    ...relay,
    roundTrips: () => trips,
    reset: () => {
      trips = 0
    }
  }
}
