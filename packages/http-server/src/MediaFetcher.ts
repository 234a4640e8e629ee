/**
 * The SSRF-safe media fetcher: downloads the `image_url` / `video_url` a user gives the server, treating every URL,
 * every DNS answer, every redirect and every byte as hostile.
 *
 * - Only `http:` / `https:`, no credentials in the URL, any port from 1 to 65535 (the address check is what protects
 *   internal services, not the port number).
 * - IP literals are judged by address in every spelling WHATWG `URL` accepts (`2130706433`, `0x7f.1`, `0177.0.0.1`,
 *   `127.1`, `[::ffff:7f00:1]`...); names are refused when local-only (`localhost`, `*.internal`, single labels...),
 *   otherwise resolved inside the socket's own `lookup`, refused when ANY answer is not global unicast, and the
 *   socket dials exactly the addresses that were checked (no second DNS query, so DNS rebinding has no window).
 * - Redirects are followed by hand, at most `maxRedirects`, each hop checked again from scratch (scheme, literal,
 *   name, DNS, pinning), including http <-> https hops.
 * - Byte limits are enforced from `Content-Length` and while counting streamed bytes (the socket is closed at once);
 *   a connect timeout and a total deadline bound the time; interrupting the effect aborts the request.
 * - The format comes from the first bytes (`sniff`), never from `Content-Type`; refused bytes stop the download as
 *   soon as the first 256 bytes are in.
 * - No cookies, no credentials, no compression, a fixed User-Agent.
 *
 * @example
 * ```ts
 * import { MediaFetcher } from "@facedet/http-server"
 * import * as Effect from "effect/Effect"
 *
 * const program = Effect.gen(function* () {
 *   const fetcher = yield* MediaFetcher.MediaFetcher
 *   const { bytes, format } = yield* fetcher.fetchBytes("https://example.com/photo.jpg", { kind: "image" })
 *   console.log(format, bytes.length)
 * })
 * Effect.runPromise(program.pipe(Effect.provide(MediaFetcher.layerConfig)))
 * ```
 */
import { lookup as systemLookup } from "node:dns/promises"
import { type FileHandle, open, rm } from "node:fs/promises"
import * as http from "node:http"
import * as https from "node:https"
import type { Socket } from "node:net"
import { networkInterfaces } from "node:os"
import { rootCertificates } from "node:tls"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Address from "./internal/address.js"
import * as Sniff from "./internal/sniff.js"
import * as Ssrf from "./internal/ssrf.js"

/**
 * The formats and kinds a download may have.
 *
 * @since 0.1.0
 */
export type { MediaFormat, MediaKind } from "./internal/sniff.js"
export { accepts, describe, imageFormats, sniff, videoFormats } from "./internal/sniff.js"

// ---------------------------------------------------------------------------------------------------------------
// Errors

/**
 * The URL is not one the server fetches: unparsable, not http(s), credentials, port 0. A 422 at create time.
 *
 * @since 0.1.0
 */
export class InvalidUrl extends Data.TaggedError("InvalidUrl")<{
  readonly url: string
  readonly reason: string
  readonly message: string
}> {
  constructor(args: { readonly url: string; readonly reason: string }) {
    super({ url: shorten(args.url), reason: args.reason, message: `invalid media URL: ${args.reason}` })
  }
}

/**
 * The host is, or resolves to, an address the server refuses (`range` names which: `loopback`, `private`,
 * `linkLocal`, `carrierGradeNat`, `uniqueLocal`, `ipv4Mapped:loopback`... or `localName` for a local-only host name,
 * `scheme` / `credentials` for a redirect to a URL that is not plain http(s)). `stage` says where it was found: the
 * given URL (a 422 at create time), a DNS answer or a redirect (the task fails `Media.Forbidden`).
 *
 * `address` is the refused address, for logs. The `message` names it only when the user wrote it (an IP literal):
 * what an internal resolver answers for a name is not theirs to learn.
 *
 * @since 0.1.0
 */
export class Forbidden extends Data.TaggedError("Forbidden")<{
  readonly url: string
  readonly host: string
  readonly stage: "url" | "dns" | "redirect"
  readonly range: string
  readonly reason: string
  readonly address?: string
  readonly message: string
}> {}

/**
 * DNS failure, connection refused or reset, TLS failure, a non-2xx status (`status`), too many redirects.
 *
 * @since 0.1.0
 */
export class DownloadFailed extends Data.TaggedError("DownloadFailed")<{
  readonly url: string
  readonly host: string
  readonly reason: string
  /** The HTTP status, when the server answered with one we do not accept. */
  readonly status?: number
  /** The system error code (`ECONNREFUSED`, `ENOTFOUND`, `CERT_HAS_EXPIRED`...), when there was one. */
  readonly code?: string
  readonly message: string
}> {
  constructor(args: {
    readonly url: string
    readonly host: string
    readonly reason: string
    readonly status?: number
    readonly code?: string
  }) {
    super({
      ...args,
      url: shorten(args.url),
      message: `could not download the media from ${args.host}: ${args.reason}`
    })
  }
}

/**
 * The media is over the kind's byte limit: announced by `Content-Length` (`declared`) or counted (`received`).
 *
 * @since 0.1.0
 */
export class TooLarge extends Data.TaggedError("TooLarge")<{
  readonly url: string
  readonly host: string
  readonly kind: Sniff.MediaKind
  readonly limit: number
  readonly declared?: number
  readonly received?: number
  readonly message: string
}> {
  constructor(args: {
    readonly url: string
    readonly host: string
    readonly kind: Sniff.MediaKind
    readonly limit: number
    readonly declared?: number
    readonly received?: number
  }) {
    const how =
      args.declared !== undefined
        ? `its Content-Length is ${formatBytes(args.declared)}`
        : `the download was stopped after ${formatBytes(args.received ?? 0)}`
    super({
      ...args,
      url: shorten(args.url),
      message: `the ${args.kind} at ${args.host} is larger than the ${formatBytes(args.limit)} limit: ${how}`
    })
  }
}

/**
 * The connection (DNS, TCP and TLS: `phase: "connect"`) or the whole download (`phase: "total"`) took too long.
 *
 * @since 0.1.0
 */
export class Timeout extends Data.TaggedError("Timeout")<{
  readonly url: string
  readonly host: string
  readonly phase: "connect" | "total"
  readonly timeoutMs: number
  /** Body bytes received when the deadline passed. */
  readonly received: number
  readonly message: string
}> {
  constructor(args: {
    readonly url: string
    readonly host: string
    readonly phase: "connect" | "total"
    readonly timeoutMs: number
    readonly received: number
  }) {
    const what =
      args.phase === "connect"
        ? `connecting to ${args.host} took longer than ${formatMs(args.timeoutMs)}`
        : `downloading the media from ${args.host} took longer than ${formatMs(args.timeoutMs)} ` +
          `(${formatBytes(args.received)} received)`
    super({ ...args, url: shorten(args.url), message: what })
  }
}

/**
 * The bytes are not a format of the requested kind (`detected` names what they were: `html`, `pdf`, `svg`...).
 *
 * @since 0.1.0
 */
export class UnsupportedFormat extends Data.TaggedError("UnsupportedFormat")<{
  readonly url: string
  readonly host: string
  readonly kind: Sniff.MediaKind
  readonly detected: string
  /** The Content-Type the server sent (not trusted; reported because it helps explain a wrong guess). */
  readonly contentType?: string
  readonly message: string
}> {
  constructor(args: {
    readonly url: string
    readonly host: string
    readonly kind: Sniff.MediaKind
    readonly detected: string
    readonly contentType?: string
  }) {
    const accepted = [...(args.kind === "image" ? Sniff.imageFormats : Sniff.videoFormats)].join(", ")
    const said = args.contentType === undefined ? "" : ` although the server said ${args.contentType}`
    super({
      ...args,
      url: shorten(args.url),
      message:
        `the media at ${args.host} is not a supported ${args.kind}: its bytes are ${detectedPhrase(args.detected)}${said} ` +
        `(accepted: ${accepted})`
    })
  }
}

/**
 * Every way a fetch can fail.
 *
 * @since 0.1.0
 */
export type MediaFetchError = InvalidUrl | Forbidden | DownloadFailed | TooLarge | Timeout | UnsupportedFormat

/**
 * The options given to `make` / `layer` are out of range.
 *
 * @since 0.1.0
 */
export class InvalidOptions extends Data.TaggedError("InvalidOptions")<{
  readonly issues: ReadonlyArray<string>
  readonly message: string
}> {
  constructor(issues: ReadonlyArray<string>) {
    super({ issues, message: `invalid media fetcher options: ${issues.join("; ")}` })
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Options

/**
 * Resolves a host name to all its addresses (the DNS step, injectable for tests and custom resolvers).
 *
 * @since 0.1.0
 */
export type Lookup = (hostname: string) => Promise<ReadonlyArray<{ readonly address: string; readonly family: number }>>

/**
 * Fetcher settings; every field has a default (see `defaults`).
 *
 * @since 0.1.0
 */
export interface Options {
  /** Turn the address check off (private deployments, tests). Scheme and credential checks stay. Default false. */
  readonly allowPrivate?: boolean
  /** CIDR blocks (or single addresses) reachable even though private, e.g. `["10.20.0.0/16"]`. Default none. */
  readonly allowedCidrs?: ReadonlyArray<string>
  /** Ports media URLs may name; empty or absent: any (the address checks are what protect internal services). */
  readonly allowedPorts?: ReadonlyArray<number>
  /** This machine's addresses, refused like private ones. Default: every interface's (`os.networkInterfaces`). */
  readonly ownAddresses?: ReadonlyArray<string>
  /** Byte limit of an image. Default 25 MiB. */
  readonly maxImageBytes?: number
  /** Byte limit of a video (or an animated GIF/WebP fetched as a video). Default 200 MiB. */
  readonly maxVideoBytes?: number
  /** Deadline for DNS + TCP + TLS of one connection. Default 10 s. */
  readonly connectTimeoutMs?: number
  /** Deadline for a whole image download, redirects included. Default 30 s. */
  readonly imageTimeoutMs?: number
  /** Deadline for a whole video download, redirects included. Default 120 s. */
  readonly videoTimeoutMs?: number
  /** Redirects followed (each one checked again). Default 5. */
  readonly maxRedirects?: number
  /** The User-Agent sent with every request. */
  readonly userAgent?: string
  /** DNS resolution. Default: `node:dns` `lookup` with `all: true` (the system resolver, /etc/hosts included). */
  readonly lookup?: Lookup
  /** Extra trusted CA certificates (PEM), added to Node's bundled roots, for media servers behind a private CA. */
  readonly ca?: string | ReadonlyArray<string>
}

/**
 * Options with defaults filled in.
 *
 * @since 0.1.0
 */
export interface ResolvedOptions {
  readonly allowPrivate: boolean
  readonly allowedCidrs: ReadonlyArray<string>
  readonly maxImageBytes: number
  readonly maxVideoBytes: number
  readonly connectTimeoutMs: number
  readonly imageTimeoutMs: number
  readonly videoTimeoutMs: number
  readonly maxRedirects: number
  readonly userAgent: string
}

/**
 * The defaults.
 *
 * @since 0.1.0
 */
export const defaults: ResolvedOptions = {
  allowPrivate: false,
  allowedCidrs: [],
  maxImageBytes: 25 * 1024 * 1024,
  maxVideoBytes: 200 * 1024 * 1024,
  connectTimeoutMs: 10_000,
  imageTimeoutMs: 30_000,
  videoTimeoutMs: 120_000,
  maxRedirects: 5,
  userAgent: "facedet-media-fetcher/1.0 (+self-hosted facedet server)"
}

/**
 * Fills in defaults and checks every value; the issues list every problem at once.
 *
 * @since 0.1.0
 */
export const resolveOptions = (options: Options = {}): Either.Either<ResolvedOptions, InvalidOptions> => {
  const issues: Array<string> = []
  const integer = (name: keyof Options, value: number | undefined, fallback: number, min: number, max: number) => {
    if (value === undefined) return fallback
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      issues.push(`${name} must be an integer from ${min} to ${max} (got ${String(value)})`)
    }
    return value
  }
  const cidrs = (options.allowedCidrs ?? []).map((c) => c.trim()).filter((c) => c !== "")
  for (const cidr of cidrs) {
    if (Address.parseCidr(cidr) === undefined) issues.push(`allowedCidrs: "${cidr}" is not an IP address or CIDR block`)
  }
  const userAgent = options.userAgent ?? defaults.userAgent
  if (!/^[\x20-\x7e]{1,256}$/.test(userAgent)) issues.push("userAgent must be 1 to 256 printable ASCII characters")
  const resolved: ResolvedOptions = {
    allowPrivate: options.allowPrivate ?? defaults.allowPrivate,
    allowedCidrs: cidrs,
    maxImageBytes: integer("maxImageBytes", options.maxImageBytes, defaults.maxImageBytes, 1, Number.MAX_SAFE_INTEGER),
    maxVideoBytes: integer("maxVideoBytes", options.maxVideoBytes, defaults.maxVideoBytes, 1, Number.MAX_SAFE_INTEGER),
    connectTimeoutMs: integer("connectTimeoutMs", options.connectTimeoutMs, defaults.connectTimeoutMs, 1, 3_600_000),
    imageTimeoutMs: integer("imageTimeoutMs", options.imageTimeoutMs, defaults.imageTimeoutMs, 1, 86_400_000),
    videoTimeoutMs: integer("videoTimeoutMs", options.videoTimeoutMs, defaults.videoTimeoutMs, 1, 86_400_000),
    maxRedirects: integer("maxRedirects", options.maxRedirects, defaults.maxRedirects, 0, 20),
    userAgent
  }
  return issues.length > 0 ? Either.left(new InvalidOptions(issues)) : Either.right(resolved)
}

// ---------------------------------------------------------------------------------------------------------------
// Service

/**
 * A download held in memory.
 *
 * @since 0.1.0
 */
export interface FetchedBytes {
  readonly bytes: Uint8Array
  /** Sniffed from the bytes. */
  readonly format: Sniff.MediaFormat
  /** The URL the bytes came from, after redirects. */
  readonly finalUrl: string
  /** The Content-Type the server sent (informational only). */
  readonly contentType?: string
  /** The address the socket connected to, for logs. */
  readonly remoteAddress?: string
}

/**
 * A download written to a file.
 *
 * @since 0.1.0
 */
export interface FetchedFile {
  readonly path: string
  readonly size: number
  readonly format: Sniff.MediaFormat
  readonly finalUrl: string
  readonly contentType?: string
  readonly remoteAddress?: string
}

/**
 * The fetcher's operations.
 *
 * @since 0.1.0
 */
export interface Service {
  /**
   * Cheap, no network: parses, checks scheme, credentials and port, and refuses IP-literal hosts in refused ranges
   * and local-only names. A failure is a 422 at create time. Names that resolve to refused addresses are only caught
   * when fetching (the task fails with `Forbidden`, stage `dns`).
   */
  readonly checkUrl: (url: string) => Either.Either<URL, InvalidUrl | Forbidden>
  /** Downloads into memory, enforcing the kind's byte limit while streaming; the format is sniffed from the bytes. */
  readonly fetchBytes: (
    url: string,
    options: { readonly kind: Sniff.MediaKind }
  ) => Effect.Effect<FetchedBytes, MediaFetchError>
  /**
   * Downloads to `path`, created exclusively (it must not exist) with mode 0600. The file is removed on any failure
   * or interruption. A file-system failure (disk full, `path` exists) is a defect, not a media error.
   */
  readonly fetchToFile: (
    url: string,
    options: { readonly kind: Sniff.MediaKind; readonly path: string }
  ) => Effect.Effect<FetchedFile, MediaFetchError>
  /** The options in force. */
  readonly options: ResolvedOptions
  /** The address policy in force (callbacks follow the same). */
  readonly policy: Ssrf.Policy
}

/**
 * The media fetcher.
 *
 * @since 0.1.0
 */
export class MediaFetcher extends Context.Tag("@facedet/http-server/MediaFetcher")<MediaFetcher, Service>() {}

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

/**
 * Builds the service from options (defaults filled in, values checked).
 *
 * @since 0.1.0
 */
export const make = (options: Options = {}): Effect.Effect<Service, InvalidOptions> =>
  Effect.map(resolveOptions(options), (resolved) => build(resolved, options))

const build = (resolved: ResolvedOptions, options: Options): Service => {
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
        const literal = current.target._tag === "Literal"
        const hostname = current.target._tag === "Literal" ? current.target.address : current.target.name
        const request = () => {
          const requestOptions: https.RequestOptions = {
            hostname,
            port: current.url.port === "" ? (isHttps ? 443 : 80) : Number(current.url.port),
            path: `${current.url.pathname}${current.url.search}`,
            method: "GET",
            agent: false,
            headers: {
              "user-agent": resolved.userAgent,
              accept: acceptHeader[kind],
              "accept-encoding": "identity"
            },
            // Checked answers only; Node skips lookup for IP literals, which checkUrl judged already.
            lookup: Ssrf.guardedLookup(resolve, policy),
            insecureHTTPParser: false,
            ...(isHttps ? { rejectUnauthorized: true, ...(literal ? {} : { servername: hostname }) } : {}),
            ...(isHttps && ca !== undefined ? { ca } : {})
          }
          const req = (isHttps ? https : http).request(requestOptions)
          // A fresh socket per request (agent: false): no pooled connection to a host checked under other rules.
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

// ---------------------------------------------------------------------------------------------------------------
// Layers

/**
 * The fetcher with the given options.
 *
 * @since 0.1.0
 */
export const layer = (options: Options = {}): Layer.Layer<MediaFetcher, InvalidOptions> =>
  Layer.effect(MediaFetcher, make(options))

const integerEnv = (name: string) => Config.option(Config.integer(name))

type MutableOptions = { -readonly [K in keyof Options]: Options[K] }

/**
 * The transport options from the environment (the ones the server's own configuration does not own):
 *
 * | variable | option |
 * |---|---|
 * | `FACEDET_FETCH_CONNECT_TIMEOUT_MS` | `connectTimeoutMs` |
 * | `FACEDET_FETCH_IMAGE_TIMEOUT_MS` / `FACEDET_FETCH_VIDEO_TIMEOUT_MS` | total deadlines |
 * | `FACEDET_FETCH_MAX_REDIRECTS` | `maxRedirects` |
 * | `FACEDET_FETCH_USER_AGENT` | `userAgent` |
 *
 * @since 0.1.0
 */
export const transportConfig: Config.Config<Options> = Config.all({
  connectTimeoutMs: integerEnv("FACEDET_FETCH_CONNECT_TIMEOUT_MS"),
  imageTimeoutMs: integerEnv("FACEDET_FETCH_IMAGE_TIMEOUT_MS"),
  videoTimeoutMs: integerEnv("FACEDET_FETCH_VIDEO_TIMEOUT_MS"),
  maxRedirects: integerEnv("FACEDET_FETCH_MAX_REDIRECTS"),
  userAgent: Config.option(Config.string("FACEDET_FETCH_USER_AGENT"))
}).pipe(
  Config.map((env): Options => {
    const options: MutableOptions = {}
    if (Option.isSome(env.connectTimeoutMs)) options.connectTimeoutMs = env.connectTimeoutMs.value
    if (Option.isSome(env.imageTimeoutMs)) options.imageTimeoutMs = env.imageTimeoutMs.value
    if (Option.isSome(env.videoTimeoutMs)) options.videoTimeoutMs = env.videoTimeoutMs.value
    if (Option.isSome(env.maxRedirects)) options.maxRedirects = env.maxRedirects.value
    if (Option.isSome(env.userAgent)) options.userAgent = env.userAgent.value
    return options
  })
)

/**
 * Every option from the environment: `transportConfig`, plus
 *
 * | variable | option |
 * |---|---|
 * | `FACEDET_ALLOW_PRIVATE_URLS` | `allowPrivate` (`true` / `false`) |
 * | `FACEDET_ALLOWED_CIDRS` | `allowedCidrs`, comma-separated |
 * | `FACEDET_MAX_IMAGE_BYTES` / `FACEDET_MAX_VIDEO_BYTES` | byte limits |
 *
 * (The server reads those four through its own `ServerConfig` and only takes `transportConfig` from here.)
 *
 * @since 0.1.0
 */
export const config: Config.Config<Options> = Config.all({
  transport: transportConfig,
  allowPrivate: Config.option(Config.boolean("FACEDET_ALLOW_PRIVATE_URLS")),
  allowedCidrs: Config.option(Config.string("FACEDET_ALLOWED_CIDRS")),
  maxImageBytes: integerEnv("FACEDET_MAX_IMAGE_BYTES"),
  maxVideoBytes: integerEnv("FACEDET_MAX_VIDEO_BYTES")
}).pipe(
  Config.map((env): Options => {
    const options: MutableOptions = { ...env.transport }
    if (Option.isSome(env.allowPrivate)) options.allowPrivate = env.allowPrivate.value
    if (Option.isSome(env.allowedCidrs)) options.allowedCidrs = env.allowedCidrs.value.split(",")
    if (Option.isSome(env.maxImageBytes)) options.maxImageBytes = env.maxImageBytes.value
    if (Option.isSome(env.maxVideoBytes)) options.maxVideoBytes = env.maxVideoBytes.value
    return options
  })
)

/**
 * The fetcher configured from the environment (see `config`); bad values fail the layer with a `ConfigError`.
 *
 * @since 0.1.0
 */
export const layerConfig: Layer.Layer<MediaFetcher, ConfigError.ConfigError> = Layer.effect(
  MediaFetcher,
  Effect.flatMap(config, (options) =>
    Effect.mapError(make(options), (error) => ConfigError.InvalidData([], error.message))
  )
)

// ---------------------------------------------------------------------------------------------------------------
// Helpers

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

/** Header text safe to put in a message: printable ASCII, at most 100 characters. */
const printable = (value: string): string => value.replace(/[^\x20-\x7e]/g, "?").slice(0, 100)

const shorten = (url: string): string => (url.length > 2048 ? `${url.slice(0, 2048)}...` : url)

const detectedNames: Record<string, string> = {
  empty: "empty",
  unknown: "of an unknown format",
  text: "plain text",
  json: "JSON",
  "xml-or-html": "XML or HTML",
  "m4a-audio": "M4A audio",
  "camera-raw": "a camera raw file"
}

/** `html` -> `HTML`, `unknown` -> `of an unknown format`: the end of "its bytes are ...". */
const detectedPhrase = (name: string): string => detectedNames[name] ?? name.toUpperCase()

/**
 * `1536` -> `1.5 KiB`.
 *
 * @since 0.1.0
 */
export const formatBytes = (bytes: number): string => {
  if (bytes < 1024) return `${bytes} bytes`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`
}

const formatMs = (ms: number): string => (ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`)
