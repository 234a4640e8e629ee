/**
 * The gate of every `/api/` call, synchronous so the result call (polled by every client) costs no more than it
 * must: the API key, the per-address throttle of failed authentications, and the key's rate limit.
 *
 * Failed authentications are throttled per client address: past the burst, the address gets 429 whatever key it
 * sends, so guessing costs time. Except for keys that already authenticated from that address before: one client
 * with a stale key behind a NAT or a proxy must not lock out the others there. (Checking the key first costs a
 * SHA-256 of at most 1 KiB.)
 */
import * as Endpoints from "@facedet/core/Endpoints"
import * as FaceDetError from "@facedet/core/FaceDetError"
import * as Effect from "effect/Effect"
import type { Deps } from "../../Api.js"
import * as RateLimiter from "../../RateLimiter.js"
import type { Request, Response } from "../httpEdge.js"
import { errorResponse } from "./answers.js"

/** Client addresses whose authenticated keys are remembered. */
const trustedAddresses = 10_000

/** Failed authentications per client address: a burst of 20, then one every 2 s. */
const authFailureLimit = { perSecond: 0.5, burst: 20 } as const

const rateLimited = (route: string, waitMs: number) =>
  errorResponse(
    new FaceDetError.RateLimited({ message: "rate limit exceeded for this API key", retryAfterMs: waitMs }),
    route,
    true
  )

/**
 * The gate over the server's dependencies: `gate(request, route, next)` answers a refused call itself and hands
 * an admitted one to `next` with its key id (no closure per request: this runs on every call).
 */
export const make = (deps: Deps) => {
  const failures = RateLimiter.make(authFailureLimit)
  // The key ids that authenticated from each address: still admitted while their address is throttled. Bounded;
  // the oldest addresses go first. Two lookups and no allocation per request: this runs on every call.
  const trusted = new Map<string, Set<string>>()
  const trust = (address: string, owner: string) => {
    const owners = trusted.get(address)
    if (owners !== undefined) {
      if (!owners.has(owner)) owners.add(owner)
      return
    }
    if (trusted.size >= trustedAddresses) trusted.delete(trusted.keys().next().value!)
    trusted.set(address, new Set([owner]))
  }

  return (
    request: Request,
    route: string,
    next: (request: Request, owner: string, route: string) => Effect.Effect<Response>
  ): Effect.Effect<Response> => {
    const key = request.headers[Endpoints.headers.apiKey]
    const address = `auth:${request.raw.socket?.remoteAddress ?? "unknown"}`
    const owner = deps.apiKeys.verify(typeof key === "string" ? key : undefined)
    const blockedMs = failures.peek(address, deps.now())
    if (blockedMs > 0 && (owner === undefined || trusted.get(address)?.has(owner) !== true)) {
      return Effect.succeed(
        errorResponse(
          new FaceDetError.RateLimited({
            message: "too many requests with a missing or invalid API key from this address; wait and check the key",
            retryAfterMs: blockedMs
          }),
          route,
          true
        )
      )
    }
    if (owner === undefined) {
      failures.take(address, deps.now())
      return Effect.succeed(
        errorResponse(
          new FaceDetError.Unauthorized({
            message: key === undefined ? "missing API key: send it in the x-api-key header" : "invalid API key"
          }),
          route,
          true
        )
      )
    }
    trust(address, owner)
    if (deps.sharedLimiter !== undefined) {
      return Effect.flatMap(deps.sharedLimiter.take(owner), (waitMs) =>
        waitMs > 0 ? Effect.succeed(rateLimited(route, waitMs)) : next(request, owner, route)
      )
    }
    const waitMs = deps.limiter.take(owner, deps.now())
    return waitMs > 0 ? Effect.succeed(rateLimited(route, waitMs)) : next(request, owner, route)
  }
}
