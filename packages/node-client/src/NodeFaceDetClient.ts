/**
 * The client over Node's undici HTTP client (`@effect/platform-node`): connection pooling and HTTP keep-alive
 * through one undici `Agent`, closed with the layer. Only this module imports Node code, so the main entry stays
 * usable in any runtime with `fetch`; import it from `@facedet/node-client/node`.
 *
 * **Example**
 *
 * ```ts
 * import { Effect } from "effect"
 * import { FaceDetClient } from "@facedet/node-client"
 * import { NodeFaceDetClient } from "@facedet/node-client/node"
 *
 * const program = Effect.flatMap(FaceDetClient.FaceDetClient, (c) => c.getResult("dit60yt8reqplt1c16"))
 * Effect.runPromise(program.pipe(Effect.provide(NodeFaceDetClient.layerConfig())))
 * ```
 *
 * @since 0.1.0
 */
import type { FaceDetError } from "@facedet/core"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import type * as ConfigError from "effect/ConfigError"
import * as Layer from "effect/Layer"
import * as FaceDetClient from "./FaceDetClient.js"

/**
 * The undici-based `HttpClient` (its own `Agent`, destroyed when the layer is released).
 *
 * @since 0.1.0
 * @category Layers
 */
export const httpClient: Layer.Layer<HttpClient.HttpClient> = NodeHttpClient.layerUndici

/**
 * The client over undici.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer = (
  options: FaceDetClient.Options
): Layer.Layer<FaceDetClient.FaceDetClient, FaceDetError.ValidationError> =>
  Layer.provide(FaceDetClient.layer(options), httpClient)

/**
 * The client over undici, configured from `FACEDET_API_KEY` and `FACEDET_BASE_URL`.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerConfig = (
  overrides: FaceDetClient.ConfigOverrides = {}
): Layer.Layer<FaceDetClient.FaceDetClient, ConfigError.ConfigError | FaceDetError.ValidationError> =>
  Layer.provide(FaceDetClient.layerConfig(overrides), httpClient)
