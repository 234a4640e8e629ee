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
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Address from "./internal/address.js"
import { build } from "./internal/download.js"
import * as Sniff from "./internal/sniff.js"
import type * as Ssrf from "./internal/ssrf.js"
import { detectedPhrase, formatBytes, formatMs, shorten } from "./internal/text.js"

/**
 * The formats and kinds a download may have.
 *
 * @since 0.1.0
 */
export type { MediaFormat, MediaKind } from "./internal/sniff.js"
export { formatBytes } from "./internal/text.js"
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

/**
 * Builds the service from options (defaults filled in, values checked).
 *
 * @since 0.1.0
 */
export const make = (options: Options = {}): Effect.Effect<Service, InvalidOptions> =>
  Effect.map(resolveOptions(options), (resolved) => build(resolved, options))

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
