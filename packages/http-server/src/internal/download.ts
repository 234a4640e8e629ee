/**
 * The download itself, hop by hop: every URL checked and pinned to the addresses it resolved to, redirects followed
 * by hand, bodies streamed against the byte limit and sniffed before more is taken. `MediaFetcher.make` builds the
 * service from it.
 */
import { lookup as systemLookup } from "node:dns/promises"
import { type FileHandle, open, rm } from "node:fs/promises"
import type * as http from "node:http"
import type { Socket } from "node:net"
import { networkInterfaces } from "node:os"
import { rootCertificates } from "node:tls"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import {
  DownloadFailed,
  type FetchedBytes,
  type FetchedFile,
  Forbidden,
  InvalidUrl,
  type MediaFetchError,
  type Options,
  type ResolvedOptions,
  type Service,
  Timeout,
  TooLarge,
  UnsupportedFormat
} from "../MediaFetcher.js"
import * as Address from "./address.js"
import * as Sniff from "./sniff.js"
import { pinnedRequest } from "./pinnedRequest.js"
import * as Ssrf from "./ssrf.js"
import { printable, shorten } from "./text.js"

const acceptHeader: Record<Sniff.MediaKind, string> = {
  image: "image/avif,image/webp,image/png,image/jpeg,image/gif,image/tiff;q=0.9,*/*;q=0.5",
  video: "video/mp4,video/webm,video/quicktime,video/x-matroska,image/gif,image/webp;q=0.9,*/*;q=0.5"
}

const redirectStatuses = new Set([301, 302, 303, 307, 308])

interface Hop {
  readonly url: URL
  readonly host: string
  readonly target: Ssrf.Target
  readonly index: number
}

type HopOutcome =
  | { readonly _tag: "Redirect"; readonly location: string }
  | {
      readonly _tag: "Body"
      readonly format: Sniff.MediaFormat
      readonly size: number
      readonly contentType?: string
      readonly remoteAddress?: string
    }

/** Where body chunks go once the format is known; a returned promise pauses the socket until it settles. */
type Sink = (chunk: Buffer) => Promise<void> | undefined

interface Progress {
  host: string
  url: string
  received: number
}

export const build = (resolved: ResolvedOptions, options: Options): Service => {
  const policy: Ssrf.Policy = {
    allowPrivate: resolved.allowPrivate,
    allowedCidrs: resolved.allowedCidrs.map((c) => Address.parseCidr(c)!),
    allowedPorts: options.allowedPorts ?? [],
    ownAddresses: options.ownAddresses
      ? Ssrf.localAddresses({ given: options.ownAddresses.map((address) => ({ address })) })
      : Ssrf.localAddresses(networkInterfaces())
  }
  const resolve: Ssrf.Resolve = options.lookup ?? ((hostname) => systemLookup(hostname, { all: true }))
  const ca =
    options.ca === undefined
      ? undefined
      : [...rootCertificates, ...(typeof options.ca === "string" ? [options.ca] : options.ca)]

  const refusal = (check: Extract<Ssrf.UrlCheck, { _tag: "Refused" }>, stage: "url" | "redirect"): Forbidden =>
    new Forbidden({
      url: shorten(check.url.href),
      host: check.host,
      stage,
      range: check.range,
      reason: check.reason,
      ...(check.address === undefined ? {} : { address: check.address }),
      message: `refusing to fetch ${stage === "redirect" ? "a redirect to " : ""}${check.host}: ${check.reason}`
    })

  const checkUrl = (url: string): Either.Either<URL, InvalidUrl | Forbidden> => {
    const check = Ssrf.checkUrl(url, policy)
    switch (check._tag) {
      case "Ok":
        return Either.right(check.url)
      case "Invalid":
        return Either.left(new InvalidUrl({ url: String(url), reason: check.reason }))
      case "Refused":
        return Either.left(refusal(check, "url"))
    }
  }

  const requestError = (failed: Hop, error: unknown): MediaFetchError => {
    const base = { url: failed.url.href, host: failed.host }
    if (error instanceof Ssrf.RefusedAddressError) {
      return new Forbidden({
        url: shorten(failed.url.href),
        host: failed.host,
        stage: failed.index === 0 ? "dns" : "redirect",
        range: error.range,
        reason: `it resolves to ${Address.describeRange(error.range)}`,
        address: error.address,
        message:
          `refusing to fetch ${failed.index === 0 ? "" : "a redirect to "}${failed.host}: ` +
          `it resolves to ${Address.describeRange(error.range)}`
      })
    }
    const code = typeof (error as { code?: unknown })?.code === "string" ? (error as { code: string }).code : undefined
    return new DownloadFailed({ ...base, reason: describeNetworkError(code, failed.host), ...(code ? { code } : {}) })
  }

  /** One request: connect (bounded by the connect timeout), read the head, then either a redirect or the body. */
  const hop = (
    current: Hop,
    kind: Sniff.MediaKind,
    sink: Sink,
    progress: Progress
  ): Effect.Effect<HopOutcome, MediaFetchError> =>
    Effect.scoped(
      Effect.gen(function* () {
        const connected = yield* Deferred.make<string | undefined, MediaFetchError>()
        const responded = yield* Deferred.make<http.IncomingMessage, MediaFetchError>()
        const isHttps = current.url.protocol === "https:"
        const request = () => {
          const req = pinnedRequest(current.url, current.target, {
            method: "GET",
            headers: {
              "user-agent": resolved.userAgent,
              accept: acceptHeader[kind],
              "accept-encoding": "identity"
            },
            resolve,
            policy,
            ca
          })
          req.on("socket", (socket: Socket) => {
            socket.once(isHttps ? "secureConnect" : "connect", () =>
              Deferred.unsafeDone(connected, Effect.succeed(socket.remoteAddress))
            )
          })
          req.on("response", (res) => {
            res.on("error", () => {}) // reported by the body reader; a late one must not crash the process
            Deferred.unsafeDone(responded, Effect.succeed(res))
          })
          req.on("error", (error) => {
            const failure = Effect.fail(requestError(current, error))
            Deferred.unsafeDone(connected, failure)
            Deferred.unsafeDone(responded, failure)
          })
          req.end()
          return req
        }
        yield* Effect.acquireRelease(Effect.sync(request), (req) => Effect.sync(() => req.destroy()))
        const remoteAddress = yield* Deferred.await(connected).pipe(
          Effect.timeoutFail({
            duration: Duration.millis(resolved.connectTimeoutMs),
            onTimeout: () =>
              new Timeout({
                url: current.url.href,
                host: current.host,
                phase: "connect",
                timeoutMs: resolved.connectTimeoutMs,
                received: 0
              })
          })
        )
        const res = yield* Deferred.await(responded)
        yield* Effect.addFinalizer(() => Effect.sync(() => res.destroy()))
        const status = res.statusCode ?? 0
        const base = { url: current.url.href, host: current.host }
        if (redirectStatuses.has(status)) {
          const location = res.headers.location
          if (location === undefined || location === "") {
            return yield* new DownloadFailed({ ...base, status, reason: `HTTP ${status} redirect without a Location` })
          }
          return { _tag: "Redirect", location } as const
        }
        if (status < 200 || status > 299) {
          return yield* new DownloadFailed({ ...base, status, reason: `the server answered HTTP ${status}` })
        }
        const encoding = res.headers["content-encoding"]?.trim().toLowerCase()
        if (encoding !== undefined && encoding !== "" && encoding !== "identity") {
          return yield* new DownloadFailed({
            ...base,
            status,
            reason: `the server sent a compressed body (Content-Encoding: ${printable(encoding)}) that was not asked for`
          })
        }
        const limit = kind === "image" ? resolved.maxImageBytes : resolved.maxVideoBytes
        const declared = contentLength(res.headers["content-length"])
        if (declared !== undefined && declared > limit) {
          return yield* new TooLarge({ ...base, kind, limit, declared })
        }
        const contentType = headerValue(res.headers["content-type"])
        const body = yield* readBody(res, {
          ...base,
          kind,
          limit,
          sink,
          progress,
          ...(contentType === undefined ? {} : { contentType })
        })
        return {
          _tag: "Body",
          format: body.format,
          size: body.size,
          ...(contentType === undefined ? {} : { contentType }),
          ...(remoteAddress === undefined ? {} : { remoteAddress })
        } as const
      })
    )

  /** The whole download: the first URL's checks, then hops until a body, all under the kind's total deadline. */
  const run = (
    raw: string,
    kind: Sniff.MediaKind,
    sink: Sink
  ): Effect.Effect<HopOutcome & { readonly _tag: "Body"; readonly finalUrl: string }, MediaFetchError> => {
    const first = Ssrf.checkUrl(raw, policy)
    if (first._tag === "Invalid") return Effect.fail(new InvalidUrl({ url: String(raw), reason: first.reason }))
    if (first._tag === "Refused") return Effect.fail(refusal(first, "url"))
    const progress: Progress = { host: first.host, url: first.url.href, received: 0 }
    const totalMs = kind === "image" ? resolved.imageTimeoutMs : resolved.videoTimeoutMs
    return Effect.gen(function* () {
      let current: Hop = { url: first.url, host: first.host, target: first.target, index: 0 }
      for (;;) {
        progress.host = current.host
        progress.url = current.url.href
        const outcome = yield* hop(current, kind, sink, progress)
        if (outcome._tag === "Body") return { ...outcome, finalUrl: current.url.href }
        const base = { url: current.url.href, host: current.host }
        if (current.index >= resolved.maxRedirects) {
          return yield* new DownloadFailed({ ...base, reason: `more than ${resolved.maxRedirects} redirects` })
        }
        let next: URL
        try {
          next = new URL(outcome.location, current.url)
        } catch {
          return yield* new DownloadFailed({ ...base, reason: "a redirect pointed at an invalid URL" })
        }
        const check = Ssrf.checkParsed(next, policy)
        if (check._tag === "Invalid") {
          const range = next.protocol === "http:" || next.protocol === "https:" ? "credentials" : "scheme"
          return yield* new Forbidden({
            url: shorten(next.href),
            host: current.host,
            stage: "redirect",
            range,
            reason: check.reason,
            message: `refusing to follow a redirect from ${current.host}: ${check.reason}`
          })
        }
        if (check._tag === "Refused") return yield* refusal(check, "redirect")
        current = { url: check.url, host: check.host, target: check.target, index: current.index + 1 }
      }
    }).pipe(
      Effect.timeoutFail({
        duration: Duration.millis(totalMs),
        onTimeout: () =>
          new Timeout({
            url: progress.url,
            host: progress.host,
            phase: "total",
            timeoutMs: totalMs,
            received: progress.received
          })
      })
    )
  }

  const fetchBytes = (url: string, { kind }: { readonly kind: Sniff.MediaKind }) =>
    Effect.suspend(() => {
      let chunks: Array<Buffer> = []
      let size = 0
      const sink: Sink = (chunk) => {
        chunks.push(chunk)
        size += chunk.length
        return undefined
      }
      return run(url, kind, sink).pipe(
        Effect.map((body): FetchedBytes => {
          // Own the memory: Buffer.concat may hand out a slice of Node's shared pool.
          const bytes = new Uint8Array(size)
          let offset = 0
          for (const chunk of chunks) {
            bytes.set(chunk, offset)
            offset += chunk.length
          }
          chunks = []
          return {
            bytes,
            format: body.format,
            finalUrl: body.finalUrl,
            ...(body.contentType === undefined ? {} : { contentType: body.contentType }),
            ...(body.remoteAddress === undefined ? {} : { remoteAddress: body.remoteAddress })
          }
        }),
        // A redirect hop writes nothing, but a failed attempt must not leave bytes behind.
        Effect.ensuring(
          Effect.sync(() => {
            chunks = []
          })
        )
      )
    })

  const fetchToFile = (url: string, { kind, path }: { readonly kind: Sniff.MediaKind; readonly path: string }) => {
    const check = checkUrl(url)
    if (Either.isLeft(check)) return Effect.fail(check.left)
    return Effect.acquireUseRelease(
      Effect.tryPromise({
        // `wx`: never reuse or follow an existing file or symlink at `path`.
        try: () => open(path, "wx", 0o600),
        catch: (error) => new Error(`cannot create the download file ${path}: ${String(error)}`)
      }).pipe(Effect.orDie),
      (handle) =>
        run(url, kind, (chunk) => writeAll(handle, chunk)).pipe(
          Effect.map(
            (body): FetchedFile => ({
              path,
              size: body.size,
              format: body.format,
              finalUrl: body.finalUrl,
              ...(body.contentType === undefined ? {} : { contentType: body.contentType }),
              ...(body.remoteAddress === undefined ? {} : { remoteAddress: body.remoteAddress })
            })
          )
        ),
      (handle, exit) =>
        Effect.promise(async () => {
          await handle.close().catch(() => undefined)
          if (exit._tag === "Failure") await rm(path, { force: true }).catch(() => undefined)
        })
    )
  }

  return { checkUrl, fetchBytes, fetchToFile, options: resolved, policy }
}

const writeAll = async (handle: FileHandle, chunk: Buffer): Promise<void> => {
  let offset = 0
  while (offset < chunk.length) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset)
    offset += bytesWritten
  }
}

/**
 * Streams a response body into `sink`: counts every byte against `limit` (closing the socket as soon as it is
 * passed), holds the first bytes until the format is known and refuses the wrong format before taking more, and
 * pauses the socket while the sink is busy (back-pressure to the disk).
 */
const readBody = (
  res: http.IncomingMessage,
  ctx: {
    readonly url: string
    readonly host: string
    readonly kind: Sniff.MediaKind
    readonly limit: number
    readonly sink: Sink
    readonly progress: Progress
    readonly contentType?: string
  }
): Effect.Effect<{ readonly format: Sniff.MediaFormat; readonly size: number }, MediaFetchError> =>
  Effect.async((resume) => {
    let settled = false
    let size = 0
    let head: Array<Buffer> | undefined = []
    let headBytes = 0
    let format: Sniff.MediaFormat | undefined
    let pending: Promise<void> | undefined
    const base = { url: ctx.url, host: ctx.host }
    const settle = (effect: Effect.Effect<{ format: Sniff.MediaFormat; size: number }, MediaFetchError>) => {
      if (settled) return
      settled = true
      resume(effect)
    }
    const abort = (error: MediaFetchError) => {
      settle(Effect.fail(error))
      res.destroy()
    }
    const write = (chunk: Buffer) => {
      const busy = ctx.sink(chunk)
      if (busy === undefined) return
      res.pause()
      pending = busy.then(
        () => {
          pending = undefined
          if (!settled) res.resume()
        },
        (error: unknown) => {
          settle(Effect.die(error))
          res.destroy()
        }
      )
    }
    /** Decides the format from the held bytes; false when they were refused. */
    const decide = (): boolean => {
      const held = Buffer.concat(head ?? [], headBytes)
      head = undefined
      const found = Sniff.sniff(held)
      if (found === undefined || !Sniff.accepts(ctx.kind, found)) {
        abort(
          new UnsupportedFormat({
            ...base,
            kind: ctx.kind,
            detected: Sniff.describe(held),
            ...(ctx.contentType === undefined ? {} : { contentType: printable(ctx.contentType) })
          })
        )
        return false
      }
      format = found
      write(held)
      return true
    }
    res.on("data", (chunk: Buffer) => {
      if (settled) return
      size += chunk.length
      ctx.progress.received = size
      if (size > ctx.limit) {
        return abort(new TooLarge({ ...base, kind: ctx.kind, limit: ctx.limit, received: size }))
      }
      if (head !== undefined) {
        head.push(chunk)
        headBytes += chunk.length
        if (headBytes >= Sniff.headerLength) decide()
        return
      }
      write(chunk)
    })
    res.on("end", () => {
      if (settled) return
      if (size === 0) return abort(new DownloadFailed({ ...base, reason: "the server sent an empty body" }))
      if (head !== undefined && !decide()) return
      const finish = () => settle(Effect.succeed({ format: format!, size }))
      if (pending === undefined) finish()
      else void pending.then(finish)
    })
    const truncated = () =>
      abort(new DownloadFailed({ ...base, reason: "the connection closed before the whole body arrived" }))
    res.on("aborted", truncated)
    res.on("error", truncated)
    res.on("close", () => {
      if (!res.complete) truncated()
    })
    return Effect.sync(() => {
      settled = true
      res.destroy()
    })
  })

const describeNetworkError = (code: string | undefined, host: string): string => {
  switch (code) {
    case "ENOTFOUND":
    case "EAI_NONAME":
    case "EAI_NODATA":
    case "EAI_FAIL":
      return `the host name ${host} could not be resolved`
    case "EAI_AGAIN":
      return `the host name ${host} could not be resolved (temporary DNS failure)`
    case "ECONNREFUSED":
      return "the connection was refused"
    case "ECONNRESET":
    case "EPIPE":
      return "the connection was reset"
    case "EHOSTUNREACH":
    case "ENETUNREACH":
    case "EHOSTDOWN":
    case "ENETDOWN":
      return "the host is unreachable"
    case "ETIMEDOUT":
      return "the connection timed out"
    case undefined:
      return "a network error occurred"
  }
  if (code.startsWith("HPE_")) return `the server sent an invalid HTTP response (${code})`
  if (/CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ALTNAME/.test(code)) return `the TLS certificate was rejected (${code})`
  if (code.startsWith("ERR_SSL") || code.startsWith("ERR_TLS") || code === "EPROTO") {
    return `the TLS handshake failed (${code})`
  }
  return `a network error occurred (${code})`
}

const contentLength = (value: string | undefined): number | undefined => {
  if (value === undefined || !/^\d{1,16}$/.test(value.trim())) return undefined
  return Number(value.trim())
}

const headerValue = (value: string | undefined): string | undefined =>
  value === undefined || value.trim() === "" ? undefined : printable(value.trim())
