/**
 * The server a command talks to (`--base-url` / `FACEDET_BASE_URL`, `--api-key` / `FACEDET_API_KEY`), the client
 * for it, and whether it is a facedet server: only a facedet server has the upload call that lets a local file be
 * detected. A facedet server marks every API answer with `x-facedet-long-poll`; crun.ai does not.
 *
 * @since 0.1.0
 */
import * as Endpoints from "@facedet/core/Endpoints"
import * as FaceDetError from "@facedet/core/FaceDetError"
import type * as HttpClient from "@effect/platform/HttpClient"
import { FaceDetClient } from "@facedet/node-client"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { MissingApiKey } from "./CliError.js"
import type { ErrorContext } from "./Render.js"

/**
 * @since 0.1.0
 * @category Models
 */
export interface Target {
  readonly baseUrl: string
  readonly apiKey: Option.Option<Redacted.Redacted<string>>
}

/**
 * What error hints need to know about the target.
 *
 * @since 0.1.0
 * @category Combinators
 */
export const errorContext = (target: Target): ErrorContext => ({
  baseUrl: target.baseUrl,
  hasApiKey: Option.isSome(target.apiKey) && Redacted.value(target.apiKey.value).trim() !== ""
})

/**
 * The client for the target, over the ambient `HttpClient`. No API key is a `MissingApiKey` (exit code 3) before
 * anything is sent.
 *
 * @since 0.1.0
 * @category Layers
 */
export const clientLayer = (
  target: Target
): Layer.Layer<FaceDetClient.FaceDetClient, MissingApiKey | FaceDetError.ValidationError, HttpClient.HttpClient> =>
  Layer.unwrapEffect(
    Effect.gen(function* () {
      const apiKey = Option.filter(target.apiKey, (key) => Redacted.value(key).trim() !== "")
      if (Option.isNone(apiKey)) return yield* new MissingApiKey({ baseUrl: target.baseUrl })
      return FaceDetClient.layer({ apiKey: apiKey.value, baseUrl: target.baseUrl }).pipe(Layer.mapError(flagNames))
    })
  )

// The client names its options; on the command line they are flags (or their environment variables).
const flags: Readonly<Record<string, string>> = {
  baseUrl: "--base-url / FACEDET_BASE_URL",
  apiKey: "--api-key / FACEDET_API_KEY"
}

const flagNames = (error: FaceDetError.ValidationError): FaceDetError.ValidationError =>
  new FaceDetError.ValidationError({
    issues: error.issues.map((issue) => ({ ...issue, path: flags[issue.path] ?? issue.path }))
  })

/**
 * Whether the target is a facedet server (only a facedet server has the upload call). crun.ai's own URL is known
 * without asking; any other server is asked through the client (`serverInfo`: the answers it already had, or one
 * small request), so a server that cannot be reached fails with the client's `TransportError`, not as "no uploads".
 *
 * @since 0.1.0
 * @category Combinators
 */
export const isFacedetServer = (
  target: Target
): Effect.Effect<boolean, FaceDetError.FaceDetError, FaceDetClient.FaceDetClient> =>
  isCrunAi(target)
    ? Effect.succeed(false)
    : Effect.flatMap(FaceDetClient.FaceDetClient, (client) => Effect.map(client.serverInfo, (info) => info.facedet))

/**
 * Whether the target is crun.ai itself, which takes media by URL only.
 *
 * @since 0.1.0
 * @category Guards
 */
export const isCrunAi = (target: Target): boolean => sameOrigin(target.baseUrl, Endpoints.defaultBaseUrl)

/**
 * Whether two URLs share an origin (scheme, host, port).
 *
 * @since 0.1.0
 * @category Guards
 */
export const sameOrigin = (a: string, b: string): boolean => {
  try {
    return new URL(a).origin === new URL(b).origin
  } catch {
    return false
  }
}
