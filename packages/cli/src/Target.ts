/**
 * The server a command talks to (`--base-url` / `FACEDET_BASE_URL`, `--api-key` / `FACEDET_API_KEY`), the client
 * for it, and whether it is a facedet server: only a facedet server has the upload call that lets a local file be
 * detected. A facedet server marks every API answer with `x-facedet-long-poll`; crun.ai does not.
 *
 * @since 0.1.0
 */
import type { FaceDetError } from "@facedet/core"
import * as Endpoints from "@facedet/core/Endpoints"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { FaceDetClient } from "@facedet/node-client"
import * as Duration from "effect/Duration"
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
      return FaceDetClient.layer({ apiKey: apiKey.value, baseUrl: target.baseUrl })
    })
  )

/** How long the probe may take: it is one small request. */
const probeTimeout = Duration.seconds(10)

/**
 * Whether the target is a facedet server, by one result call for a task id that cannot exist (no API key sent):
 * facedet answers it, 401 or 404 alike, with `x-facedet-long-poll`. crun.ai's own URL is known without asking.
 * Any failure to answer counts as "not facedet"; the upload call then says what went wrong.
 *
 * @since 0.1.0
 * @category Combinators
 */
export const isFacedetServer = (target: Target): Effect.Effect<boolean, never, HttpClient.HttpClient> => {
  if (sameOrigin(target.baseUrl, Endpoints.defaultBaseUrl)) return Effect.succeed(false)
  return Effect.gen(function* () {
    const client = yield* HttpClient.HttpClient
    const url = `${target.baseUrl.replace(/\/+$/, "")}${Endpoints.paths.result}`
    const response = yield* client.execute(
      HttpClientRequest.get(url).pipe(HttpClientRequest.setUrlParam("detect_task_id", "facedet-cli-probe"))
    )
    return response.headers[Endpoints.headers.longPoll] !== undefined
  }).pipe(
    Effect.scoped,
    Effect.timeout(probeTimeout),
    Effect.catchAll(() => Effect.succeed(false))
  )
}

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
