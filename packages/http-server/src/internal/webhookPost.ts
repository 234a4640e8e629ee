/**
 * One callback attempt: a POST of a signed body to a user's `callback_url`, under the same SSRF rules as media
 * downloads (the URL is judged in every spelling, the name is resolved once inside the socket's own lookup and
 * refused if any answer is private, loopback or metadata, and the socket dials only the checked addresses).
 *
 * Stricter than the media fetcher where a callback allows it: redirects are never followed (a 3xx is a refusal, so
 * a public receiver cannot bounce the POST to an internal one), the whole attempt has a 10 s deadline, and at most
 * 64 KiB of the answer is read, then discarded (only the status and `Retry-After` matter).
 */
import type { Socket } from "node:net"
import * as RetryPolicy from "@facedet/core/RetryPolicy"
import { pinnedRequest } from "./pinnedRequest.js"
import * as Ssrf from "./ssrf.js"

/** What an attempt came to: an answer, or why there was none. `permanent` failures are never retried. */
export type Attempt =
  | { readonly _tag: "Answered"; readonly status: number; readonly retryAfterMs: number | undefined }
  | { readonly _tag: "NoAnswer"; readonly reason: string; readonly permanent: boolean }

/** Settings of an attempt. */
export interface Options {
  readonly policy: Ssrf.Policy
  readonly resolve: Ssrf.Resolve
  readonly timeoutMs: number
  readonly maxResponseBytes: number
  readonly userAgent: string
  /** Extra trusted CAs (tests). */
  readonly ca?: string | ReadonlyArray<string> | undefined
}

/** POSTs `body` with `headers`; never throws, never rejects. */
export const post = (
  url: string,
  body: string,
  headers: Readonly<Record<string, string>>,
  options: Options,
  signal?: AbortSignal
): Promise<Attempt> => {
  const check = Ssrf.checkUrl(url, options.policy)
  if (check._tag === "Invalid") {
    return Promise.resolve({ _tag: "NoAnswer", reason: `invalid callback URL: ${check.reason}`, permanent: true })
  }
  if (check._tag === "Refused") {
    return Promise.resolve({ _tag: "NoAnswer", reason: `callback URL refused: ${check.reason}`, permanent: true })
  }
  return new Promise<Attempt>((resolve) => {
    let settled = false
    const done = (attempt: Attempt) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      signal?.removeEventListener("abort", onAbort)
      req.destroy()
      resolve(attempt)
    }
    const req = pinnedRequest(check.url, check.target, {
      method: "POST",
      headers: {
        ...headers,
        "content-type": "application/json",
        "content-length": String(Buffer.byteLength(body)),
        "user-agent": options.userAgent,
        "accept-encoding": "identity"
      },
      resolve: options.resolve,
      policy: options.policy,
      ca: options.ca as string | Array<string> | undefined
    })
    const timer = setTimeout(
      () => done({ _tag: "NoAnswer", reason: `no answer within ${options.timeoutMs / 1000} s`, permanent: false }),
      options.timeoutMs
    )
    const onAbort = () => done({ _tag: "NoAnswer", reason: "the attempt was interrupted", permanent: false })
    signal?.addEventListener("abort", onAbort, { once: true })
    req.on("socket", (socket: Socket) => socket.setNoDelay(true))
    req.on("error", (error: NodeJS.ErrnoException) => {
      if (error instanceof Ssrf.RefusedAddressError) {
        done({ _tag: "NoAnswer", reason: `callback URL refused: ${error.message}`, permanent: true })
      } else {
        done({ _tag: "NoAnswer", reason: error.code ?? "network error", permanent: false })
      }
    })
    req.on("response", (res) => {
      const status = res.statusCode ?? 0
      const header = (name: string) => {
        const value = res.headers[name]
        return Array.isArray(value) ? value[0] : value
      }
      const retryAfterMs = RetryPolicy.parseRetryAfter(
        { retryAfter: header("retry-after"), retryAfterMs: header("retry-after-ms") },
        Date.now()
      )
      let read = 0
      res.on("data", (chunk: Buffer) => {
        read += chunk.length
        // The answer is discarded; reading more than the cap would only let a receiver hold the dispatcher.
        if (read > options.maxResponseBytes) done({ _tag: "Answered", status, retryAfterMs })
      })
      res.on("end", () => done({ _tag: "Answered", status, retryAfterMs }))
      res.on("error", () => done({ _tag: "Answered", status, retryAfterMs }))
    })
    req.end(body)
  })
}
