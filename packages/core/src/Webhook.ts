/**
 * Callbacks (webhooks) of ended detection tasks, signed with the Standard Webhooks scheme
 * (https://www.standardwebhooks.com): the payload schema, signing, verification, and the delivery retry delays.
 *
 * - Headers: `webhook-id` (stable across the retries of one delivery: receivers de-duplicate on it),
 *   `webhook-timestamp` (Unix seconds of this attempt) and `webhook-signature`: space-separated `v1,<base64>`
 *   HMAC-SHA256 signatures of `<id>.<timestamp>.<body>`, one per secret in use (two during a rotation).
 * - Secrets are `whsec_` + base64 of the key bytes.
 * - Verification compares every candidate signature in constant time and refuses timestamps more than
 *   `toleranceSeconds` (default 300) away from now, so a captured request cannot be replayed later.
 *
 * Everything uses WebCrypto (`globalThis.crypto.subtle`), so it runs unchanged on Node >= 20, Bun, Deno, browsers
 * and edge runtimes.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import { z } from "zod"
import { ResultData } from "./DetectTask.js"

/**
 * The header names, lower case.
 *
 * @since 0.1.0
 * @category Constants
 */
export const headers = {
  id: "webhook-id",
  timestamp: "webhook-timestamp",
  signature: "webhook-signature"
} as const

/**
 * What a callback POSTs: the task, its terminal status, and `data` exactly as the result call answered it when the
 * task ended.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Payload = z
  .looseObject({
    detect_task_id: z.string().min(1),
    status: z.string().min(1),
    data: ResultData
  })
  .meta({ id: "DetectionWebhook" })

/**
 * @since 0.1.0
 * @category Models
 */
export type Payload = z.infer<typeof Payload>

/**
 * The secret is not `whsec_` followed by base64 of at least 16 bytes.
 *
 * @since 0.1.0
 * @category Errors
 */
export class WebhookSecretInvalid extends Data.TaggedError("WebhookSecretInvalid")<{ readonly reason: string }> {
  override get message(): string {
    return `invalid webhook secret: ${this.reason} (expected "whsec_" followed by base64, as the server showed it)`
  }
}

/**
 * A required header is missing or malformed, or the body is not a valid payload.
 *
 * @since 0.1.0
 * @category Errors
 */
export class WebhookMalformed extends Data.TaggedError("WebhookMalformed")<{ readonly reason: string }> {
  override get message(): string {
    return `malformed webhook: ${this.reason}`
  }
}

/**
 * No signature matches any secret: the body, id or timestamp was altered, or the secret is not this sender's.
 *
 * @since 0.1.0
 * @category Errors
 */
export class WebhookSignatureMismatch extends Data.TaggedError("WebhookSignatureMismatch")<{
  readonly id: string
}> {
  override get message(): string {
    return `webhook ${this.id}: no signature matches the secret (tampered payload, or a different secret)`
  }
}

/**
 * The timestamp is too far from now: a replay of an old request, or a badly wrong clock.
 *
 * @since 0.1.0
 * @category Errors
 */
export class WebhookTimestampOutOfRange extends Data.TaggedError("WebhookTimestampOutOfRange")<{
  readonly id: string
  readonly timestamp: number
  readonly now: number
  readonly toleranceSeconds: number
}> {
  override get message(): string {
    const skew = this.now - this.timestamp
    return `webhook ${this.id}: its timestamp is ${Math.abs(skew)} s ${skew >= 0 ? "old" : "in the future"}, more than the ${this.toleranceSeconds} s tolerated (a replayed request?)`
  }
}

/**
 * Why a webhook was refused.
 *
 * @since 0.1.0
 * @category Errors
 */
export type VerifyError =
  | WebhookSecretInvalid
  | WebhookMalformed
  | WebhookSignatureMismatch
  | WebhookTimestampOutOfRange

const secretPrefix = "whsec_"
const encoder = new TextEncoder()

const toBase64 = (bytes: Uint8Array): string => {
  let binary = ""
  for (const b of bytes) binary += String.fromCharCode(b)
  return btoa(binary)
}

const fromBase64 = (text: string): Uint8Array | undefined => {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || text.length % 4 !== 0) return undefined
  const binary = atob(text)
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes
}

/**
 * The key bytes of a `whsec_...` secret.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const parseSecret = (secret: string): Effect.Effect<Uint8Array, WebhookSecretInvalid> => {
  if (typeof secret !== "string" || !secret.startsWith(secretPrefix)) {
    return Effect.fail(new WebhookSecretInvalid({ reason: 'it does not start with "whsec_"' }))
  }
  const bytes = fromBase64(secret.slice(secretPrefix.length))
  if (bytes === undefined)
    return Effect.fail(new WebhookSecretInvalid({ reason: "the part after whsec_ is not base64" }))
  if (bytes.length < 16 || bytes.length > 64) {
    return Effect.fail(new WebhookSecretInvalid({ reason: `the key is ${bytes.length} bytes, not 16..64` }))
  }
  return Effect.succeed(bytes)
}

/**
 * A new secret from 32 random bytes (`random` is injected so the module stays pure; pass
 * `crypto.getRandomValues`-based bytes).
 *
 * @since 0.1.0
 * @category Constructors
 */
export const makeSecret = (random: (n: number) => Uint8Array): string => `${secretPrefix}${toBase64(random(32))}`

const hmac = (key: Uint8Array, content: string): Effect.Effect<Uint8Array> =>
  Effect.promise(async () => {
    const cryptoKey = await globalThis.crypto.subtle.importKey(
      "raw",
      key as Uint8Array<ArrayBuffer>,
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"]
    )
    return new Uint8Array(await globalThis.crypto.subtle.sign("HMAC", cryptoKey, encoder.encode(content)))
  })

/**
 * The `webhook-signature` value for `body`: one `v1,<base64>` per secret, space-separated.
 *
 * @since 0.1.0
 * @category Combinators
 */
export const sign = (
  secrets: ReadonlyArray<string>,
  id: string,
  timestampSeconds: number,
  body: string
): Effect.Effect<string, WebhookSecretInvalid> =>
  Effect.map(
    Effect.forEach(secrets, (secret) =>
      Effect.flatMap(parseSecret(secret), (key) => hmac(key, `${id}.${timestampSeconds}.${body}`))
    ),
    (signatures) => signatures.map((s) => `v1,${toBase64(s)}`).join(" ")
  )

/** Constant-time comparison of two byte strings of any length. */
const equal = (a: Uint8Array, b: Uint8Array): boolean => {
  let diff = a.length ^ b.length
  for (let i = 0; i < Math.max(a.length, b.length); i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0)
  return diff === 0
}

/**
 * Headers as a plain record (any case), a `Headers` object, or anything with `get`.
 *
 * @since 0.1.0
 * @category Models
 */
export type HeadersInput =
  | { readonly get: (name: string) => string | null | undefined }
  | Readonly<Record<string, string | ReadonlyArray<string> | undefined>>

const header = (input: HeadersInput, name: string): string | undefined => {
  if (typeof (input as { get?: unknown }).get === "function") {
    return (input as { get: (n: string) => string | null | undefined }).get(name) ?? undefined
  }
  const record = input as Readonly<Record<string, string | ReadonlyArray<string> | undefined>>
  for (const key of Object.keys(record)) {
    if (key.toLowerCase() === name) {
      const value = record[key]
      return typeof value === "string" ? value : value?.[0]
    }
  }
  return undefined
}

/**
 * Verification options.
 *
 * @since 0.1.0
 * @category Models
 */
export interface VerifyOptions {
  /** How far (seconds) the timestamp may be from now, either way. Default 300. */
  readonly toleranceSeconds?: number
}

/**
 * Checks a received webhook: the headers, a signature made with `secret` (or any of `secrets`, during a rotation),
 * the timestamp against the clock, then the body against `Payload`. Pass the body exactly as received (the raw
 * text or bytes, not re-serialised JSON).
 *
 * @since 0.1.0
 * @category Combinators
 */
export const verify = (
  body: string | Uint8Array,
  headersInput: HeadersInput,
  secret: string | ReadonlyArray<string>,
  options: VerifyOptions = {}
): Effect.Effect<Payload, VerifyError> =>
  Effect.gen(function* () {
    const tolerance = options.toleranceSeconds ?? 300
    const id = header(headersInput, headers.id)
    const timestampText = header(headersInput, headers.timestamp)
    const signatureText = header(headersInput, headers.signature)
    if (id === undefined || id === "") return yield* new WebhookMalformed({ reason: `no ${headers.id} header` })
    if (timestampText === undefined || !/^\d{1,12}$/.test(timestampText.trim())) {
      return yield* new WebhookMalformed({ reason: `no valid ${headers.timestamp} header (Unix seconds)` })
    }
    if (signatureText === undefined || signatureText.trim() === "") {
      return yield* new WebhookMalformed({ reason: `no ${headers.signature} header` })
    }
    const timestamp = Number(timestampText.trim())
    const now = Math.floor((yield* Clock.currentTimeMillis) / 1000)
    if (Math.abs(now - timestamp) > tolerance) {
      return yield* new WebhookTimestampOutOfRange({ id, timestamp, now, toleranceSeconds: tolerance })
    }
    const text = typeof body === "string" ? body : new TextDecoder("utf-8", { fatal: false }).decode(body)
    const candidates = signatureText
      .trim()
      .split(/\s+/)
      .flatMap((part) => {
        const comma = part.indexOf(",")
        if (comma < 0 || part.slice(0, comma) !== "v1") return []
        const bytes = fromBase64(part.slice(comma + 1))
        return bytes === undefined ? [] : [bytes]
      })
    let matched = false
    for (const s of typeof secret === "string" ? [secret] : secret) {
      const key = yield* parseSecret(s)
      const expected = yield* hmac(key, `${id}.${timestamp}.${text}`)
      // Every candidate is compared, so timing does not tell which one (if any) matched.
      for (const candidate of candidates) if (equal(expected, candidate)) matched = true
    }
    if (!matched) return yield* new WebhookSignatureMismatch({ id })
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      return yield* new WebhookMalformed({ reason: "the body is not JSON" })
    }
    const parsed = Payload.safeParse(json)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      return yield* new WebhookMalformed({
        reason: `the body is not a detection webhook (${issue?.path.join(".") || "body"}: ${issue?.message ?? "invalid"})`
      })
    }
    return parsed.data
  })

/**
 * The retry delays of a delivery.
 *
 * @since 0.1.0
 * @category Models
 */
export interface RetryOptions {
  /** Delay before the first retry, ms. Default 5 000. */
  readonly initialDelayMs?: number
  /** Cap on one delay, ms. Default 3 600 000 (1 h). */
  readonly maxDelayMs?: number
  /** No attempt is scheduled later than this after the task ended, ms. Default 24 h. */
  readonly horizonMs?: number
}

/**
 * The defaults: 5 s doubling to at most 1 h, for 24 h (about 30 attempts), as Stripe, Svix and GitHub keep
 * retrying for a day or more.
 *
 * @since 0.1.0
 * @category Constants
 */
export const retryDefaults = { initialDelayMs: 5_000, maxDelayMs: 3_600_000, horizonMs: 24 * 3_600_000 } as const

/**
 * The wait before retry number `retry` (0 for the first retry): "equal jitter", half of `initial * 2^retry`
 * (capped) plus a random part up to the other half, so retries of many deliveries spread out while each delay is
 * at least as long as the one before it until the cap (from there each lies between half the cap and the cap).
 * `random` returns a number in [0, 1).
 *
 * @since 0.1.0
 * @category Combinators
 */
export const retryDelayMs = (retry: number, random: () => number, options: RetryOptions = {}): number => {
  const initial = options.initialDelayMs ?? retryDefaults.initialDelayMs
  const cap = options.maxDelayMs ?? retryDefaults.maxDelayMs
  const full = Math.min(cap, initial * 2 ** Math.min(retry, 40))
  return Math.round(full / 2 + random() * (full / 2))
}

/**
 * Whether an answer's HTTP status is worth another attempt: 408, 429 and 5xx (and no answer at all, `undefined`:
 * a timeout or a network error). Other 4xx (and redirects, which are not followed) end the delivery at once.
 *
 * @since 0.1.0
 * @category Predicates
 */
export const isRetryableStatus = (status: number | undefined): boolean =>
  status === undefined || status === 408 || status === 429 || status >= 500
