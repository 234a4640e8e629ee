/**
 * `@facedet/node-client/node`: the layers that use Node's undici HTTP client. Kept out of the main entry so that
 * one stays free of Node-only imports.
 *
 * @since 0.1.0
 */

/** The client over undici: `layer(options)`, `layerConfig()`, and the `httpClient` layer alone. */
export * as NodeFaceDetClient from "./NodeFaceDetClient.js"
