/**
 * The server's configuration: every setting with its environment variable, its default, and a validation that
 * names each bad value at start (`FACEDET_PORT: expected an integer 0..65535, got "80a"`), so a typo never
 * becomes a silently ignored default.
 *
 * @example
 * ```ts
 * import { ServerConfig } from "@facedet/http-server"
 * import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
 *
 * const config = ServerConfig.fromEnv(process.env, { port: 9000 })
 * if (Either.isLeft(config)) console.error(config.left.message)
 * ```
 */
import { availableParallelism } from "node:os"
import { resolve } from "node:path"
import * as Webhook from "@facedet/core/Webhook"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Address from "./internal/address.js"
import { parseUrl } from "./internal/databaseUrl.js"

/**
 * A validated server configuration. Durations are milliseconds, sizes bytes.
 *
 * @since 0.1.0
 */
export interface ServerConfig {
  /** TCP port; 0 picks a free one. `FACEDET_PORT`, default 8080. */
  readonly port: number
  /** Listen address. `FACEDET_HOST`, default 127.0.0.1. */
  readonly host: string
  /** Where the SQLite store, crops, uploads and the generated key hash live. `FACEDET_DATA_DIR`, default `./.facedet`. */
  readonly dataDir: string
  /** Origin used in face links and upload URLs. `FACEDET_PUBLIC_URL`, default the listen address. */
  readonly publicUrl: string | undefined
  /** Accepted API keys. `FACEDET_API_KEYS` (comma-separated); empty: a key is generated on first start. */
  readonly apiKeys: ReadonlyArray<string>
  /** Turns the fetcher's private-address check off (trusted networks, tests). `FACEDET_ALLOW_PRIVATE_URLS`. */
  readonly allowPrivateUrls: boolean
  /** Private blocks the fetcher may reach anyway. `FACEDET_ALLOWED_CIDRS` (comma-separated), default none. */
  readonly allowedCidrs: ReadonlyArray<string>
  /** Token-bucket refill per API key, requests per second; 0 turns rate limiting off. `FACEDET_RATE_LIMIT_RPS`, 20. */
  readonly rateLimitPerSecond: number
  /** Token-bucket size (burst) per API key. `FACEDET_RATE_LIMIT_BURST`, default 60. */
  readonly rateLimitBurst: number
  /**
   * Tasks processed at once. `FACEDET_WORKERS`, default twice the number of cores: an image task spends part of its
   * time downloading and committing, and a second task per core keeps the detector busy meanwhile.
   */
  readonly workers: number
  /**
   * Heavy tasks processed at once, at most (within `workers`): videos, and images over 4 megapixels (counted once
   * downloaded). `FACEDET_HEAVY_WORKERS`, default the number of cores: such a task keeps a core busy and holds tens of
   * megabytes, so a second one per core would mostly add memory.
   */
  readonly heavyWorkers: number
  /** Most tasks queued or in flight; past it creates answer 429. `FACEDET_QUEUE_SIZE`, default 10 000. */
  readonly queueSize: number
  /** How long crops, detect_ids and uploads live. `FACEDET_MEDIA_TTL_SECONDS`, default 3600 (crun.ai's hour). */
  readonly mediaTtlMs: number
  /** How long task records (and idempotency keys) are kept after they end. `FACEDET_TASK_RETENTION_HOURS`, 24. */
  readonly taskRetentionMs: number
  /** How often the sweeper deletes expired files and records. `FACEDET_SWEEP_INTERVAL_SECONDS`, default 60. */
  readonly sweepIntervalMs: number
  /** In-flight tasks get this long to finish on SIGTERM/SIGINT. `FACEDET_SHUTDOWN_GRACE_SECONDS`, default 30. */
  readonly shutdownGraceMs: number
  /** Hard limit per image task (download + detection). `FACEDET_IMAGE_TIMEOUT_SECONDS`, default 60. */
  readonly imageTimeoutMs: number
  /** Hard limit per video task. `FACEDET_VIDEO_TIMEOUT_SECONDS`, default 600. */
  readonly videoTimeoutMs: number
  /** A worker's claim on a task lasts this long unless renewed (every third of it). `FACEDET_LEASE_SECONDS`, 30. */
  readonly leaseMs: number
  /** A task whose worker died this many times is failed instead of retried. `FACEDET_MAX_ATTEMPTS`, default 3. */
  readonly maxAttempts: number
  /** Largest JSON request body. `FACEDET_MAX_JSON_BYTES`, default 65 536. */
  readonly maxJsonBytes: number
  /** Largest image upload (and download). `FACEDET_MAX_IMAGE_BYTES`, default 25 MiB. */
  readonly maxImageBytes: number
  /** Largest video upload (and download). `FACEDET_MAX_VIDEO_BYTES`, default 200 MiB. */
  readonly maxVideoBytes: number
  /**
   * Callback signing secrets per API key: `FACEDET_WEBHOOK_SECRETS`, comma-separated `<api key>=whsec_...` pairs.
   * A key without one gets a generated secret at its first callback. Changing a key's secret rotates it: the old
   * one keeps signing beside the new one for 24 h.
   */
  readonly webhookSecrets: ReadonlyArray<{ readonly key: string; readonly secret: string }>
  /** Delay before a callback's first retry, doubling to 1 h. `FACEDET_WEBHOOK_RETRY_INITIAL_SECONDS`, default 5. */
  readonly webhookInitialDelayMs: number
  /** Serve the web console at `/` and the API reference at `/docs`. `FACEDET_CONSOLE`, default true. */
  readonly console: boolean
  /** Most tasks one API key may have queued or running. `FACEDET_KEY_MAX_TASKS`, default 1000. */
  readonly keyMaxTasks: number
  /** Most bytes of live uploads one API key may hold. `FACEDET_KEY_MAX_UPLOAD_BYTES`, default 1 GiB. */
  readonly keyMaxUploadBytes: number
  /** Uploads are refused with 507 when the data directory's disk has less free. `FACEDET_MIN_FREE_DISK_BYTES`, 1 GiB. */
  readonly minFreeDiskBytes: number
  /** Most open connections; more are closed at once. `FACEDET_MAX_CONNECTIONS`, default 1024. */
  readonly maxConnections: number
  /** A request's headers must arrive within this. `FACEDET_HEADERS_TIMEOUT_SECONDS`, default 10. */
  readonly headersTimeoutMs: number
  /** Idle keep-alive connections close after this (below a load balancer's 60 s). `FACEDET_KEEP_ALIVE_SECONDS`, 5. */
  readonly keepAliveTimeoutMs: number
  /** Ports media and callback URLs may use; empty: any. `FACEDET_ALLOWED_PORTS` (e.g. `80,443`). */
  readonly allowedPorts: ReadonlyArray<number>
  /** `text` (lines on stderr, the default) or `json` (one object per line on stdout). `FACEDET_LOG_FORMAT`. */
  readonly logFormat: "text" | "json"
  /**
   * Who answers requests that need work: `node` (the default: facedet's own `node:http` edge) or `platform`
   * (experimental: `@effect/platform`'s Node handler; answers known at once keep the `node:http` fast path).
   * `FACEDET_HTTP_EDGE`.
   */
  readonly httpEdge: "node" | "platform"
  /**
   * When an image's face crops are encoded: `eager` (the default: just after its task succeeds, from the raster the
   * detector still holds) or `lazy` (when one of its links is first fetched, all of the task's crops from one decode
   * of the kept image; a task whose links are never fetched costs no crops at all). `FACEDET_CROPS`. Videos always
   * get their crops before they succeed (each person's best frame is not kept).
   */
  readonly crops: "eager" | "lazy"
  /** A log line per answered request. `FACEDET_ACCESS_LOG`, default true with JSON logs, false with text. */
  readonly accessLog: boolean
  /**
   * The shared PostgreSQL database (`postgres://user:password@host:5432/db`): tasks, files, keys and rate limits
   * live there, so any number of processes serve one queue. `FACEDET_DATABASE_URL`; unset: the embedded SQLite
   * store in the data directory. Validated at start; shown only without its password.
   */
  readonly databaseUrl: string | undefined
  /**
   * What this process does: `all` (default), `api` (HTTP API only, no detection) or `worker` (detection only; its
   * HTTP port answers health, readiness and metrics). `FACEDET_ROLE`. Roles other than `all` need a database.
   */
  readonly role: Role
  /** Connections of this process to the database. `FACEDET_DATABASE_POOL_SIZE`, default 10. */
  readonly databasePoolSize: number
}

/**
 * What a process does: serve the API, detect, or both.
 *
 * @since 0.1.0
 */
export type Role = "all" | "api" | "worker"

/**
 * The defaults, as documented in the README.
 *
 * @since 0.1.0
 */
export const defaults = {
  port: 8080,
  host: "127.0.0.1",
  dataDir: ".facedet",
  rateLimitPerSecond: 20,
  rateLimitBurst: 60,
  queueSize: 10_000,
  mediaTtlMs: 3_600_000,
  taskRetentionMs: 24 * 3_600_000,
  sweepIntervalMs: 60_000,
  shutdownGraceMs: 30_000,
  imageTimeoutMs: 60_000,
  videoTimeoutMs: 600_000,
  leaseMs: 30_000,
  maxAttempts: 3,
  maxJsonBytes: 64 * 1024,
  maxImageBytes: 25 * 1024 * 1024,
  maxVideoBytes: 200 * 1024 * 1024,
  webhookInitialDelayMs: 5_000,
  keyMaxTasks: 1000,
  keyMaxUploadBytes: 1024 * 1024 * 1024,
  minFreeDiskBytes: 1024 * 1024 * 1024,
  maxConnections: 1024,
  headersTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000
} as const

/**
 * One bad setting: which variable (or option) and what is wrong with it.
 *
 * @since 0.1.0
 */
export interface Problem {
  readonly setting: string
  readonly message: string
}

/**
 * The configuration is invalid; `problems` lists every bad value, not just the first.
 *
 * @since 0.1.0
 */
export class ConfigInvalid extends Data.TaggedError("ConfigInvalid")<{ readonly problems: ReadonlyArray<Problem> }> {
  override get message(): string {
    return `invalid configuration:\n${this.problems.map((p) => `  ${p.setting}: ${p.message}`).join("\n")}`
  }
}

/**
 * Values given directly (CLI flags, tests); they win over the environment.
 *
 * @since 0.1.0
 */
export type Overrides = { readonly [K in keyof ServerConfig]?: ServerConfig[K] | undefined }

/**
 * The environment variable behind each setting.
 *
 * @since 0.1.0
 */
export const envNames = {
  port: "FACEDET_PORT",
  host: "FACEDET_HOST",
  dataDir: "FACEDET_DATA_DIR",
  publicUrl: "FACEDET_PUBLIC_URL",
  apiKeys: "FACEDET_API_KEYS",
  allowPrivateUrls: "FACEDET_ALLOW_PRIVATE_URLS",
  allowedCidrs: "FACEDET_ALLOWED_CIDRS",
  rateLimitPerSecond: "FACEDET_RATE_LIMIT_RPS",
  rateLimitBurst: "FACEDET_RATE_LIMIT_BURST",
  workers: "FACEDET_WORKERS",
  heavyWorkers: "FACEDET_HEAVY_WORKERS",
  queueSize: "FACEDET_QUEUE_SIZE",
  mediaTtlMs: "FACEDET_MEDIA_TTL_SECONDS",
  taskRetentionMs: "FACEDET_TASK_RETENTION_HOURS",
  sweepIntervalMs: "FACEDET_SWEEP_INTERVAL_SECONDS",
  shutdownGraceMs: "FACEDET_SHUTDOWN_GRACE_SECONDS",
  imageTimeoutMs: "FACEDET_IMAGE_TIMEOUT_SECONDS",
  videoTimeoutMs: "FACEDET_VIDEO_TIMEOUT_SECONDS",
  leaseMs: "FACEDET_LEASE_SECONDS",
  maxAttempts: "FACEDET_MAX_ATTEMPTS",
  maxJsonBytes: "FACEDET_MAX_JSON_BYTES",
  maxImageBytes: "FACEDET_MAX_IMAGE_BYTES",
  maxVideoBytes: "FACEDET_MAX_VIDEO_BYTES",
  webhookSecrets: "FACEDET_WEBHOOK_SECRETS",
  webhookInitialDelayMs: "FACEDET_WEBHOOK_RETRY_INITIAL_SECONDS",
  console: "FACEDET_CONSOLE",
  keyMaxTasks: "FACEDET_KEY_MAX_TASKS",
  keyMaxUploadBytes: "FACEDET_KEY_MAX_UPLOAD_BYTES",
  minFreeDiskBytes: "FACEDET_MIN_FREE_DISK_BYTES",
  maxConnections: "FACEDET_MAX_CONNECTIONS",
  headersTimeoutMs: "FACEDET_HEADERS_TIMEOUT_SECONDS",
  keepAliveTimeoutMs: "FACEDET_KEEP_ALIVE_SECONDS",
  allowedPorts: "FACEDET_ALLOWED_PORTS",
  logFormat: "FACEDET_LOG_FORMAT",
  httpEdge: "FACEDET_HTTP_EDGE",
  crops: "FACEDET_CROPS",
  accessLog: "FACEDET_ACCESS_LOG",
  databaseUrl: "FACEDET_DATABASE_URL",
  role: "FACEDET_ROLE",
  databasePoolSize: "FACEDET_DATABASE_POOL_SIZE"
} as const satisfies { readonly [K in keyof ServerConfig]: string }

type Env = Readonly<Record<string, string | undefined>>

/**
 * Reads and validates the configuration from environment variables, with `overrides` (already typed values, e.g.
 * CLI flags) taking precedence. Fails with every problem at once, each named by its environment variable, or for an
 * override by its entry in `labels` (e.g. `{ port: "--port" }`).
 *
 * @since 0.1.0
 */
export const fromEnv = (
  env: Env = process.env,
  overrides: Overrides = {},
  labels: { readonly [K in keyof ServerConfig]?: string } = {}
): Either.Either<ServerConfig, ConfigInvalid> => {
  const problems: Array<Problem> = []
  const raw = (key: keyof ServerConfig): string | undefined => {
    const value = env[envNames[key]]
    return value === undefined || value.trim() === "" ? undefined : value.trim()
  }
  const bad = (key: keyof ServerConfig, message: string) =>
    problems.push({ setting: (overrides[key] !== undefined ? labels[key] : undefined) ?? envNames[key], message })

  /** A number from an override or the env, checked against bounds, scaled from the env's unit to ours. */
  const num = (
    key: keyof ServerConfig,
    fallback: number,
    bounds: { readonly min: number; readonly max: number; readonly integer?: boolean; readonly unit?: number }
  ): number => {
    const unit = bounds.unit ?? 1
    const given = overrides[key]
    const check = (value: number, shown: string): number => {
      const ok =
        Number.isFinite(value) &&
        value >= bounds.min &&
        value <= bounds.max &&
        (!bounds.integer || Number.isInteger(value))
      if (ok) return value
      bad(key, `expected ${bounds.integer ? "an integer" : "a number"} ${bounds.min}..${bounds.max}, got ${shown}`)
      return fallback / unit
    }
    if (typeof given === "number") return check(given / unit, String(given / unit)) * unit
    const text = raw(key)
    if (text === undefined) return fallback
    const value = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text) ? Number(text) : Number.NaN
    return check(value, JSON.stringify(text)) * unit
  }

  const port = num("port", defaults.port, { min: 0, max: 65535, integer: true })
  const hostText = typeof overrides.host === "string" ? overrides.host : (raw("host") ?? defaults.host)
  // `[::1]` is how an IPv6 address appears in a URL; listening takes it bare.
  const host = /^\[[0-9A-Fa-f:.]+\]$/.test(hostText) ? hostText.slice(1, -1) : hostText
  if (!/^[A-Za-z0-9.:-]+$/.test(host))
    bad("host", `expected a host name or IP address, got ${JSON.stringify(hostText)}`)

  const dataDirText = typeof overrides.dataDir === "string" ? overrides.dataDir : (raw("dataDir") ?? defaults.dataDir)
  const dataDir = resolve(dataDirText)

  let publicUrl: string | undefined
  const publicText = typeof overrides.publicUrl === "string" ? overrides.publicUrl : raw("publicUrl")
  if (publicText !== undefined) {
    const parsed = URL.canParse(publicText) ? new URL(publicText) : undefined
    if (!parsed || (parsed.protocol !== "http:" && parsed.protocol !== "https:")) {
      bad("publicUrl", `expected an http(s) URL such as https://faces.example.com, got ${JSON.stringify(publicText)}`)
    } else if (parsed.search || parsed.hash || parsed.username || parsed.password) {
      bad("publicUrl", "expected an origin (and optional path prefix) without query, fragment or credentials")
    } else {
      publicUrl = parsed.href.replace(/\/+$/, "")
    }
  }

  const keySource = overrides.apiKeys ?? raw("apiKeys")?.split(",") ?? []
  const apiKeys = keySource.map((k) => k.trim()).filter((k) => k !== "")
  for (const key of apiKeys) {
    if (key.length < 16 || key.length > 256 || !/^[\x21-\x7e]+$/.test(key)) {
      // Never echo a key, even a bad one.
      bad("apiKeys", "every key must be 16..256 printable ASCII characters without spaces (the bad key is not shown)")
      break
    }
  }

  const flag = (key: "allowPrivateUrls" | "console" | "accessLog", fallback: boolean): boolean => {
    const given = overrides[key]
    if (typeof given === "boolean") return given
    const text = raw(key)?.toLowerCase()
    if (text === "true" || text === "1" || text === "yes") return true
    if (text === "false" || text === "0" || text === "no") return false
    if (text !== undefined) bad(key, `expected true or false, got ${JSON.stringify(text)}`)
    return fallback
  }
  const allowPrivateUrls = flag("allowPrivateUrls", false)

  const cidrSource = overrides.allowedCidrs ?? raw("allowedCidrs")?.split(",") ?? []
  const allowedCidrs = cidrSource.map((c) => c.trim()).filter((c) => c !== "")
  for (const cidr of allowedCidrs) {
    if (Address.parseCidr(cidr) === undefined) {
      bad("allowedCidrs", `${JSON.stringify(cidr)} is not an IP address or CIDR block (e.g. 10.20.0.0/16)`)
    }
  }

  const webhookSecrets: Array<{ key: string; secret: string }> = []
  const pairSource =
    overrides.webhookSecrets ??
    raw("webhookSecrets")
      ?.split(",")
      .map((pair) => {
        const at = pair.indexOf("=whsec_")
        return at < 0 ? { key: pair, secret: "" } : { key: pair.slice(0, at), secret: pair.slice(at + 1) }
      }) ??
    []
  for (const { key, secret } of pairSource) {
    const k = key.trim()
    const v = secret.trim()
    if (k === "" && v === "") continue
    // Neither the key nor the secret is ever echoed.
    if (!apiKeys.includes(k)) {
      bad("webhookSecrets", "every entry must be <api key>=whsec_... naming a key of FACEDET_API_KEYS (not shown)")
      break
    }
    const parsed = Effect.runSync(Effect.either(Webhook.parseSecret(v)))
    if (Either.isLeft(parsed)) {
      bad("webhookSecrets", `a secret is invalid: ${parsed.left.reason} (the secret is not shown)`)
      break
    }
    webhookSecrets.push({ key: k, secret: v })
  }

  const portSource = overrides.allowedPorts ?? raw("allowedPorts")?.split(",") ?? []
  const allowedPorts: Array<number> = []
  for (const p of portSource) {
    const text = String(p).trim()
    if (text === "") continue
    const port = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN
    if (port >= 1 && port <= 65535) allowedPorts.push(port)
    else bad("allowedPorts", `expected ports 1..65535 separated by commas, got ${JSON.stringify(text)}`)
  }

  const formatText = typeof overrides.logFormat === "string" ? overrides.logFormat : raw("logFormat")?.toLowerCase()
  let logFormat: "text" | "json" = "text"
  if (formatText === "json" || formatText === "text") logFormat = formatText
  else if (formatText !== undefined) bad("logFormat", `expected text or json, got ${JSON.stringify(formatText)}`)
  const edgeText = typeof overrides.httpEdge === "string" ? overrides.httpEdge : raw("httpEdge")?.toLowerCase()
  let httpEdge: "node" | "platform" = "node"
  if (edgeText === "node" || edgeText === "platform") httpEdge = edgeText
  else if (edgeText !== undefined) bad("httpEdge", `expected node or platform, got ${JSON.stringify(edgeText)}`)
  const cropsText = typeof overrides.crops === "string" ? overrides.crops : raw("crops")?.toLowerCase()
  let crops: "eager" | "lazy" = "eager"
  if (cropsText === "eager" || cropsText === "lazy") crops = cropsText
  else if (cropsText !== undefined) bad("crops", `expected eager or lazy, got ${JSON.stringify(cropsText)}`)

  const databaseText = typeof overrides.databaseUrl === "string" ? overrides.databaseUrl : raw("databaseUrl")
  let databaseUrl: string | undefined
  if (databaseText !== undefined) {
    const parsed = parseUrl(databaseText)
    if (Either.isLeft(parsed)) bad("databaseUrl", parsed.left)
    else databaseUrl = databaseText
  }
  const roleText = typeof overrides.role === "string" ? overrides.role : raw("role")?.toLowerCase()
  let role: Role = "all"
  if (roleText === "all" || roleText === "api" || roleText === "worker") role = roleText
  else if (roleText !== undefined) bad("role", `expected all, api or worker, got ${JSON.stringify(roleText)}`)
  if (role !== "all" && databaseUrl === undefined && databaseText === undefined) {
    bad("role", `--role ${role} shares the queue with other processes: it needs FACEDET_DATABASE_URL (PostgreSQL)`)
  }

  const s = 1000
  const config: ServerConfig = {
    port,
    host,
    dataDir,
    publicUrl,
    apiKeys,
    allowPrivateUrls,
    allowedCidrs,
    rateLimitPerSecond: num("rateLimitPerSecond", defaults.rateLimitPerSecond, { min: 0, max: 1e9 }),
    rateLimitBurst: num("rateLimitBurst", defaults.rateLimitBurst, { min: 1, max: 1e9, integer: true }),
    workers: num("workers", 2 * availableParallelism(), { min: 1, max: 256, integer: true }),
    heavyWorkers: num("heavyWorkers", availableParallelism(), { min: 1, max: 256, integer: true }),
    queueSize: num("queueSize", defaults.queueSize, { min: 1, max: 10_000_000, integer: true }),
    mediaTtlMs: num("mediaTtlMs", defaults.mediaTtlMs, { min: 1, max: 7 * 86_400, unit: s }),
    taskRetentionMs: num("taskRetentionMs", defaults.taskRetentionMs, { min: 0.001, max: 24 * 365, unit: 3_600_000 }),
    sweepIntervalMs: num("sweepIntervalMs", defaults.sweepIntervalMs, { min: 0.05, max: 86_400, unit: s }),
    shutdownGraceMs: num("shutdownGraceMs", defaults.shutdownGraceMs, { min: 0, max: 3600, unit: s }),
    imageTimeoutMs: num("imageTimeoutMs", defaults.imageTimeoutMs, { min: 1, max: 3600, unit: s }),
    videoTimeoutMs: num("videoTimeoutMs", defaults.videoTimeoutMs, { min: 1, max: 6 * 3600, unit: s }),
    leaseMs: num("leaseMs", defaults.leaseMs, { min: 0.3, max: 3600, unit: s }),
    maxAttempts: num("maxAttempts", defaults.maxAttempts, { min: 1, max: 100, integer: true }),
    maxJsonBytes: num("maxJsonBytes", defaults.maxJsonBytes, { min: 1024, max: 16 * 1024 * 1024, integer: true }),
    maxImageBytes: num("maxImageBytes", defaults.maxImageBytes, { min: 1024, max: 2 ** 32, integer: true }),
    maxVideoBytes: num("maxVideoBytes", defaults.maxVideoBytes, { min: 1024, max: 2 ** 40, integer: true }),
    webhookSecrets,
    console: flag("console", true),
    keyMaxTasks: num("keyMaxTasks", defaults.keyMaxTasks, { min: 1, max: 10_000_000, integer: true }),
    keyMaxUploadBytes: num("keyMaxUploadBytes", defaults.keyMaxUploadBytes, { min: 1024, max: 2 ** 50, integer: true }),
    minFreeDiskBytes: num("minFreeDiskBytes", defaults.minFreeDiskBytes, { min: 0, max: 2 ** 60, integer: true }),
    maxConnections: num("maxConnections", defaults.maxConnections, { min: 1, max: 1_000_000, integer: true }),
    headersTimeoutMs: num("headersTimeoutMs", defaults.headersTimeoutMs, { min: 0.1, max: 600, unit: s }),
    keepAliveTimeoutMs: num("keepAliveTimeoutMs", defaults.keepAliveTimeoutMs, { min: 0.1, max: 3600, unit: s }),
    allowedPorts,
    logFormat,
    httpEdge,
    crops,
    accessLog: flag("accessLog", logFormat === "json"),
    databaseUrl,
    role,
    databasePoolSize: num("databasePoolSize", 10, { min: 1, max: 1000, integer: true }),
    webhookInitialDelayMs: num("webhookInitialDelayMs", defaults.webhookInitialDelayMs, {
      min: 0.01,
      max: 3600,
      unit: s
    })
  }
  return problems.length === 0 ? Either.right(config) : Either.left(new ConfigInvalid({ problems }))
}

/**
 * Every setting's raw text, read through Effect's `Config` from the current `ConfigProvider` (the environment unless
 * the caller installs another: a map in tests, a file, a secret store), the same source the detector's and the
 * fetcher's settings come from.
 */
const rawSettings: Config.Config<Record<string, string | undefined>> = Config.map(
  Config.all(
    Object.fromEntries(
      Object.values(envNames).map((name) => [name, Config.option(Config.string(name))] as const)
    ) as Record<string, Config.Config<Option.Option<string>>>
  ),
  (values) => Object.fromEntries(Object.entries(values).map(([name, v]) => [name, Option.getOrUndefined(v)]))
)

/**
 * The configuration read through Effect's `Config` (the current `ConfigProvider`) and validated as `fromEnv`
 * validates it: every problem at once, each named by its variable (or its entry in `labels`).
 *
 * @since 0.1.0
 */
export const load = (
  overrides: Overrides = {},
  labels: { readonly [K in keyof ServerConfig]?: string } = {}
): Effect.Effect<ServerConfig, ConfigInvalid | ConfigError.ConfigError> =>
  Effect.flatMap(rawSettings, (env) => fromEnv(env, overrides, labels))

/**
 * The configuration as a `Config` (for `Config`-driven programs): a bad value is an `InvalidData` error whose
 * message lists every problem.
 *
 * @since 0.1.0
 */
export const config = (
  overrides: Overrides = {},
  labels: { readonly [K in keyof ServerConfig]?: string } = {}
): Config.Config<ServerConfig> =>
  Config.mapOrFail(rawSettings, (env) =>
    Either.mapLeft(fromEnv(env, overrides, labels), (e) => ConfigError.InvalidData([], e.message))
  )

/**
 * The settings read through `Config` and validated, as a layer.
 *
 * @since 0.1.0
 */
export const layer = (
  overrides: Overrides = {},
  labels: { readonly [K in keyof ServerConfig]?: string } = {}
): Layer.Layer<Settings, ConfigInvalid | ConfigError.ConfigError> => Layer.effect(Settings, load(overrides, labels))

/**
 * The defaults with `overrides` applied, ignoring the environment (tests, embedding). Throws on a bad value.
 *
 * @since 0.1.0
 */
export const make = (overrides: Overrides = {}): ServerConfig => Either.getOrThrow(fromEnv({}, overrides))

/**
 * The validated configuration of the server being built, as a service.
 *
 * @since 0.1.0
 */
export class Settings extends Context.Tag("@facedet/http-server/ServerConfig")<Settings, ServerConfig>() {}
