/**
 * Receiving facedet's callbacks: check a webhook's Standard Webhooks signature and timestamp, and get the typed,
 * schema-checked payload (`{ detect_task_id, status, data }`, where `data` is the result call's `data`).
 *
 * WebCrypto only, so the same code runs on Node, Bun, Deno, browsers and edge runtimes. Pass the body exactly as
 * received (raw text or bytes): re-serialised JSON does not match the signature.
 *
 * @example
 * ```ts
 * import { verifyWebhook } from "@facedet/node-client"
 *
 * // e.g. in a fetch-style handler
 * export const handler = async (request: Request) => {
 *   const payload = await verifyWebhook(await request.text(), request.headers, process.env.FACEDET_WEBHOOK_SECRET!)
 *   console.log(payload.detect_task_id, payload.status, payload.data.result?.faces.length)
 *   return new Response(null, { status: 204 })
 * }
 * ```
 *
 * @since 0.1.0
 */
import * as CoreWebhook from "@facedet/core/Webhook"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"

/**
 * @since 0.1.0
 * @category Models
 */
export type Payload = CoreWebhook.Payload

/**
 * @since 0.1.0
 * @category Models
 */
export type VerifyError = CoreWebhook.VerifyError

/**
 * @since 0.1.0
 * @category Models
 */
export type VerifyOptions = CoreWebhook.VerifyOptions

/**
 * @since 0.1.0
 * @category Models
 */
export type HeadersInput = CoreWebhook.HeadersInput

/**
 * The errors: `WebhookSignatureMismatch`, `WebhookTimestampOutOfRange`, `WebhookMalformed`, `WebhookSecretInvalid`.
 *
 * @since 0.1.0
 * @category Errors
 */
export {
  WebhookMalformed,
  WebhookSecretInvalid,
  WebhookSignatureMismatch,
  WebhookTimestampOutOfRange
} from "@facedet/core/Webhook"

/**
 * The Effect version: the payload, or a typed `VerifyError`. The timestamp is judged by Effect's `Clock`.
 *
 * @since 0.1.0
 * @category Verification
 */
export const verify: (
  body: string | Uint8Array,
  headers: HeadersInput,
  secret: string | ReadonlyArray<string>,
  options?: VerifyOptions
) => Effect.Effect<Payload, VerifyError> = CoreWebhook.verify

/**
 * The Promise version: resolves to the payload, or rejects with the typed error (check `_tag`, or
 * {@link isVerifyError}). `secret` may list several secrets while you rotate them.
 *
 * @since 0.1.0
 * @category Verification
 */
export const verifyWebhook = async (
  body: string | Uint8Array,
  headers: HeadersInput,
  secret: string | ReadonlyArray<string>,
  options: VerifyOptions = {}
): Promise<Payload> => {
  const result = await Effect.runPromise(Effect.either(CoreWebhook.verify(body, headers, secret, options)))
  if (Either.isLeft(result)) throw result.left
  return result.right
}

const tags: ReadonlySet<string> = new Set([
  "WebhookMalformed",
  "WebhookSecretInvalid",
  "WebhookSignatureMismatch",
  "WebhookTimestampOutOfRange"
])

/**
 * Whether `u` is a webhook verification failure.
 *
 * @since 0.1.0
 * @category Guards
 */
export const isVerifyError = (u: unknown): u is VerifyError =>
  typeof u === "object" && u !== null && "_tag" in u && tags.has((u as { _tag: string })._tag)
